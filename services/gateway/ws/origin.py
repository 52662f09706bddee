"""The WebSocket `Origin` check: a page on another site must not open sockets as its visitor."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit


def origin_allowed(headers: Mapping[str, str], allowed: set[str]) -> bool:
    """Absent (not a browser), the request's own host, or listed in CHIMERA_ALLOWED_ORIGINS.

    Same origin compares host and port only: TLS often ends at a proxy in front of the gateway,
    so the scheme the gateway sees need not be the page's.
    """
    origin = headers.get("origin")
    if origin is None:
        return True
    origin = origin.strip().rstrip("/").lower()
    if origin in allowed:
        return True
    parts = urlsplit(origin)
    host = headers.get("host", "").strip().lower()
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc == host
