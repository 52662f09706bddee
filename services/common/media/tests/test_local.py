"""The directory backend: a crash mid-write leaves no partial blob; blobs outlive the process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from services.common.media.base import Blob, MediaUnavailable
from services.common.media.local import LocalMediaStore

pytestmark = pytest.mark.unit

# Writes a first version, then dies (no cleanup, like SIGKILL or a power cut) after the second
# version's bytes are written and fsynced but before they are renamed into place.
CRASH_MID_WRITE = textwrap.dedent(
    """
    import asyncio, os, sys
    from pathlib import Path
    from services.common.media.local import LocalMediaStore

    async def main():
        store = await LocalMediaStore.open(Path(sys.argv[1]))
        await store.put("rooms/r1/a.ogg", b"version one", "audio/ogg")
        os.replace = lambda *args: os._exit(17)
        await store.put("rooms/r1/a.ogg", b"version two, half written", "audio/ogg")
        await store.put("rooms/r1/new.ogg", b"never finished", "audio/ogg")

    asyncio.run(main())
    """
)


def test_a_crash_mid_write_leaves_the_old_blob_and_no_partial_one(tmp_path: Path) -> None:
    root = tmp_path / "media"
    done = subprocess.run(
        [sys.executable, "-c", CRASH_MID_WRITE, str(root)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 17, done.stderr

    async def after() -> None:
        store = await LocalMediaStore.open(root)
        assert await store.get("rooms/r1/a.ogg") == Blob(b"version one", "audio/ogg")
        await store.put("rooms/r1/a.ogg", b"version three", "audio/ogg")
        assert await store.get("rooms/r1/a.ogg") == Blob(b"version three", "audio/ogg")
        assert await store.delete_prefix("rooms/r1") == 1  # the temporary file is no blob

    leftovers = [p.name for p in (root / "rooms/r1").iterdir()]
    assert any(name.startswith(".") and name.endswith(".tmp") for name in leftovers), leftovers
    asyncio.run(after())


async def test_a_failed_write_raises_keeps_the_old_blob_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await LocalMediaStore.open(tmp_path / "media")
    await store.put("rooms/r1/a.ogg", b"version one", "audio/ogg")

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(MediaUnavailable):
        await store.put("rooms/r1/a.ogg", b"version two", "audio/ogg")
    with pytest.raises(MediaUnavailable):
        await store.put("rooms/r1/b.ogg", b"new", "audio/ogg")
    monkeypatch.undo()
    assert await store.get("rooms/r1/a.ogg") == Blob(b"version one", "audio/ogg")
    assert await store.get("rooms/r1/b.ogg") is None
    assert sorted(p.name for p in (tmp_path / "media/rooms/r1").iterdir()) == ["a.ogg.blob"]


async def test_blobs_outlive_the_store_that_wrote_them(tmp_path: Path) -> None:
    async with await LocalMediaStore.open(tmp_path / "media") as first:
        await first.put("rooms/r1/a.wav", b"RIFF....WAVE", "audio/wav")
    async with await LocalMediaStore.open(tmp_path / "media") as second:
        assert await second.get("rooms/r1/a.wav") == Blob(b"RIFF....WAVE", "audio/wav")


async def test_an_interrupted_prefix_deletion_is_finished_at_open(tmp_path: Path) -> None:
    root = tmp_path / "media"
    store = await LocalMediaStore.open(root)
    await store.put("rooms/r1/a.wav", b"RIFF", "audio/wav")
    (root / "rooms").rename(root / ".trash-interrupted")  # renamed away, removal cut short
    await LocalMediaStore.open(root)
    assert list(root.iterdir()) == []


async def test_a_file_that_is_not_a_blob_is_reported_not_served(tmp_path: Path) -> None:
    store = await LocalMediaStore.open(tmp_path / "media")
    (tmp_path / "media/stray.blob").write_bytes(b"not written by the store")
    with pytest.raises(MediaUnavailable):
        await store.get("stray")
