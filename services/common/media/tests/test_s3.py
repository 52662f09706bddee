"""The S3 backend on a moto server: where objects land, prefixes, batches, unreachable storage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aioboto3
import pytest

from services.common.media import s3 as s3_module
from services.common.media.base import Blob, MediaUnavailable
from services.common.media.s3 import S3MediaStore
from services.common.net import free_port
from tests.support.s3 import create_bucket

pytestmark = [pytest.mark.unit, pytest.mark.s3]


@pytest.fixture
async def bucket(moto_endpoint: str, aws_environment: None) -> str:
    return await create_bucket(moto_endpoint)


@pytest.fixture
async def raw(moto_endpoint: str, aws_environment: None) -> AsyncIterator[Any]:
    """A plain S3 client, to look at the bucket as other S3 tools would."""
    async with aioboto3.Session().client("s3", endpoint_url=moto_endpoint) as client:
        yield client


async def test_a_blob_is_an_object_under_the_prefix_with_its_content_type(
    moto_endpoint: str, bucket: str, raw: Any
) -> None:
    async with await S3MediaStore.open(
        bucket, "/chimera/media/", endpoint_url=moto_endpoint
    ) as store:
        await store.put("rooms/r1/a.ogg", b"OggS", "audio/ogg")
    head = await raw.head_object(Bucket=bucket, Key="chimera/media/rooms/r1/a.ogg")
    assert head["ContentType"] == "audio/ogg" and head["ContentLength"] == 4


async def test_stores_on_different_prefixes_of_one_bucket_do_not_meet(
    moto_endpoint: str, bucket: str
) -> None:
    async with (
        await S3MediaStore.open(bucket, "one", endpoint_url=moto_endpoint) as one,
        await S3MediaStore.open(bucket, "two", endpoint_url=moto_endpoint) as two,
        await S3MediaStore.open(bucket, "", endpoint_url=moto_endpoint) as whole,
    ):
        await one.put("rooms/r1/a", b"one", "text/plain")
        await two.put("rooms/r1/a", b"two", "text/plain")
        assert await two.delete_prefix("rooms") == 1
        assert await one.get("rooms/r1/a") == Blob(b"one", "text/plain")
        assert await whole.get("one/rooms/r1/a") == Blob(b"one", "text/plain")


async def test_delete_prefix_deletes_in_batches(
    moto_endpoint: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3_module, "DELETE_BATCH", 3)
    async with await S3MediaStore.open(bucket, "p", endpoint_url=moto_endpoint) as store:
        for i in range(7):
            await store.put(f"rooms/r1/{i}", b"x", "text/plain")
        assert await store.delete_prefix("rooms/r1") == 7
        assert not any([await store.exists(f"rooms/r1/{i}") for i in range(7)])


async def test_a_missing_bucket_is_reported_at_open(
    moto_endpoint: str, aws_environment: None
) -> None:
    with pytest.raises(MediaUnavailable):
        await S3MediaStore.open("no-such-bucket", endpoint_url=moto_endpoint)


async def test_an_unreachable_server_is_unavailable_not_a_crash(
    aws_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    closed = f"http://127.0.0.1:{free_port('127.0.0.1')}"
    with pytest.raises(MediaUnavailable):
        await S3MediaStore.open("bucket", endpoint_url=closed)
