"""Identifiers and timestamps in the forms every service uses."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime


def new_id() -> str:
    """A new random id (UUID4, canonical text form)."""
    return str(uuid.uuid4())


def now_ms() -> int:
    """Milliseconds since the Unix epoch."""
    return time.time_ns() // 1_000_000


def to_ms(value: datetime) -> int:
    """A timezone-aware datetime as epoch milliseconds."""
    return int(value.timestamp() * 1000)


def ms_to_iso(ms: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC, e.g. 2026-11-20T23:40:00.123Z."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
