"""LoginLimiter: failures count per (username, source); a ceiling per username spares known sources."""

from __future__ import annotations

import pytest

from services.room.accounts.passwords import LoginLimiter

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def guess(limiter: LoginLimiter, username: str, source: str, times: int = 1) -> None:
    for _ in range(times):
        assert limiter.retry_after(username, source) == 0
        limiter.failed(username, source)


def test_a_source_that_keeps_failing_waits_and_others_do_not() -> None:
    clock = Clock()
    limiter = LoginLimiter(3, 60, clock, account_max_failures=10)
    guess(limiter, "ana", "10.0.0.1", 3)

    assert limiter.retry_after("ana", "10.0.0.1") == 60
    assert limiter.retry_after("ana", "10.0.0.2") == 0
    assert limiter.retry_after("ana", "") == 0
    clock.now += 60
    assert limiter.retry_after("ana", "10.0.0.1") == 0


def test_past_the_ceiling_only_sources_that_signed_in_before_may_try() -> None:
    clock = Clock()
    limiter = LoginLimiter(3, 60, clock, account_max_failures=4)
    limiter.succeeded("ana", "owner-home")
    for n in range(4):
        guess(limiter, "ana", f"bot-{n}")
        clock.now += 1

    assert limiter.retry_after("ana", "someone-new") == 56  # the first one leaves at +60
    assert limiter.retry_after("ana", "owner-home") == 0
    assert limiter.retry_after("bob", "someone-new") == 0  # other accounts are not affected
    limiter.failed("ana", "owner-home")
    limiter.succeeded("ana", "owner-home")  # the owner's own success lifts nothing else
    assert limiter.retry_after("ana", "someone-new") > 0


def test_a_success_clears_only_its_own_source_and_a_new_password_clears_all() -> None:
    limiter = LoginLimiter(2, 60, Clock(), account_max_failures=100)
    guess(limiter, "ana", "a", 2)
    guess(limiter, "ana", "b", 2)
    limiter.failed("ana", "a")
    limiter.succeeded("ana", "a")

    assert limiter.retry_after("ana", "a") == 0
    assert limiter.retry_after("ana", "b") > 0
    limiter.forget("ana")
    assert limiter.retry_after("ana", "b") == 0


def test_failing_sources_and_known_sources_stay_bounded() -> None:
    limiter = LoginLimiter(2, 60, Clock(), account_max_failures=0)
    limiter.MAX_SOURCES = 5
    for n in range(20):
        limiter.failed("ana", f"10.0.0.{n}")
        limiter.succeeded("bob", f"10.0.1.{n}")
    assert len(limiter._failures["ana"].sources) <= 5
    assert len(limiter._known["bob"]) == LoginLimiter.MAX_KNOWN
