"""The media store interface: whole blobs by key, with their content type.

A store knows nothing of rooms or accounts. It never checks who may read a blob: the caller
(the room service, or the gateway through it) checks that the reader may read the room the
blob belongs to before it calls `get`, and builds keys from ids it trusts, never from a path a
client sent. See docs/media.md.
"""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from services.common.errors import InvalidArgument, Unavailable

MAX_KEY_LENGTH = 512
MAX_CONTENT_TYPE_LENGTH = 255
# The local backend keeps a blob `a/b` in the file `a/b.blob`, so a segment named `x.blob` could
# collide with the file of a key `x`; refused on every backend so that they accept the same keys.
RESERVED_SUFFIX = ".blob"
# A segment starts with a letter, digit, "_" or "-": no ".", "..", nor hidden names (the local
# backend's temporary files start with ".", so no key can ever name one).
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
_CONTENT_TYPE = re.compile(r"[!-~]+/[!-~]+(?:;[ -~]*)?")


class InvalidMediaKey(InvalidArgument):
    """A key or content type the store refuses (a programming error in the caller, usually)."""


class MediaUnavailable(Unavailable):
    """The backing storage could not be reached or refused the operation; may be retried."""


@dataclass(frozen=True, slots=True)
class Blob:
    """One stored blob."""

    data: bytes
    content_type: str

    @property
    def size(self) -> int:
        """Length of the data in bytes."""
        return len(self.data)


def validate_key(key: str) -> str:
    """Return `key` if it is a valid media key, else raise InvalidMediaKey saying why.

    Keys are relative paths of "/"-separated segments of `[A-Za-z0-9._-]`, each starting with a
    letter, digit, "_" or "-" (so no "..", no "." segments, no hidden names), no empty segments
    (no leading, trailing or double "/"), no segment ending in ".blob", at most 512 characters.
    """
    if not isinstance(key, str) or not key:
        raise InvalidMediaKey("media key must be a non-empty string")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidMediaKey(f"media key is longer than {MAX_KEY_LENGTH} characters")
    if key.startswith("/"):
        raise InvalidMediaKey(f"media key {key!r} must be relative (no leading '/')")
    for segment in key.split("/"):
        if not _SEGMENT.fullmatch(segment):
            raise InvalidMediaKey(
                f"media key {key!r}: each '/'-separated part must be non-empty, use only "
                "A-Z a-z 0-9 . _ - and not start with '.'"
            )
        if segment.endswith(RESERVED_SUFFIX):
            raise InvalidMediaKey(f"media key {key!r}: a part may not end in {RESERVED_SUFFIX!r}")
    return key


def validate_content_type(content_type: str) -> str:
    """Return `content_type` if it looks like a MIME type ("audio/ogg; codecs=opus"), else raise."""
    if (
        not isinstance(content_type, str)
        or len(content_type) > MAX_CONTENT_TYPE_LENGTH
        or not _CONTENT_TYPE.fullmatch(content_type)
    ):
        raise InvalidMediaKey(
            f"content type {content_type!r} must be a printable ASCII MIME type such as "
            f"'audio/ogg', at most {MAX_CONTENT_TYPE_LENGTH} characters"
        )
    return content_type


class MediaStore(abc.ABC):
    """Whole blobs by key. Writes are atomic: a reader sees the old blob or the new, never part.

    Every method validates its key (InvalidMediaKey) and raises MediaUnavailable when the
    storage behind it fails. Access control is the caller's (see the module docstring).
    """

    @abc.abstractmethod
    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key`, replacing any blob there."""

    @abc.abstractmethod
    async def get(self, key: str) -> Blob | None:
        """The blob under `key`, or None when there is none."""

    @abc.abstractmethod
    async def exists(self, key: str) -> bool:
        """Whether a blob is stored under `key`."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the blob under `key`; nothing happens when there is none."""

    @abc.abstractmethod
    async def delete_prefix(self, prefix: str) -> int:
        """Remove every blob whose key starts with `prefix + "/"`; how many were removed.

        `prefix` is itself a valid key ("rooms/r1"): "rooms/r1/…" goes, "rooms/r10/…" and a blob
        stored under "rooms/r1" itself stay.
        """

    async def close(self) -> None:  # noqa: B027 (most backends hold nothing to release)
        """Release connections; the store is not used afterwards."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
