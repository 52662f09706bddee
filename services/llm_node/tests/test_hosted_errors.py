"""What a provider's HTTP status means to a room, and whether it is retried."""

from __future__ import annotations

import pytest

from services.llm_node.backends.hosted import status_error

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("status", "code", "retryable", "says"),
    [
        (401, None, False, "rejected the API key"),
        (403, None, False, "may not use this model"),
        (429, None, True, "rate limiting"),
        (429, "insufficient_quota", False, "run out of quota"),
        (529, None, True, "overloaded"),
        (408, None, True, "try again"),
        (409, None, True, "try again"),
        (500, None, True, "failed (500)"),
        (503, None, True, "failed (503)"),
        (404, None, False, "does not know this model"),
        (400, None, False, "rejected the request (400): bad temperature"),
        (422, None, False, "rejected the request (422)"),
    ],
)
def test_status_table(status: int, code: str | None, retryable: bool, says: str) -> None:
    error = status_error(status, code=code, detail="bad temperature" if status == 400 else "")
    assert error.retryable is retryable
    assert says in error.message


def test_auth_failures_never_echo_the_providers_detail() -> None:
    error = status_error(401, detail="Incorrect API key provided: sk-live-1234")
    assert "sk-live" not in error.message
