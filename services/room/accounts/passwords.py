"""Password hashing (argon2id) off the event loop, and limits on failed sign-ins."""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.common.errors import ResourceExhausted

# Each hash holds 64 MiB for ~175 ms on a 2-core VM (argon2-cffi's RFC 9106 defaults); a burst of
# sign-ins queues here instead of taking the process's memory and every core.
MAX_CONCURRENT_HASHES = 4


class Passwords:
    """argon2id hashes, computed in threads, at most a few at once."""

    def __init__(
        self, hasher: PasswordHasher | None = None, concurrency: int = MAX_CONCURRENT_HASHES
    ) -> None:
        self.hasher = hasher or PasswordHasher()  # argon2id by default
        self._slots = asyncio.Semaphore(concurrency)
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        """A new `$argon2id$...` hash of `password`."""
        async with self._slots:
            return await asyncio.to_thread(self.hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> tuple[bool, bool]:
        """(matches, needs rehash). Without a stored hash the same work is done on a dummy one,
        so an unknown username takes as long as a wrong password."""
        if stored is None:
            if self._dummy is None:
                self._dummy = await self.hash(secrets.token_urlsafe(16))
            await self._verify(self._dummy, password)
            return False, False
        ok = await self._verify(stored, password)
        return ok, ok and self.hasher.check_needs_rehash(stored)

    async def _verify(self, stored: str, password: str) -> bool:
        async with self._slots:
            try:
                return await asyncio.to_thread(self.hasher.verify, stored, password)
            except (VerificationError, InvalidHashError):
                return False


class TooManySignIns(ResourceExhausted):
    """Sign-in refused for a while; the servicer sends `retry_after_s` as `retry-after`."""

    def __init__(self, retry_after_s: float) -> None:
        wait = minutes(retry_after_s)
        super().__init__(
            "Too many failed sign-ins for this account; "
            f"try again in {wait} minute{'s' if wait > 1 else ''}."
        )
        self.retry_after_s = retry_after_s


class LoginLimiter:
    """Failed sign-ins per (username, source), and per username from every source together.

    A source (the client address the gateway saw) with `max_failures` failures for a username
    within the sliding `window_s` waits; other sources do not, so a stranger guessing cannot
    lock the owner out. Past `account_max_failures` for the username from all sources together
    (a guess spread over many addresses), only sources that signed in to it before keep trying.
    """

    MAX_TRACKED = 100_000  # usernames remembered at once (memory stays bounded under a spray)
    MAX_SOURCES = 1_000  # failing sources remembered per username
    MAX_KNOWN = 8  # sources remembered per username that signed in to it

    def __init__(
        self,
        max_failures: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        account_max_failures: int = 0,
    ) -> None:
        self.max_failures = max_failures
        self.account_max_failures = account_max_failures
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, _Tally] = {}
        self._known: OrderedDict[str, list[str]] = OrderedDict()

    def retry_after(self, username: str, source: str = "") -> float:
        """Seconds until `username` may be tried from `source`; 0 when it may now."""
        tally = self._tally(username, create=False)
        if tally is None:
            return 0.0
        wait = 0.0
        if self.max_failures > 0:
            wait = self._wait(tally.sources.get(source), self.max_failures)
        if self.account_max_failures > 0 and source not in self._known.get(username, ()):
            wait = max(wait, self._wait(tally.total, self.account_max_failures))
        return wait

    def failed(self, username: str, source: str = "") -> None:
        """Count one failed sign-in for `username` from `source`."""
        if self.max_failures <= 0 and self.account_max_failures <= 0:
            return
        if username not in self._failures and len(self._failures) >= self.MAX_TRACKED:
            self._prune()
        tally = self._tally(username, create=True)
        assert tally is not None
        now = self._clock()
        tally.total.append(now)
        attempts = tally.sources.get(source)
        if attempts is None:
            if len(tally.sources) >= self.MAX_SOURCES:
                tally.forget_idle(now - self.window_s, self.MAX_SOURCES)
            attempts = tally.sources[source] = deque(maxlen=max(self.max_failures, 1))
        attempts.append(now)

    def succeeded(self, username: str, source: str = "") -> None:
        """The right password from `source`: its count is cleared, and it is known from now on.

        This attempt no longer counts against the username; others' failures still do.
        """
        tally = self._failures.get(username)
        if tally is not None:
            tally.sources.pop(source, None)
            if tally.total:
                tally.total.pop()  # counted as failed until proven right
            if not tally.total and not tally.sources:
                del self._failures[username]
        known = self._known.pop(username, [])
        self._known[username] = [*(s for s in known if s != source), source][-self.MAX_KNOWN :]
        while len(self._known) > self.MAX_TRACKED:
            self._known.popitem(last=False)

    def forget(self, username: str) -> None:
        """A new password: every count for `username` starts afresh."""
        self._failures.pop(username, None)

    def _wait(self, failures: deque[float] | None, limit: int) -> float:
        horizon = self._clock() - self.window_s
        while failures and failures[0] <= horizon:
            failures.popleft()
        if failures is None or len(failures) < limit:
            return 0.0
        return max(failures[-limit] + self.window_s - self._clock(), 0.0)

    def _tally(self, username: str, *, create: bool) -> _Tally | None:
        tally = self._failures.get(username)
        if tally is None and create:
            # Room beyond the ceiling: a success takes back its own attempt, not an older one.
            limit = 2 * max(self.account_max_failures, self.max_failures, 1)
            tally = self._failures[username] = _Tally(deque(maxlen=limit), {})
        return tally

    def _prune(self) -> None:
        horizon = self._clock() - self.window_s
        for name in [n for n, t in self._failures.items() if t.idle(horizon)]:
            del self._failures[name]
        while len(self._failures) >= self.MAX_TRACKED:  # still full: forget the oldest
            del self._failures[next(iter(self._failures))]


@dataclass
class _Tally:
    """One username's recent failures: all of them, and per source."""

    total: deque[float]
    sources: dict[str, deque[float]]

    def idle(self, horizon: float) -> bool:
        return not self.total or self.total[-1] <= horizon

    def forget_idle(self, horizon: float, keep: int) -> None:
        for source in [s for s, f in self.sources.items() if not f or f[-1] <= horizon]:
            del self.sources[source]
        while len(self.sources) >= keep:  # all busy: forget the oldest
            del self.sources[next(iter(self.sources))]


def minutes(seconds: float) -> int:
    """Whole minutes, rounded up: 0 only for no time at all."""
    return math.ceil(seconds / 60) if seconds > 0 else 0
