"""OpenAI's chat completions API through the official SDK, streamed."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from typing import Any

import openai
from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletion, ChatCompletionChunk

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
MAX_STOP_SEQUENCES = 4  # OpenAI rejects more

_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class OpenAIBackend(LlmBackend):
    """A model behind OpenAI's chat completions API."""

    default_key_env = "OPENAI_API_KEY"
    # Current OpenAI models (o-series, gpt-5) reject the older `max_tokens`.
    max_tokens_field = "max_completion_tokens"
    send_names = True

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self._client: AsyncOpenAI | None = None
        self._streams: dict[str, AsyncStream[ChatCompletionChunk]] = {}
        self._aborted: set[str] = set()

    async def start(self) -> None:
        """Create the client; unavailable when the API key is missing."""
        self._client = AsyncOpenAI(
            api_key=self._api_key(),
            base_url=self.spec.base_url,
            max_retries=0,  # LlmBackend.generate owns retries
            timeout=openai.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
        )

    def _api_key(self) -> str:
        env = self.spec.api_key_env or self.default_key_env
        key = (os.environ.get(env) or "").strip()
        if not key:
            raise BackendUnavailable(f"{env} is not set")
        return key

    async def _stream(self, request: GenerationRequest) -> AsyncIterator[Delta | Final]:
        client = self._require_client()
        params = self._params(request)
        answering = False
        try:
            if not self.spec.stream:
                for piece in _whole(await client.chat.completions.create(**params)):
                    yield piece
                return
            stream: AsyncStream[ChatCompletionChunk] = await client.chat.completions.create(
                **params, stream=True, stream_options={"include_usage": True}
            )
            # Closing the stream (at the end, on error, or when our consumer closes us early)
            # closes the HTTP response, so the provider stops generating: the Stop button.
            async with stream:
                answering = True
                self._streams[request.request_id] = stream
                finish: str | None = None
                prompt_tokens = completion_tokens = 0
                model = ""
                async for chunk in stream:
                    model = chunk.model or model
                    if chunk.usage is not None:  # the last chunk, where the server sends it
                        prompt_tokens = chunk.usage.prompt_tokens
                        completion_tokens = chunk.usage.completion_tokens
                    for part in chunk.choices:
                        if part.delta.content:
                            yield Delta(part.delta.content)
                        finish = part.finish_reason or finish
        except openai.OpenAIError as exc:
            if request.request_id in self._aborted:
                yield Final(finish_reason="cancelled", model=self.spec.model)
                return
            raise _backend_error(exc, self._where(), answering=answering) from None
        finally:
            self._streams.pop(request.request_id, None)
            self._aborted.discard(request.request_id)
        yield Final(_finish_reason(finish), prompt_tokens, completion_tokens, model)

    def _params(self, request: GenerationRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.spec.model,
            "messages": [self._message(turn) for turn in request.messages],
            self.spec.options.get("max_tokens_field", self.max_tokens_field): request.max_tokens
            or self.spec.max_tokens,
        }
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.stop:
            params["stop"] = request.stop[:MAX_STOP_SEQUENCES]
        return params

    def _message(self, turn: ChatTurn) -> dict[str, str]:
        message = {"role": turn.role, "content": turn.content}
        # OpenAI accepts only ^[A-Za-z0-9_-]{1,64}$; the room also puts speakers' names in
        # the content, so a name that sanitises to nothing can simply be left out.
        name = _NAME_UNSAFE.sub("_", turn.name or "").strip("_")[:64] if self.send_names else ""
        if name:
            message["name"] = name
        return message

    async def abort(self, request_id: str) -> None:
        """Close the generation's HTTP stream now; its reader ends with finish reason "cancelled"."""
        stream = self._streams.pop(request_id, None)
        if stream is not None:
            self._aborted.add(request_id)
            await stream.close()

    async def health(self) -> tuple[bool, str]:
        """List the models with a short timeout: proves the server is up and takes the key."""
        if self._client is None:
            return False, "not started"
        try:
            await self._client.models.list(timeout=HEALTH_TIMEOUT_S)
        except openai.NotFoundError:
            return True, "ok"  # the server answers; many compatible ones have no model list
        except openai.OpenAIError as exc:
            return False, _backend_error(exc, self._where()).message
        return True, "ok"

    async def close(self) -> None:
        """Close the client and its connections."""
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _require_client(self) -> AsyncOpenAI:
        if self._client is None:
            raise BackendUnavailable("The model is not started.")
        return self._client

    def _where(self) -> str:
        url = str(self._client.base_url) if self._client else self.spec.base_url
        return (url or "the provider").rstrip("/")


def _whole(completion: ChatCompletion) -> tuple[Delta, Final]:
    """A non-streamed answer as one delta and its final."""
    choice = completion.choices[0] if completion.choices else None
    usage = completion.usage
    return Delta((choice.message.content or "") if choice else ""), Final(
        finish_reason=_finish_reason(choice.finish_reason if choice else None),
        prompt_tokens=usage.prompt_tokens if usage else 0,
        completion_tokens=usage.completion_tokens if usage else 0,
        model=completion.model,
    )


def _finish_reason(reason: str | None) -> str:
    return "length" if reason == "length" else "stop"


def _backend_error(exc: openai.OpenAIError, where: str, *, answering: bool = False) -> BackendError:
    """A readable, secret-free error; retryable where trying again can help."""
    if isinstance(exc, openai.APITimeoutError):
        return BackendError("The provider did not answer in time.", retryable=True)
    if isinstance(exc, openai.APIConnectionError) and answering:
        return BackendError(
            "The connection to the provider broke while it was answering.", retryable=True
        )
    if isinstance(exc, openai.APIConnectionError):
        return BackendError(f"Cannot reach the provider at {where}.", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        return status_error(exc.status_code, code=exc.code, detail=_detail(exc.body))
    if isinstance(exc, openai.APIError):  # an error event inside a stream
        return BackendError("The provider reported an error while answering.", retryable=True)
    return BackendError("The provider sent an answer that could not be read.")


def status_error(status: int, *, code: str | None = None, detail: str = "") -> BackendError:
    """What an HTTP error status from a provider means to a room, and whether to retry."""
    if status == 401:
        return BackendError("The provider rejected the API key (401).")
    if status == 403:
        return BackendError("The API key may not use this model (403).")
    if status == 429 and code == "insufficient_quota":
        return BackendError("The provider account has run out of quota (429).")
    if status == 429:
        return BackendError("The provider is rate limiting requests (429).", retryable=True)
    if status in (408, 409):
        return BackendError(f"The provider asked to try again ({status}).", retryable=True)
    if status >= 500:
        return BackendError(f"The provider failed ({status}).", retryable=True)
    suffix = f": {detail}" if detail else "."
    if status == 404:
        return BackendError(f"The provider does not know this model or URL (404){suffix}")
    return BackendError(f"The provider rejected the request ({status}){suffix}")


def _detail(body: object) -> str:
    # Shown for 4xx answers other than auth only: there the provider's message names the bad
    # parameter or model, never the key.
    error = body.get("error", body) if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return " ".join(str(message).split())[:300] if message else ""
