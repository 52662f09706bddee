"""Password hashing (argon2id) off the event loop, and per-account sign-in failure limits."""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections import deque
from collections.abc import Callable

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
    """At most `max_failures` failed sign-ins per username within a sliding `window_s`."""

    MAX_TRACKED = 100_000  # usernames remembered at once (memory stays bounded under a spray)

    def __init__(
        self, max_failures: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, username: str) -> float:
        """Seconds until `username` may try again; 0 when it may now."""
        if self.max_failures <= 0:
            return 0.0
        failures = self._recent(username, create=False)
        if failures is None or len(failures) < self.max_failures:
            return 0.0
        return max(failures[0] + self.window_s - self._clock(), 0.0)

    def failed(self, username: str) -> None:
        """Count one failed sign-in for `username`."""
        if self.max_failures <= 0:
            return
        if username not in self._failures and len(self._failures) >= self.MAX_TRACKED:
            self._prune()
        failures = self._recent(username, create=True)
        assert failures is not None
        failures.append(self._clock())

    def succeeded(self, username: str) -> None:
        """A correct password clears the count."""
        self._failures.pop(username, None)

    def _recent(self, username: str, *, create: bool) -> deque[float] | None:
        failures = self._failures.get(username)
        if failures is None:
            if not create:
                return None
            failures = self._failures[username] = deque(maxlen=self.max_failures)
        horizon = self._clock() - self.window_s
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures

    def _prune(self) -> None:
        horizon = self._clock() - self.window_s
        for name in [n for n, f in self._failures.items() if not f or f[-1] <= horizon]:
            del self._failures[name]
        while len(self._failures) >= self.MAX_TRACKED:  # still full: forget the oldest
            del self._failures[next(iter(self._failures))]


def minutes(seconds: float) -> int:
    """Whole minutes, rounded up: 0 only for no time at all."""
    return math.ceil(seconds / 60) if seconds > 0 else 0
