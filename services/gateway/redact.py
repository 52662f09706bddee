"""Keep secrets out of logs: an invite's accept path carries its token, and a careless client
may put a credential in a query string (`?token=...`); both are redacted wherever a URL is
logged."""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

_INVITE_PATH = re.compile(r"(/api/invites/)[^/?#\s\"]+")
_QUERY = re.compile(r"\?([^\s\"#]+)")
_QUERY_PAIR = re.compile(r"([^&;=]*)(=?)([^&;]*)")
# A query parameter whose name contains one of these has its value redacted.
SECRET_NAMES = (
    "token",
    "secret",
    "pass",
    "pwd",
    "key",
    "auth",
    "session",
    "sig",
    "credential",
    "cookie",
    "jwt",
    "bearer",
    "code",
    "csrf",
)
REDACTED = "<redacted>"


def _secret_name(name: str) -> bool:
    lowered = unquote_plus(name).lower()
    return any(word in lowered for word in SECRET_NAMES)


def _redact_pair(match: re.Match[str]) -> str:
    name, equals, value = match.groups()
    if equals and value and _secret_name(name):
        return f"{name}={REDACTED}"
    return match.group(0)


def _redact_query(match: re.Match[str]) -> str:
    return "?" + _QUERY_PAIR.sub(_redact_pair, match.group(1))


def redact(text: str) -> str:
    """`text` with every invite token in an accept path, and the value of every query parameter
    named like a credential, replaced by `<redacted>`."""
    return _QUERY.sub(_redact_query, _INVITE_PATH.sub(rf"\g<1>{REDACTED}", text))


class RedactFilter(logging.Filter):
    """Redacts invite tokens in a record's message and arguments (uvicorn's access log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        for key in ("path", "url"):
            value = getattr(record, key, None)
            if isinstance(value, str):
                setattr(record, key, redact(value))
        return True


def install_redaction() -> None:
    """Filter every record the process writes (the root handlers) and uvicorn's request lines."""
    targets: list[logging.Filterer] = [*logging.getLogger().handlers]
    targets += [logging.getLogger("uvicorn.access"), logging.getLogger("uvicorn.error")]
    for target in targets:
        if not any(isinstance(f, RedactFilter) for f in target.filters):
            target.addFilter(RedactFilter())
