"""What every media store promises, run against each backend (a directory, S3 on moto)."""

from __future__ import annotations

import asyncio
import os

import pytest

from services.common.media.base import Blob, InvalidMediaKey, MediaStore

pytestmark = pytest.mark.unit

OGG = "audio/ogg; codecs=opus"
BAD_KEYS = [
    "",
    "/rooms/r1",
    "rooms/../secrets",
    "..",
    "rooms/./r1",
    "rooms//r1",
    "rooms/r1/",
    "rooms/.hidden",
    "rooms/r1 a",
    "rooms/r\u00e9",
    "rooms\\r1",
    "rooms/r1?x",
    "rooms/x.blob",
    "a" * 513,
]


async def test_a_blob_comes_back_as_it_was_put(store: MediaStore) -> None:
    await store.put("rooms/r1/speech/m1/0.ogg", b"OggS audio", OGG)
    assert await store.get("rooms/r1/speech/m1/0.ogg") == Blob(b"OggS audio", OGG)
    blob = await store.get("rooms/r1/speech/m1/0.ogg")
    assert blob is not None and blob.size == len(b"OggS audio")
    assert await store.exists("rooms/r1/speech/m1/0.ogg")


async def test_an_empty_blob_is_a_blob(store: MediaStore) -> None:
    await store.put("empty", b"", "application/octet-stream")
    assert await store.get("empty") == Blob(b"", "application/octet-stream")


async def test_put_replaces_data_and_content_type(store: MediaStore) -> None:
    await store.put("image/a", b"first version", "image/png")
    await store.put("image/a", b"second", "image/webp")
    assert await store.get("image/a") == Blob(b"second", "image/webp")


async def test_a_missing_key_is_none(store: MediaStore) -> None:
    assert await store.get("rooms/r1/nothing.wav") is None
    assert not await store.exists("rooms/r1/nothing.wav")


async def test_delete_removes_and_is_idempotent(store: MediaStore) -> None:
    await store.put("rooms/r1/a.wav", b"RIFF", "audio/wav")
    await store.put("rooms/r1/b.wav", b"RIFF", "audio/wav")
    await store.delete("rooms/r1/a.wav")
    await store.delete("rooms/r1/a.wav")
    await store.delete("never/stored")
    assert await store.get("rooms/r1/a.wav") is None
    assert not await store.exists("rooms/r1/a.wav")
    assert await store.exists("rooms/r1/b.wav")


async def test_a_key_and_keys_beneath_it_are_separate_blobs(store: MediaStore) -> None:
    await store.put("rooms/r1", b"parent", "text/plain")
    await store.put("rooms/r1/child", b"child", "text/plain")
    assert await store.get("rooms/r1") == Blob(b"parent", "text/plain")
    assert await store.get("rooms/r1/child") == Blob(b"child", "text/plain")


async def test_bad_keys_are_refused_by_every_operation(store: MediaStore) -> None:
    for key in BAD_KEYS:
        with pytest.raises(InvalidMediaKey, match="media key"):
            await store.put(key, b"x", "text/plain")
        for operation in (store.get, store.exists, store.delete, store.delete_prefix):
            with pytest.raises(InvalidMediaKey, match="media key"):
                await operation(key)


async def test_bad_content_types_are_refused_and_nothing_stored(store: MediaStore) -> None:
    for content_type in ["", "audio", "audio/ogg\nX-Evil: 1", "a/\u00e9", "a/" + "b" * 300]:
        with pytest.raises(InvalidMediaKey, match="content type"):
            await store.put("k", b"x", content_type)
    assert not await store.exists("k")


async def test_a_large_blob_round_trips(store: MediaStore) -> None:
    data = os.urandom(5 * 1024 * 1024 + 3)
    await store.put("rooms/r1/images/big.png", data, "image/png")
    blob = await store.get("rooms/r1/images/big.png")
    assert blob is not None
    assert blob.size == len(data) and blob.data == data


async def test_concurrent_puts_of_different_keys_all_land(store: MediaStore) -> None:
    keys = [f"rooms/r{i % 3}/speech/m{i}/0.pcm" for i in range(24)]
    await asyncio.gather(*(store.put(key, key.encode() * 100, "audio/L16") for key in keys))
    blobs = await asyncio.gather(*(store.get(key) for key in keys))
    assert blobs == [Blob(key.encode() * 100, "audio/L16") for key in keys]


async def test_delete_prefix_removes_only_what_is_beneath_it(store: MediaStore) -> None:
    doomed = ["rooms/r1/a", "rooms/r1/speech/m1/0.ogg", "rooms/r1/speech/m1/1.ogg"]
    kept = ["rooms/r1", "rooms/r10/a", "rooms/r2/speech/m1/0.ogg", "rooms/r1-old/a"]
    for key in doomed + kept:
        await store.put(key, b"data", "audio/ogg")
    assert await store.delete_prefix("rooms/r1") == len(doomed)
    assert [await store.exists(key) for key in doomed] == [False] * len(doomed)
    assert [await store.exists(key) for key in kept] == [True] * len(kept)
    assert await store.delete_prefix("rooms/r1") == 0
    assert await store.delete_prefix("rooms/never") == 0
    await store.put("rooms/r1/again", b"new", "audio/ogg")  # the prefix is usable afterwards
    assert await store.get("rooms/r1/again") == Blob(b"new", "audio/ogg")
