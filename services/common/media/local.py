"""The directory backend: each blob one file, written atomically.

Blob `rooms/r1/speech/m1.ogg` is the file `<root>/rooms/r1/speech/m1.ogg.blob`: one header line
`chimera-media/1 <content type>` and then the bytes. Data and content type live in one file so
that one rename publishes both. Writes go to a hidden temporary file in the same directory,
are fsynced, renamed over the blob and the directory fsynced: after a crash the blob is the old
one or the new one, never part of either. A crash can leave a hidden `.*.tmp` file behind; no key
can name it (keys never start with "."), so it is invisible and only takes space.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from services.common.media.base import (
    RESERVED_SUFFIX,
    Blob,
    MediaStore,
    MediaUnavailable,
    validate_content_type,
    validate_key,
)

logger = logging.getLogger(__name__)

MAGIC = b"chimera-media/1 "
_TRASH_PREFIX = ".trash-"
T = TypeVar("T")


class LocalMediaStore(MediaStore):
    """Blobs as files under `root`; blocking file I/O runs in threads."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    async def open(cls, root: Path) -> LocalMediaStore:
        """Create `root` if needed and clear what an interrupted `delete_prefix` left there."""
        store = cls(await asyncio.to_thread(root.resolve))
        await store._run(store._prepare)
        return store

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        header = MAGIC + validate_content_type(content_type).encode("ascii") + b"\n"
        await self._run(self._write, path, header, data)

    async def get(self, key: str) -> Blob | None:
        return await self._run(self._read, self._path(key))

    async def exists(self, key: str) -> bool:
        return await self._run(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        await self._run(self._path(key).unlink, True)

    async def delete_prefix(self, prefix: str) -> int:
        return await self._run(self._remove_tree, self.root / validate_key(prefix))

    def _path(self, key: str) -> Path:
        return self.root / (validate_key(key) + RESERVED_SUFFIX)

    async def _run(self, call: Callable[..., T], *args: object) -> T:
        try:
            return await asyncio.to_thread(call, *args)
        except OSError as error:
            logger.warning("media store at %s failed: %s", self.root, error)
            raise MediaUnavailable("The media store could not be read or written.") from error

    def _prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for leftover in self.root.glob(_TRASH_PREFIX + "*"):
            shutil.rmtree(leftover, ignore_errors=True)

    def _write(self, path: Path, header: bytes, data: bytes) -> None:
        directory = path.parent
        self._make_dirs(directory)
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(header)
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        _fsync_directory(directory)

    def _make_dirs(self, directory: Path) -> None:
        # Each new directory's entry is fsynced into its parent, so a blob never outlives a
        # crash in a directory that did not.
        missing: list[Path] = []
        while directory != self.root and not directory.is_dir():
            missing.append(directory)
            directory = directory.parent
        for new in reversed(missing):
            with contextlib.suppress(FileExistsError):  # a concurrent put made it first
                new.mkdir()
            _fsync_directory(new.parent)

    def _read(self, path: Path) -> Blob | None:
        try:
            file = path.open("rb")
        except FileNotFoundError:
            return None
        with file:
            header = file.readline(len(MAGIC) + 512)
            if not header.startswith(MAGIC) or not header.endswith(b"\n"):
                raise OSError(f"{path} is not a Chimera media file")
            content_type = header[len(MAGIC) : -1].decode("ascii")
            return Blob(data=file.read(), content_type=content_type)

    def _remove_tree(self, directory: Path) -> int:
        # Renamed away first (atomic): once this returns no blob under the prefix is visible,
        # even if removing the files is cut short; `open` clears the remains.
        trash = self.root / f"{_TRASH_PREFIX}{uuid.uuid4().hex}"
        try:
            directory.rename(trash)
        except FileNotFoundError:
            return 0
        _fsync_directory(directory.parent)
        count = sum(
            name.endswith(RESERVED_SUFFIX) for _, _, names in os.walk(trash) for name in names
        )
        shutil.rmtree(trash)
        return count


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
