"""Anthropic's Messages API through the official SDK, streamed."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx2  # the SDK's own HTTP client: its read errors escape the SDK mid-stream
from anthropic import AsyncAnthropic, AsyncStream
from anthropic.types import Message, RawMessageStreamEvent

from services.llm_node.backends.base import (
    BackendError,
    BackendUnavailable,
    ChatTurn,
    Delta,
    Final,
    GenerationRequest,
    LlmBackend,
    ModelSpec,
)

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 600.0  # a long answer that is not streamed can take minutes
HEALTH_TIMEOUT_S = 5.0
OPENING_TURN = "(The conversation so far follows.)"  # Anthropic wants a user turn first
# Error types Anthropic sends inside a stream that has already begun (HTTP 200).
RETRYABLE_ERROR_TYPES = {"overloaded_error", "api_error", "rate_limit_error", "timeout_error"}


class AnthropicBackend(LlmBackend):
    """A model behind Anthropic's Messages API."""

    default_key_env = "ANTHROPIC_API_KEY"

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self._client: AsyncAnthropic | None = None
        self._streams: dict[str, AsyncStream[RawMessageStreamEvent]] = {}
        self._aborted: set[str] = set()

    async def start(self) -> None:
        """Create the client; unavailable when the API key is missing."""
        env = self.spec.api_key_env or self.default_key_env
        key = (os.environ.get(env) or "").strip()
        if not key:
            raise BackendUnavailable(f"{env} is not set")
        self._client = AsyncAnthropic(
            api_key=key,
            base_url=self.spec.base_url,
            max_retries=0,  # LlmBackend.generate owns retries
            timeout=anthropic.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
        )

    async def _stream(self, request: GenerationRequest) -> AsyncIterator[Delta | Final]:
        client = self._require_client()
        params = self._params(request)
        answering = False
        try:
            if not self.spec.stream:
                for piece in _whole(await client.messages.create(**params)):
                    yield piece
                return
            stream: AsyncStream[RawMessageStreamEvent] = await client.messages.create(
                **params, stream=True
            )
            # Closing the stream (at the end, on error, or when our consumer closes us early)
            # closes the HTTP response, so the provider stops generating: the Stop button.
            async with stream:
                answering = True
                self._streams[request.request_id] = stream
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
        except (anthropic.AnthropicError, httpx2.HTTPError) as exc:
            if request.request_id in self._aborted:
                yield Final(finish_reason="cancelled", model=self.spec.model)
                return
            raise _backend_error(exc, self._where(), answering=answering) from None
        finally:
            self._streams.pop(request.request_id, None)
            self._aborted.discard(request.request_id)
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

    async def abort(self, request_id: str) -> None:
        """Close the generation's HTTP stream now; its reader ends with finish reason "cancelled"."""
        stream = self._streams.pop(request_id, None)
        if stream is not None:
            self._aborted.add(request_id)
            await stream.close()

    async def health(self) -> tuple[bool, str]:
        """List one model with a short timeout: proves the API is reachable and takes the key."""
        if self._client is None:
            return False, "not started"
        try:
            await self._client.models.list(limit=1, timeout=HEALTH_TIMEOUT_S)
        except anthropic.AnthropicError as exc:
            return False, _backend_error(exc, self._where()).message
        return True, "ok"

    async def close(self) -> None:
        """Close the client and its connections."""
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _require_client(self) -> AsyncAnthropic:
        if self._client is None:
            raise BackendUnavailable("The model is not started.")
        return self._client

    def _where(self) -> str:
        url = str(self._client.base_url) if self._client else self.spec.base_url
        return (url or "the provider").rstrip("/")


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


def _backend_error(exc: Exception, where: str, *, answering: bool = False) -> BackendError:
    """A readable, secret-free error; retryable where trying again can help."""
    if isinstance(exc, anthropic.APITimeoutError):
        return BackendError("The provider did not answer in time.", retryable=True)
    if isinstance(exc, anthropic.APIConnectionError | httpx2.HTTPError) and answering:
        return BackendError(
            "The connection to the provider broke while it was answering.", retryable=True
        )
    if isinstance(exc, anthropic.APIConnectionError | httpx2.HTTPError):
        return BackendError(f"Cannot reach the provider at {where}.", retryable=True)
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


def status_error(status: int, *, detail: str = "") -> BackendError:
    """What an HTTP error status from Anthropic means to a room, and whether to retry."""
    if status == 401:
        return BackendError("The provider rejected the API key (401).")
    if status == 403:
        return BackendError("The API key may not use this model (403).")
    if status == 429:
        return BackendError("The provider is rate limiting requests (429).", retryable=True)
    if status == 529:
        return BackendError("The provider is overloaded (529).", retryable=True)
    if status in (408, 409) or status >= 500:
        return BackendError(f"The provider failed ({status}).", retryable=True)
    suffix = f": {detail}" if detail else "."
    if status == 404:
        return BackendError(f"The provider does not know this model or URL (404){suffix}")
    return BackendError(f"The provider rejected the request ({status}){suffix}")


def _error_fields(body: object) -> tuple[str, str]:
    # The message is shown for 4xx answers other than auth only: there it names the bad
    # parameter or model, never the key.
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "error", ""
    message = " ".join(str(error.get("message") or "").split())[:300]
    return str(error.get("type") or "error"), message
