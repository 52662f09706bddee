"""OpenAI's chat completions API through the official SDK, streamed."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from typing import Any

import httpx2
import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletion

from services.llm_node.backends import sockets
from services.llm_node.backends.base import BackendError, ChatTurn, Delta, Final, GenerationRequest
from services.llm_node.backends.hosted import (
    CONNECT_TIMEOUT_S,
    HEALTH_TIMEOUT_S,
    READ_TIMEOUT_S,
    HostedBackend,
    status_error,
    transport_error,
)
from services.llm_node.backends.openai_stream import ChatResponse, finish_reason, read_chat

MAX_STOP_SEQUENCES = 4  # OpenAI rejects more
LIMITS = httpx2.Limits(max_connections=1000, max_keepalive_connections=100)  # the SDK's own

_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class OpenAIBackend(HostedBackend[AsyncOpenAI, ChatResponse]):
    """A model behind OpenAI's chat completions API."""

    default_key_env = "OPENAI_API_KEY"
    sdk_errors = (openai.OpenAIError,)
    # Current OpenAI models (o-series, gpt-5) reject the older `max_tokens`.
    max_tokens_field = "max_completion_tokens"
    send_names = True

    async def start(self) -> None:
        """Create the client; unavailable when the API key is missing."""
        self._client = AsyncOpenAI(
            api_key=self._api_key(),
            base_url=self.spec.base_url,
            max_retries=0,  # LlmBackend.generate owns retries
            timeout=openai.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
            http_client=openai.DefaultAsyncHttpxClient(transport=sockets.transport(LIMITS)),
        )

    async def _complete(self, client: AsyncOpenAI, params: dict[str, Any]) -> tuple[Delta, Final]:
        return _whole(await client.chat.completions.create(**params))

    async def _open(self, client: AsyncOpenAI, params: dict[str, Any]) -> ChatResponse:
        # The raw response, its body not yet read: status errors are raised here as the SDK's.
        raw = await client.chat.completions.with_raw_response.create(
            **params, stream=True, stream_options={"include_usage": True}
        )
        return ChatResponse(raw.http_response)

    def _read(self, stream: ChatResponse) -> AsyncGenerator[Delta | Final, None]:
        return read_chat(stream.response)

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

    async def health(self) -> tuple[bool, str]:
        """List the models with a short timeout: proves the server is up and takes the key."""
        if self._client is None:
            return False, "not started"
        try:
            await self._client.models.list(timeout=HEALTH_TIMEOUT_S)
        except openai.NotFoundError:
            return True, "ok"  # the server answers; many compatible ones have no model list
        except openai.OpenAIError as exc:
            return False, self._backend_error(exc).message
        return True, "ok"

    def _backend_error(self, exc: Exception, *, answering: bool = False) -> BackendError:
        """A readable, secret-free error; retryable where trying again can help."""
        if isinstance(exc, openai.APIConnectionError):  # APITimeoutError is one
            timed_out = isinstance(exc, openai.APITimeoutError)
            return transport_error(self._where(), timed_out=timed_out, answering=answering)
        if isinstance(exc, openai.APIStatusError):
            return status_error(exc.status_code, code=exc.code, detail=_detail(exc.body))
        if isinstance(exc, openai.APIError):  # any other failure the SDK reports
            return BackendError("The provider reported an error while answering.", retryable=True)
        return BackendError("The provider sent an answer that could not be read.")


def _whole(completion: ChatCompletion) -> tuple[Delta, Final]:
    """A non-streamed answer as one delta and its final."""
    choice = completion.choices[0] if completion.choices else None
    usage = completion.usage
    return Delta((choice.message.content or "") if choice else ""), Final(
        finish_reason=finish_reason(choice.finish_reason if choice else None),
        prompt_tokens=usage.prompt_tokens if usage else 0,
        completion_tokens=usage.completion_tokens if usage else 0,
        model=completion.model,
    )


def _detail(body: object) -> str:
    # Shown for 4xx answers other than auth only: there the provider's message names the bad
    # parameter or model, never the key.
    error = body.get("error", body) if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return " ".join(str(message).split())[:300] if message else ""
