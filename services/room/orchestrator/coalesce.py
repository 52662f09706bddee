"""Coalescing a reply's tokens into at most one delta per interval."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class DeltaCoalescer:
    """The first text goes out at once; later text is batched, at most one emit per interval."""

    def __init__(self, emit: Callable[[str], None], interval_s: float) -> None:
        self._emit = emit
        self._interval_s = interval_s
        self._pending: list[str] = []
        self._last = float("-inf")
        self._timer: asyncio.TimerHandle | None = None
        self.emitted = 0  # deltas sent, for tests and benchmarks

    def add(self, text: str) -> None:
        """Queue `text`; emit now if the interval since the last emit has passed."""
        if not text:
            return
        self._pending.append(text)
        if self._timer is not None:
            return
        wait = self._last + self._interval_s - time.monotonic()
        if wait <= 0:
            self.flush()
        else:
            self._timer = asyncio.get_running_loop().call_later(wait, self.flush)

    def flush(self) -> None:
        """Emit whatever is pending now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending:
            text, self._pending = "".join(self._pending), []
            self._last = time.monotonic()
            self.emitted += 1
            self._emit(text)
