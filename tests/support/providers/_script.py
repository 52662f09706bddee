"""What every fake provider shares: the script it follows and the record of what it saw."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import deque
from collections.abc import AsyncGenerator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

DEFAULT_TEXT = "Hello from the fake provider. It streams its answer one word at a time."

Failure = int | Literal["drop"]


class DropConnection(Exception):
    """Hang up at once: before any byte, or in the middle of a stream."""


class ErrorMidStream(Exception):
    """Report an error inside a stream that has already started."""


@dataclass(frozen=True)
class Received:
    """One generation request as the server got it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def split_tokens(text: str) -> list[str]:
    """Word-sized tokens that keep their whitespace, so they join back into `text`."""
    return re.findall(r"\s*\S+", text) or [text]


def count_words(body: dict[str, Any]) -> int:
    """The fake's prompt token count: whitespace-separated words in system and messages."""
    parts: list[Any] = [body.get("system") or ""]
    parts += [m.get("content") or "" for m in body.get("messages", [])]
    return sum(len(str(part).split()) for part in parts)


class FakeProvider:
    """A scripted model server: what it answers, how fast, how it fails, and what it saw.

    `failures` applies to generation requests in order: an HTTP status, or "drop" to hang up
    before any byte. `fail_after_tokens` breaks every stream after that many tokens, by
    hanging up ("drop") or sending the wire format's error event ("error"). `hold_after`
    pauses every stream after that many tokens until `release` is set.
    """

    def __init__(
        self,
        *,
        text: str = DEFAULT_TEXT,
        tokens: Iterable[str] | None = None,
        tokens_per_second: float | None = None,
        hold_after: int | None = None,
        failures: Sequence[Failure] = (),
        fail_after_tokens: int | None = None,
        fail_mid_stream: Literal["drop", "error"] = "drop",
        api_key: str | None = None,
        list_models: bool = True,
    ) -> None:
        self.tokens = list(tokens) if tokens is not None else split_tokens(text)
        self.tokens_per_second = tokens_per_second
        self.hold_after = hold_after
        self.fail_after_tokens = fail_after_tokens
        self.fail_mid_stream = fail_mid_stream
        self.api_key = api_key
        self.list_models = list_models
        self._failures: deque[Failure] = deque(failures)
        self.base_url = ""  # set once serving: what to give the SDK as base_url
        self.requests: list[Received] = []  # generation requests, failed ones included
        self.model_listings = 0  # GET /v1/models requests
        self.tokens_sent = 0  # over all streams
        self.streams_completed = 0
        self.disconnects = 0  # streams the client closed before their end
        self.open_streams = 0  # streams being sent right now
        self.max_open_streams = 0  # the most ever open at once
        self.stream_closed = asyncio.Event()  # set at the first such disconnect
        self.holding = asyncio.Event()  # set when a stream reaches `hold_after`
        self.release = asyncio.Event()  # set it to let held streams go on
        self.server_stopped = asyncio.Event()  # the server stopped (its block ended, or a signal)
        self._stopping = asyncio.Event()

    @property
    def text(self) -> str:
        """The whole scripted answer."""
        return "".join(self.tokens)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies of the generation requests, in order."""
        return [r.body for r in self.requests]

    def admit(
        self, path: str, headers: dict[str, str], body: dict[str, Any], key: str | None
    ) -> int | None:
        """Record a generation request; the error status to answer it with, if any."""
        self.requests.append(Received(path, headers, body))
        if self.api_key is not None and key != self.api_key:
            return 401
        if not self._failures:
            return None
        failure = self._failures.popleft()
        if failure == "drop":
            raise DropConnection
        return failure

    def answer(self, max_tokens: int | None) -> tuple[list[str], bool]:
        """The tokens one request gets and whether `max_tokens` cut them short."""
        if max_tokens is not None and max_tokens < len(self.tokens):
            return self.tokens[:max_tokens], True
        return self.tokens, False

    async def stream(self, tokens: list[str]) -> AsyncGenerator[str, None]:
        """Yield `tokens` as scripted (paced, held, failed); record a client hanging up."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        finished = False
        self.open_streams += 1
        self.max_open_streams = max(self.max_open_streams, self.open_streams)
        try:
            for index, token in enumerate(tokens):
                if index == self.fail_after_tokens:
                    finished = True  # the server broke it; the client did not hang up
                    raise DropConnection if self.fail_mid_stream == "drop" else ErrorMidStream
                if index == self.hold_after:
                    self.holding.set()
                    await self._first_of(self.release.wait(), self._stopping.wait())
                    started = loop.time() - self._interval() * index
                await self._pause_until(started + self._interval() * index)
                self.tokens_sent += 1
                yield token
            finished = True
            self.streams_completed += 1
        finally:
            self.open_streams -= 1
            if not finished:
                self.disconnects += 1
                self.stream_closed.set()

    def stop(self) -> None:
        """Let held and paced streams run to their end (the server is shutting down)."""
        self._stopping.set()

    def _interval(self) -> float:
        return 1.0 / self.tokens_per_second if self.tokens_per_second else 0.0

    async def _pause_until(self, due: float) -> None:
        delay = due - asyncio.get_running_loop().time()
        if delay > 0 and not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    @staticmethod
    async def _first_of(*waits: Any) -> None:
        tasks = [asyncio.ensure_future(w) for w in waits]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
