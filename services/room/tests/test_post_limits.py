"""PostLimiter: a burst, then a steady rate, per account per room."""

from __future__ import annotations

import pytest

from services.room.post_limits import PostLimiter, TooManyPosts

pytestmark = pytest.mark.unit


def test_a_burst_then_the_rate_per_account_per_room() -> None:
    now = [0.0]
    limiter = PostLimiter(rate=2, burst=3, clock=lambda: now[0])
    for _ in range(3):
        limiter.take("room", "ana")
    with pytest.raises(TooManyPosts) as refused:
        limiter.take("room", "ana")
    assert refused.value.retry_after_s == pytest.approx(0.5)
    assert refused.value.client_code == "rate_limited"
    limiter.take("room", "ben")
    limiter.take("other room", "ana")
    now[0] += 0.5
    limiter.take("room", "ana")


def test_zero_switches_it_off_and_memory_stays_bounded() -> None:
    off = PostLimiter(rate=0, burst=30)
    for _ in range(100):
        off.take("room", "ana")
    now = [0.0]
    limiter = PostLimiter(rate=1, burst=1, clock=lambda: now[0])
    limiter.MAX_TRACKED = 10
    for n in range(25):
        limiter.take("room", f"user{n}")
    assert len(limiter._buckets) <= 10
