"""Finding `@handle` mentions in a message."""

from __future__ import annotations

import re

HANDLE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
ALL = "all"
# A mention starts after anything but a word character or another @ (so e-mail addresses
# and `@@x` do not count) and ends before anything that cannot be part of a handle.
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9][A-Za-z0-9_-]{0,31})(?![\w-])")


def mentioned(content: str, handles: list[str]) -> list[str]:
    """The handles (of `handles`, in room order) that `content` mentions; `@all` means every one."""
    found = {m.group(1).lower() for m in _MENTION.finditer(content)}
    if ALL in found:
        return list(handles)
    return [h for h in handles if h in found]
