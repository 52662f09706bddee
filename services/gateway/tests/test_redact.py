"""Invite tokens never reach a log line."""

from __future__ import annotations

import logging

import pytest

from services.gateway.redact import RedactFilter, redact

pytestmark = pytest.mark.unit

TOKEN = "s3cr3t-Invite_token"


def test_an_accept_path_loses_its_token() -> None:
    assert redact(f"/api/invites/{TOKEN}/accept") == "/api/invites/<redacted>/accept"
    assert redact(f'"POST /api/invites/{TOKEN}/accept?x=1 HTTP/1.1"') == (
        '"POST /api/invites/<redacted>/accept?x=1 HTTP/1.1"'
    )
    assert redact("/api/rooms/r1/invites") == "/api/rooms/r1/invites"


def test_the_filter_redacts_uvicorns_access_record() -> None:
    # uvicorn.access logs '%s - "%s %s HTTP/%s" %d' with the path among the arguments.
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", f"/api/invites/{TOKEN}/accept", "1.1", 200),
        None,
    )
    record.__dict__["path"] = f"/api/invites/{TOKEN}/accept"  # as `extra={"path": ...}` sets it
    assert RedactFilter().filter(record)
    assert TOKEN not in record.getMessage() and TOKEN not in record.__dict__["path"]
    assert "/api/invites/<redacted>/accept" in record.getMessage()
