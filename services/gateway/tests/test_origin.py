"""The WebSocket Origin allowlist."""

from __future__ import annotations

import pytest

from services.gateway.ws.origin import origin_allowed

pytestmark = pytest.mark.unit

HOST = {"host": "chat.example.com:8000"}


@pytest.mark.parametrize(
    ("origin", "allowed", "ok"),
    [
        (None, set(), True),  # not a browser
        ("http://chat.example.com:8000", set(), True),  # same origin
        ("https://chat.example.com:8000", set(), True),  # TLS ended at a proxy
        ("HTTP://Chat.Example.com:8000/", set(), True),
        ("http://evil.example.com", set(), False),
        ("http://chat.example.com", set(), False),  # another port is another origin
        ("null", set(), False),
        ("http://chat.example.com:8000.evil.com", set(), False),
        ("https://app.example.org", {"https://app.example.org"}, True),
        ("https://app.example.org", {"https://other.example.org"}, False),
    ],
)
def test_origins(origin: str | None, allowed: set[str], ok: bool) -> None:
    headers = dict(HOST)
    if origin is not None:
        headers["origin"] = origin
    assert origin_allowed(headers, allowed) is ok


def test_without_a_host_header_only_listed_origins_pass() -> None:
    assert not origin_allowed({"origin": "http://a.example"}, set())
    assert origin_allowed({"origin": "http://a.example"}, {"http://a.example"})
