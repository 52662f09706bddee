"""Credentials in query strings are redacted wherever a URL is logged."""

from __future__ import annotations

import logging

import pytest

from services.gateway.redact import RedactFilter, redact

pytestmark = pytest.mark.unit

SECRET = "q-secret-0123456789"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"/api/rooms?token={SECRET}", "/api/rooms?token=<redacted>"),
        (f"/x?limit=5&access_token={SECRET}&a=1", "/x?limit=5&access_token=<redacted>&a=1"),
        (f"/x?API_KEY={SECRET};after=3", "/x?API_KEY=<redacted>;after=3"),
        (f"/x?api%5Fkey={SECRET}", "/x?api%5Fkey=<redacted>"),
        (f"/x?password={SECRET}#frag", "/x?password=<redacted>#frag"),
        (f"/x?session_id={SECRET}&sig={SECRET}", "/x?session_id=<redacted>&sig=<redacted>"),
        ("/x?limit=5&before=12", "/x?limit=5&before=12"),
        ("/x?token=", "/x?token="),
        ("no url? here", "no url? here"),
    ],
)
def test_credential_parameters_are_redacted(url: str, expected: str) -> None:
    assert redact(url) == expected


def test_the_filter_redacts_a_query_in_uvicorns_access_record() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/api/rooms?token={SECRET}&limit=5", "1.1", 401),
        None,
    )
    assert RedactFilter().filter(record)
    assert SECRET not in record.getMessage()
    assert "/api/rooms?token=<redacted>&limit=5" in record.getMessage()
