"""How fast one account may post to one room: a token bucket per (room, account).

Every post passes `Rooms.post` (WebSocket sends, REST posts, direct gRPC), so one limit holds
whichever way, and however many sockets, an account posts by.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from services.common.errors import ResourceExhausted
from services.common.rate import TokenBucket

TOO_MANY_POSTS = "Too many messages in this room; slow down."


class TooManyPosts(ResourceExhausted):
    """A post over the limit: REST 429 `rate_limited` + `Retry-After`, a `rate_limited` frame."""

    client_code = "rate_limited"

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(TOO_MANY_POSTS)
        self.retry_after_s = retry_after_s


class PostLimiter:
    """`rate` posts a second per account per room, sustained, and bursts of `burst`."""

    MAX_TRACKED = 100_000  # (room, account) buckets kept before full (idle) ones are dropped

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0 and self.burst >= 1

    def take(self, room_id: str, account_id: str) -> None:
        """Count one post; TooManyPosts when the account's bucket in the room is empty."""
        if not self.enabled:
            return
        now = self._clock()
        key = (room_id, account_id)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.MAX_TRACKED:
                self._prune(now)
            bucket = self._buckets[key] = TokenBucket.full(self.rate, self.burst, now)
        wait = bucket.take(now)
        if wait > 0:
            raise TooManyPosts(wait)

    def _prune(self, now: float) -> None:
        for key in [k for k, b in self._buckets.items() if b.is_full(now)]:
            del self._buckets[key]
        while len(self._buckets) >= self.MAX_TRACKED:  # all busy: forget the oldest
            del self._buckets[next(iter(self._buckets))]
