"""Token buckets: per-IP limits on the sign-in routes and per-socket frame rates."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from services.common.errors import ResourceExhausted
from services.common.rate import TokenBucket

Clock = Callable[[], float]

# Buckets kept per limiter before full (idle) ones are dropped; bounds memory under a spray of IPs.
MAX_KEYS = 100_000


class RateLimited(ResourceExhausted):
    """Too many requests: answered 429 `rate_limited` with `Retry-After`."""

    client_code = "rate_limited"

    def __init__(
        self, retry_after_s: float, message: str = "Too many requests; slow down."
    ) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    @property
    def retry_after(self) -> str:
        """The `Retry-After` header value: whole seconds, at least 1."""
        return str(max(1, math.ceil(self.retry_after_s)))


class KeyedLimiter:
    """One token bucket per key (a client IP); `per_minute` <= 0 switches the limit off."""

    def __init__(
        self, per_minute: float, *, burst: float | None = None, clock: Clock = time.monotonic
    ) -> None:
        self.rate = per_minute / 60.0
        self.capacity = burst if burst is not None else per_minute
        self.clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0 and self.capacity >= 1

    def hit(self, key: str) -> None:
        """Count one request for `key`; RateLimited when its bucket is empty."""
        if not self.enabled:
            return
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_KEYS:
                self._prune(now)
            bucket = self._buckets[key] = TokenBucket.full(self.rate, self.capacity, now)
        wait = bucket.take(now)
        if wait > 0:
            raise RateLimited(wait)

    def _prune(self, now: float) -> None:
        for key in [k for k, b in self._buckets.items() if b.is_full(now)]:
            del self._buckets[key]
        while len(self._buckets) >= MAX_KEYS:  # all busy: forget the oldest
            del self._buckets[next(iter(self._buckets))]


class FrameLimiter:
    """A socket's frame budget: refused frames in a row count as strikes."""

    def __init__(
        self, rate: float, burst: int, max_strikes: int, *, clock: Clock = time.monotonic
    ) -> None:
        self.clock = clock
        self.bucket = TokenBucket.full(rate, burst, clock()) if rate > 0 and burst >= 1 else None
        self.max_strikes = max_strikes
        self.strikes = 0

    def allow(self) -> bool:
        """Whether the next frame may be processed."""
        if self.bucket is None or self.bucket.take(self.clock()) == 0:
            self.strikes = 0
            return True
        self.strikes += 1
        return False

    @property
    def exhausted(self) -> bool:
        """The client kept sending while limited: close the socket."""
        return self.strikes >= self.max_strikes


@dataclass
class HttpLimits:
    """The per-IP limiters of the routes that create sessions or accounts, and the per-account
    one of speech previews."""

    session: KeyedLimiter
    login: KeyedLimiter
    register: KeyedLimiter
    speech: KeyedLimiter

    @classmethod
    def create(
        cls,
        session: float,
        login: float,
        register: float,
        speech: float = 0.0,
        clock: Clock = time.monotonic,
    ) -> HttpLimits:
        return cls(
            session=KeyedLimiter(session, clock=clock),
            login=KeyedLimiter(login, clock=clock),
            register=KeyedLimiter(register, clock=clock),
            speech=KeyedLimiter(speech, clock=clock),
        )
