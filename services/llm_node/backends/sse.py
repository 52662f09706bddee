"""Server-sent events split out of an HTTP body as it arrives, in whole network chunks.

A provider's stream is read in the chunks the socket delivers, and each chunk is split at once
into the data of the events it completes: no per-line generators, no objects per field. Only
`data` matters to the backends here; `event`, `id` and `retry` fields and comment lines
(keepalives) are skipped. Line ends may be LF, CRLF or CR, as the SSE specification allows.
"""

from __future__ import annotations

_BOUNDARY = b"\n\n"


class EventSplitter:
    """Feed it the body's chunks; it returns the data of each event they complete."""

    def __init__(self) -> None:
        # Normalised text (LF line ends) of the events not yet complete, as it arrived.
        self._pending: list[bytes] = []
        self._held_cr = False  # the last chunk ended in CR: a LF may follow in the next one

    def feed(self, chunk: bytes) -> list[bytes]:
        """The data of every event that `chunk` completes, in order (multi-line data joined)."""
        if self._held_cr:
            chunk = b"\r" + chunk
            self._held_cr = False
        if b"\r" in chunk:
            if chunk.endswith(b"\r"):
                chunk = chunk[:-1]
                self._held_cr = True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if not chunk:
            return []
        if self._pending:
            straddles = chunk[:1] == b"\n" and self._pending[-1][-1:] == b"\n"
            if not straddles and _BOUNDARY not in chunk:
                self._pending.append(chunk)  # mid-event: join once, when it completes
                return []
            self._pending.append(chunk)
            chunk = b"".join(self._pending)
            self._pending = []
        end = chunk.rfind(_BOUNDARY)
        if end < 0:
            self._pending.append(chunk)
            return []
        if end + 2 < len(chunk):
            self._pending.append(chunk[end + 2 :])
        return [data for block in chunk[:end].split(_BOUNDARY) if (data := _data(block))]

    def finish(self) -> list[bytes]:
        """At the end of the body: the event a final line end completes, if any.

        An event cut off before its blank line is dropped, as the specification says.
        """
        if not self._held_cr:
            return []
        return self.feed(b"\n")


def _data(block: bytes) -> bytes | None:
    """The data of one event's lines; None when it has no data field (a comment, a retry)."""
    if block.startswith(b"data:") and b"\n" not in block:  # nearly every event: one data line
        value = block[5:]
        return value[1:] if value[:1] == b" " else value
    lines = []
    for line in block.split(b"\n"):
        name, _, value = line.partition(b":")
        if name == b"data":
            lines.append(value[1:] if value[:1] == b" " else value)
    return b"\n".join(lines) if lines else None
