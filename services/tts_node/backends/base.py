"""The one small interface every TTS backend implements, and the retry policy they share.

A backend implements `_sentence` (one attempt at one sentence's audio, as 16-bit PCM pieces)
and, where it can, `start`, `health` and `close`. Closing the iterator `_sentence` returns is
the abort: a backend stops its work there (Piper terminates its ONNX run, a hosted backend
closes the HTTP response). The base class owns retries: a retryable error before a sentence's
first audio is retried with backoff; after audio has been sent, never.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.common.node.backend import BackendError as BackendError
from services.common.node.backend import BackendUnavailable as BackendUnavailable

logger = logging.getLogger(__name__)

MIN_RATE, MAX_RATE = 0.5, 2.0


@dataclass(frozen=True)
class VoiceSpec:
    """One `[[voices]]` entry of the registry file."""

    id: str
    backend: str
    model: str  # piper: an .onnx path or a package that ships one; openai: the TTS model name
    speaker: str | None = None  # a multi-speaker voice's speaker (name or number); openai: voice
    language: str | None = None  # default: what the voice says about itself
    name: str | None = None  # for people; default: the id
    gain: float | None = None  # piper: one gain for every sentence; default: measured at start
    threads: int = 0  # piper: ONNX Runtime intra-op threads; 0 = one per core
    device: str = "cpu"  # piper: "cpu" | "cuda" (ONNX Runtime's CUDA provider)
    base_url: str | None = None
    api_key_env: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # backend-specific extras

    def api_key(self, default_env: str) -> str | None:
        """The key from `api_key_env` (else `default_env`), if set and not blank."""
        return (os.environ.get(self.api_key_env or default_env) or "").strip() or None

    def model_path(self) -> Path:
        """`model` as a path (registry files make relative ones relative to themselves)."""
        return Path(self.model).expanduser()


class TtsBackend(ABC):
    """A voice behind one interface: start, speak a sentence (async iterator of PCM), close."""

    max_attempts = 3
    backoff_s = 0.25

    def __init__(self, spec: VoiceSpec) -> None:
        self.spec = spec
        # Known once started: what ListVoices shows and every chunk carries.
        self.sample_rate = 0
        self.language = spec.language or ""
        self.speakers: tuple[str, ...] = ()

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Load or connect; raise BackendUnavailable with a readable reason if it cannot."""

    @abstractmethod
    def _sentence(self, text: str, rate: float) -> AsyncIterator[bytes]:
        """One attempt: the sentence's audio as 16-bit little-endian mono PCM pieces, in order.

        Closing the iterator early must stop the work it started.
        """

    async def health(self) -> tuple[bool, str]:
        """(healthy, detail)."""
        return True, "ok"

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release everything the backend holds."""

    async def speak(self, text: str, rate: float = 1.0) -> AsyncGenerator[bytes, None]:
        """One sentence's PCM pieces (empty ones dropped). Retries only before the first piece."""
        attempt = 0
        sent = False
        while True:
            attempt += 1
            try:
                async with contextlib.aclosing(self._sentence(text, rate)) as pieces:  # type: ignore[type-var]
                    async for piece in pieces:
                        if piece:
                            sent = True
                            yield piece
                return
            except BackendError as exc:
                if not exc.retryable or sent or attempt >= self.max_attempts:
                    raise
                delay = self.backoff_s * 2 ** (attempt - 1) * (0.5 + random.random())
                logger.warning(
                    "synthesis failed before its first audio; retrying",
                    extra={"voice_id": self.spec.id, "attempt": attempt, "error": exc.message},
                )
                await asyncio.sleep(delay)
