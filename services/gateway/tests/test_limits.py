"""Token buckets: bursts, refill over time, Retry-After, and the per-socket strike rule."""

from __future__ import annotations

import pytest

from services.gateway import limits
from services.gateway.limits import FrameLimiter, KeyedLimiter, RateLimited

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_the_per_minute_limit_then_429_with_retry_after() -> None:
    clock = Clock()
    limiter = KeyedLimiter(10, clock=clock)
    for _ in range(10):
        limiter.hit("1.2.3.4")
    with pytest.raises(RateLimited) as refused:
        limiter.hit("1.2.3.4")
    assert refused.value.retry_after == "6"  # one token per 6 s at 10/min
    limiter.hit("5.6.7.8")  # another address has its own bucket


def test_the_bucket_refills_as_time_passes() -> None:
    clock = Clock()
    limiter = KeyedLimiter(10, clock=clock)
    for _ in range(10):
        limiter.hit("ip")
    clock.now += 5.9
    with pytest.raises(RateLimited):
        limiter.hit("ip")
    clock.now += 0.2
    limiter.hit("ip")  # one token back after 6 s
    clock.now += 3600
    for _ in range(10):  # fully refilled, never beyond the burst
        limiter.hit("ip")
    with pytest.raises(RateLimited):
        limiter.hit("ip")


def test_zero_switches_the_limit_off() -> None:
    limiter = KeyedLimiter(0, clock=Clock())
    for _ in range(1000):
        limiter.hit("ip")


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    assert RateLimited(0.01).retry_after == "1"
    assert RateLimited(2.2).retry_after == "3"


def test_idle_keys_are_forgotten_when_the_table_is_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_KEYS", 3)
    clock = Clock()
    limiter = KeyedLimiter(60, clock=clock)
    for ip in ("a", "b", "c"):
        limiter.hit(ip)
    clock.now += 10  # all refilled: forgettable
    limiter.hit("d")
    assert len(limiter._buckets) <= 3


def test_frames_over_the_rate_are_refused_and_strikes_end_the_socket() -> None:
    clock = Clock()
    frames = FrameLimiter(rate=10, burst=3, max_strikes=2, clock=clock)
    assert [frames.allow() for _ in range(3)] == [True, True, True]
    assert frames.allow() is False and not frames.exhausted
    assert frames.allow() is False and frames.exhausted


def test_an_allowed_frame_clears_the_strikes() -> None:
    clock = Clock()
    frames = FrameLimiter(rate=10, burst=1, max_strikes=2, clock=clock)
    assert frames.allow() and not frames.allow()
    clock.now += 0.1
    assert frames.allow() and frames.strikes == 0
