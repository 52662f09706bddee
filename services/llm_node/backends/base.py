"""The one small interface every LLM backend implements, and the retry policy they share.

A backend implements `_stream` (one attempt at one generation) and, where it can,
`start`, `abort`, `health`, `close` and `count_tokens`. The base class owns retries:
a retryable error before the first token is retried with backoff; after a token
has been sent, never.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from services.common.node.backend import BackendError as BackendError
from services.common.node.backend import BackendUnavailable as BackendUnavailable

logger = logging.getLogger(__name__)

DEFAULT_CONTEXT_WINDOW = 8192


@dataclass(frozen=True)
class ModelSpec:
    """One `[[models]]` entry of the registry file."""

    id: str
    backend: str
    model: str
    base_url: str | None = None
    api_key_env: str | None = None
    context_window: int | None = None  # tokens; default: what the model says, else 8192
    max_tokens: int = 1024  # default completion budget when a request gives none
    stream: bool = True  # False: the provider cannot stream; call it once, deliver one delta
    device: str = "auto"  # transformers: "auto" | "cpu" | "cuda" | "cuda:1" ...
    dtype: str = "auto"  # transformers/vllm: "auto" | "float32" | "float16" | "bfloat16"
    max_concurrency: int = 1  # transformers: generations at once; the rest wait in line
    options: dict[str, Any] = field(default_factory=dict)  # backend-specific extras

    def api_key(self) -> str | None:
        """The key from the environment variable `api_key_env`, if set and present."""
        return os.environ.get(self.api_key_env) if self.api_key_env else None


@dataclass(frozen=True)
class ChatTurn:
    """One message of the conversation sent to a model."""

    role: Literal["system", "user", "assistant"]
    content: str
    name: str | None = None


@dataclass(frozen=True)
class GenerationRequest:
    """What to generate."""

    request_id: str
    messages: list[ChatTurn]
    temperature: float | None = None
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Delta:
    """Some more text."""

    text: str


@dataclass(frozen=True)
class Final:
    """The end of a generation; timing is added by the base class."""

    finish_reason: str  # "stop" | "length" | "cancelled"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""
    time_to_first_token_ms: int = 0
    total_ms: int = 0


class LlmBackend(ABC):
    """A model behind one interface: start, generate (async iterator), abort, health, close."""

    max_attempts = 3
    backoff_s = 0.25

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.context_window = spec.context_window or DEFAULT_CONTEXT_WINDOW

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Load or connect; raise BackendUnavailable with a readable reason if it cannot."""

    @abstractmethod
    def _stream(self, request: GenerationRequest) -> AsyncIterator[Delta | Final]:
        """One attempt: yield deltas then one Final. Closing the iterator must free the backend."""

    async def abort(self, request_id: str) -> None:  # noqa: B027 - optional hook
        """Stop a running generation now (engines free the request; HTTP streams close)."""

    async def health(self) -> tuple[bool, str]:
        """(healthy, detail)."""
        return True, "ok"

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release everything the backend holds."""

    def count_tokens(self, texts: list[str]) -> list[int] | None:
        """Exact token counts with the model's tokenizer, or None when there is none locally."""
        return None

    async def generate(self, request: GenerationRequest) -> AsyncGenerator[Delta | Final, None]:
        """Deltas then one Final (with timing). Retries only before the first delta."""
        started = time.perf_counter()
        first_token_at: float | None = None
        attempt = 0
        while True:
            attempt += 1
            try:
                # aclosing: when the consumer stops early, the backend's stream (the HTTP
                # response, the engine request) is closed before `aclose()` returns.
                async with contextlib.aclosing(self._stream(request)) as events:  # type: ignore[type-var]
                    async for event in events:
                        if isinstance(event, Delta):
                            if not event.text:
                                continue
                            if first_token_at is None:
                                first_token_at = time.perf_counter()
                            yield event
                        else:
                            now = time.perf_counter()
                            yield Final(
                                finish_reason=event.finish_reason,
                                prompt_tokens=event.prompt_tokens,
                                completion_tokens=event.completion_tokens,
                                model=event.model or self.spec.model,
                                time_to_first_token_ms=round(
                                    ((first_token_at or now) - started) * 1000
                                ),
                                total_ms=round((now - started) * 1000),
                            )
                            return
                raise BackendError("The model's stream ended without finishing.", retryable=True)
            except BackendError as exc:
                if not exc.retryable or first_token_at is not None or attempt >= self.max_attempts:
                    raise
                delay = self.backoff_s * 2 ** (attempt - 1) * (0.5 + random.random())
                logger.warning(
                    "generation failed before its first token; retrying",
                    extra={"model_id": self.spec.id, "attempt": attempt, "error": exc.message},
                )
                await asyncio.sleep(delay)


def estimate_tokens(text: str) -> int:
    """A safe (high) token estimate when no tokenizer is at hand: ~3 bytes a token, plus framing."""
    return len(text.encode("utf-8")) // 3 + 4
