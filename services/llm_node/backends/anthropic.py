"""Anthropic's Messages API through the official SDK, streamed."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import anthropic
import httpx2  # the SDK's own HTTP client: its read errors escape the SDK mid-stream
from anthropic import AsyncAnthropic, AsyncStream
from anthropic.types import Message, RawMessageStreamEvent

from services.llm_node.backends.base import BackendError, ChatTurn, Delta, Final, GenerationRequest
from services.llm_node.backends.hosted import (
    CONNECT_TIMEOUT_S,
    HEALTH_TIMEOUT_S,
    READ_TIMEOUT_S,
    HostedBackend,
    status_error,
    transport_error,
)

OPENING_TURN = "(The conversation so far follows.)"  # Anthropic wants a user turn first
# Error types Anthropic sends inside a stream that has already begun (HTTP 200).
RETRYABLE_ERROR_TYPES = {"overloaded_error", "api_error", "rate_limit_error", "timeout_error"}


class AnthropicBackend(HostedBackend[AsyncAnthropic, AsyncStream[RawMessageStreamEvent]]):
    """A model behind Anthropic's Messages API."""

    default_key_env = "ANTHROPIC_API_KEY"
    sdk_errors = (anthropic.AnthropicError, httpx2.HTTPError)

    async def start(self) -> None:
        """Create the client; unavailable when the API key is missing."""
        self._client = AsyncAnthropic(
            api_key=self._api_key(),
            base_url=self.spec.base_url,
            max_retries=0,  # LlmBackend.generate owns retries
            timeout=anthropic.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
        )

    async def _complete(
        self, client: AsyncAnthropic, params: dict[str, Any]
    ) -> tuple[Delta, Final]:
        return _whole(await client.messages.create(**params))

    async def _open(
        self, client: AsyncAnthropic, params: dict[str, Any]
    ) -> AsyncStream[RawMessageStreamEvent]:
        stream: AsyncStream[RawMessageStreamEvent] = await client.messages.create(
            **params, stream=True
        )
        return stream

    async def _read(
        self, stream: AsyncStream[RawMessageStreamEvent]
    ) -> AsyncGenerator[Delta | Final, None]:
        stop_reason: str | None = None
        prompt_tokens = completion_tokens = 0
        model = ""
        stopped = False
        async for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                yield Delta(event.delta.text)
            elif event.type == "message_start":
                model = event.message.model
                prompt_tokens = _prompt_tokens(event.message.usage)
                completion_tokens = event.message.usage.output_tokens
            elif event.type == "message_delta":
                stop_reason = event.delta.stop_reason or stop_reason
                completion_tokens = event.usage.output_tokens
                prompt_tokens = _prompt_tokens(event.usage) or prompt_tokens
            elif event.type == "message_stop":
                stopped = True
        if not stopped:  # a clean close before message_stop still cut the answer short
            raise BackendError("The provider's stream ended before the answer did.", retryable=True)
        yield Final(_finish_reason(stop_reason), prompt_tokens, completion_tokens, model)

    def _params(self, request: GenerationRequest) -> dict[str, Any]:
        system, messages = to_messages(request.messages)
        params: dict[str, Any] = {
            "model": self.spec.model,
            "max_tokens": request.max_tokens or self.spec.max_tokens,
            "messages": messages,
        }
        if system:
            params["system"] = system
        if request.stop:
            params["stop_sequences"] = request.stop
        if request.temperature is not None:
            # Not a typed parameter in every SDK version; the API takes it in the body.
            params["extra_body"] = {"temperature": request.temperature}
        return params

    async def health(self) -> tuple[bool, str]:
        """List one model with a short timeout: proves the API is reachable and takes the key."""
        if self._client is None:
            return False, "not started"
        try:
            await self._client.models.list(limit=1, timeout=HEALTH_TIMEOUT_S)
        except anthropic.AnthropicError as exc:
            return False, self._backend_error(exc).message
        return True, "ok"

    def _backend_error(self, exc: Exception, *, answering: bool = False) -> BackendError:
        """A readable, secret-free error; retryable where trying again can help."""
        if isinstance(exc, anthropic.APIConnectionError | httpx2.HTTPError):
            timed_out = isinstance(exc, anthropic.APITimeoutError)
            return transport_error(self._where(), timed_out=timed_out, answering=answering)
        if isinstance(exc, anthropic.APIStatusError):
            kind, detail = _error_fields(exc.body)
            if exc.status_code < 400:  # an error event inside a stream
                retryable = kind in RETRYABLE_ERROR_TYPES
                return BackendError(
                    f"The provider reported an error while answering ({kind}).", retryable=retryable
                )
            return status_error(exc.status_code, detail=detail)
        if isinstance(exc, anthropic.APIError):
            return BackendError("The provider reported an error while answering.", retryable=True)
        return BackendError("The provider sent an answer that could not be read.")


def to_messages(turns: list[ChatTurn]) -> tuple[str, list[dict[str, str]]]:
    """Anthropic's shape: system turns joined apart; the rest alternating, starting with user."""
    system = "\n\n".join(t.content for t in turns if t.role == "system" and t.content.strip())
    messages: list[dict[str, str]] = []
    for turn in turns:
        if turn.role == "system" or not turn.content.strip():
            continue  # the API rejects empty text
        if messages and messages[-1]["role"] == turn.role:
            messages[-1]["content"] += "\n\n" + turn.content
        else:
            messages.append({"role": turn.role, "content": turn.content})
    if not messages or messages[0]["role"] != "user":
        messages.insert(0, {"role": "user", "content": OPENING_TURN})
    if messages[-1]["role"] == "assistant":
        # A last assistant turn is a prefix to continue, and may not end in whitespace.
        messages[-1]["content"] = messages[-1]["content"].rstrip()
    return system, messages


def _whole(message: Message) -> tuple[Delta, Final]:
    """A non-streamed answer as one delta and its final."""
    text = "".join(block.text for block in message.content if block.type == "text")
    usage = message.usage
    final = Final(
        _finish_reason(message.stop_reason),
        _prompt_tokens(usage),
        usage.output_tokens,
        message.model,
    )
    return Delta(text), final


def _prompt_tokens(usage: Any) -> int:
    # Cached prompt tokens are counted apart from input_tokens; the prompt is all of them.
    parts = (usage.input_tokens, usage.cache_creation_input_tokens, usage.cache_read_input_tokens)
    return sum(part or 0 for part in parts)


def _finish_reason(reason: str | None) -> str:
    return "length" if reason == "max_tokens" else "stop"


def _error_fields(body: object) -> tuple[str, str]:
    # The message is shown for 4xx answers other than auth only: there it names the bad
    # parameter or model, never the key.
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "error", ""
    message = " ".join(str(error.get("message") or "").split())[:300]
    return str(error.get("type") or "error"), message
