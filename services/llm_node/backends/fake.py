"""A scripted backend: deterministic replies, delays and failures, with no model behind it.

For tests, demos and load runs. Each generation plays the next step of its script (the last
step repeats). Configure it in the registry file:

    [[models]]
    id = "echo"
    backend = "fake"
    model = "fake"
    [models.options]
    delay_ms = 20                       # between deltas
    script = [{ text = "Hello there." }, { error = "overloaded", retryable = true }]

A step without `text` or `error` echoes the last user message. Tests reach the backend
through the registry to add steps (`script`), read what it was asked (`requests`) and release
a held stream (`release()`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, fields
from typing import Any

from services.llm_node.backends.base import (
    BackendError,
    Delta,
    Final,
    GenerationRequest,
    LlmBackend,
    ModelSpec,
)


@dataclass(frozen=True)
class Step:
    """One scripted generation."""

    text: str | None = None  # None: echo the last user message
    error: str | None = None  # fail with this message after `after` deltas
    retryable: bool = False
    after: int = 0  # deltas sent before the error or the hold
    hold: bool = False  # after `after` deltas, wait until released, stopped or aborted
    delay_ms: float | None = None  # between deltas; None: the model's `delay_ms`
    finish_reason: str = "stop"
    prompt_tokens: int | None = None  # None: the words of the prompt
    completion_tokens: int | None = None  # None: the deltas sent

    @classmethod
    def parse(cls, raw: object) -> Step:
        """A step from the registry file; unknown keys are refused by name."""
        if isinstance(raw, Step):
            return raw
        if isinstance(raw, str):
            return cls(text=raw)
        if not isinstance(raw, dict):
            raise BackendError(f"a fake script step is a table or a string, not {raw!r}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise BackendError(f"unknown fake script keys: {', '.join(unknown)}")
        return cls(**raw)


class FakeBackend(LlmBackend):
    """Plays its script word by word; counts a token per word."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        options: dict[str, Any] = dict(spec.options)
        self.delay_s = float(options.pop("delay_ms", 0)) / 1000
        self.script = [Step.parse(raw) for raw in options.pop("script", [])]
        if options:
            raise BackendError(f"unknown fake options: {', '.join(sorted(options))}")
        self.requests: list[GenerationRequest] = []
        self.aborted: list[str] = []
        self.abort_seen = asyncio.Event()
        self._released = asyncio.Event()
        self._played = 0

    def release(self) -> None:
        """Let every held stream go on to its end."""
        self._released.set()

    def count_tokens(self, texts: list[str]) -> list[int] | None:
        return [len(text.split()) for text in texts]

    async def abort(self, request_id: str) -> None:
        self.aborted.append(request_id)
        self.abort_seen.set()

    def _next_step(self) -> Step:
        if not self.script:
            return Step()
        step = self.script[min(self._played, len(self.script) - 1)]
        self._played += 1
        return step

    async def _stream(self, request: GenerationRequest) -> AsyncIterator[Delta | Final]:
        self.requests.append(request)
        step = self._next_step()
        text = step.text if step.text is not None else _last_user_text(request)
        words = _words(text)
        if request.max_tokens is not None and len(words) > request.max_tokens:
            words, finish_reason = words[: request.max_tokens], "length"
        else:
            finish_reason = step.finish_reason
        delay_s = self.delay_s if step.delay_ms is None else step.delay_ms / 1000
        sent = 0
        for word in words:
            if sent == step.after:
                await self._interrupt(step)
            if delay_s and sent:
                await asyncio.sleep(delay_s)
            yield Delta(word)
            sent += 1
        if sent <= step.after:
            await self._interrupt(step)
        prompt = sum(self.count_tokens([m.content for m in request.messages]) or [])
        yield Final(
            finish_reason=finish_reason,
            prompt_tokens=prompt if step.prompt_tokens is None else step.prompt_tokens,
            completion_tokens=sent if step.completion_tokens is None else step.completion_tokens,
            model=self.spec.model,
        )

    async def _interrupt(self, step: Step) -> None:
        if step.hold:
            await self._released.wait()
        if step.error is not None:
            raise BackendError(step.error, retryable=step.retryable)


def _last_user_text(request: GenerationRequest) -> str:
    for turn in reversed(request.messages):
        if turn.role == "user":
            return turn.content
    return ""


def _words(text: str) -> list[str]:
    """`text` in pieces that join back to it exactly: each word with the space before it."""
    pieces = text.split(" ")
    return [pieces[0], *(" " + piece for piece in pieces[1:])] if text else []
