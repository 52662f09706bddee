"""Keep secrets out of logs: the one URL that carries one is an invite's accept path."""

from __future__ import annotations

import logging
import re

_INVITE_PATH = re.compile(r"(/api/invites/)[^/?#\s\"]+")
REDACTED = "<redacted>"


def redact(text: str) -> str:
    """`text` with every invite token in an accept path replaced by `<redacted>`."""
    return _INVITE_PATH.sub(rf"\g<1>{REDACTED}", text)


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
