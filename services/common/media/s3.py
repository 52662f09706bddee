"""The S3 backend (aioboto3): blob `k` is the object `<prefix>/k` in one bucket.

Works with S3-compatible servers (MinIO, Ceph, moto) through an endpoint URL. Credentials and
region come from the usual AWS chain (environment, ~/.aws, instance role); the region defaults
to us-east-1 when none is configured. One client, so one connection pool, serves every call.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from services.common.media.base import (
    Blob,
    MediaStore,
    MediaUnavailable,
    validate_content_type,
    validate_key,
)

logger = logging.getLogger(__name__)

DEFAULT_REGION = "us-east-1"
DELETE_BATCH = 1000  # most keys one DeleteObjects request may name
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


class S3MediaStore(MediaStore):
    """Blobs as objects in `bucket` under `prefix`, through one aioboto3 client."""

    def __init__(self, client: Any, bucket: str, prefix: str, closer: contextlib.AsyncExitStack):
        self._client = client
        self._closer = closer
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    async def open(
        cls, bucket: str, prefix: str = "", *, endpoint_url: str | None = None
    ) -> S3MediaStore:
        """Connect, and check that the bucket can be reached (MediaUnavailable otherwise)."""
        import aioboto3  # here, so that a deployment on local files never loads boto

        session = aioboto3.Session()
        closer = contextlib.AsyncExitStack()
        client = await closer.enter_async_context(
            session.client(
                "s3",
                endpoint_url=endpoint_url,
                region_name=session.region_name or DEFAULT_REGION,
            )
        )
        store = cls(client, bucket, prefix.strip("/"), closer)
        try:
            async with store._errors(f"bucket {bucket!r}"):
                await client.head_bucket(Bucket=bucket)
        except BaseException:
            await closer.aclose()
            raise
        return store

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        name = self._object(key)
        validate_content_type(content_type)
        async with self._errors(name):
            await self._client.put_object(
                Bucket=self.bucket, Key=name, Body=data, ContentType=content_type
            )

    async def get(self, key: str) -> Blob | None:
        name = self._object(key)
        async with self._errors(name):
            try:
                reply = await self._client.get_object(Bucket=self.bucket, Key=name)
            except Exception as error:
                if _is_missing(error):
                    return None
                raise
            async with reply["Body"] as body:
                data = await body.read()
        return Blob(data=data, content_type=reply.get("ContentType") or "application/octet-stream")

    async def exists(self, key: str) -> bool:
        name = self._object(key)
        async with self._errors(name):
            try:
                await self._client.head_object(Bucket=self.bucket, Key=name)
            except Exception as error:
                if _is_missing(error):
                    return False
                raise
        return True

    async def delete(self, key: str) -> None:
        name = self._object(key)
        async with self._errors(name):
            await self._client.delete_object(Bucket=self.bucket, Key=name)

    async def delete_prefix(self, prefix: str) -> int:
        beneath = self._object(prefix) + "/"
        removed = 0
        async with self._errors(beneath):
            batch: list[dict[str, str]] = []
            async for name in self._list(beneath):
                batch.append({"Key": name})
                if len(batch) == DELETE_BATCH:
                    removed += await self._delete_batch(batch)
                    batch = []
            if batch:
                removed += await self._delete_batch(batch)
        return removed

    async def close(self) -> None:
        await self._closer.aclose()

    def _object(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def _list(self, beneath: str) -> AsyncIterator[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=beneath):
            for item in page.get("Contents", ()):
                yield item["Key"]

    async def _delete_batch(self, batch: list[dict[str, str]]) -> int:
        reply = await self._client.delete_objects(
            Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
        )
        if errors := reply.get("Errors"):
            logger.warning(
                "media store s3://%s: %d objects not deleted, e.g. %s",
                self.bucket,
                len(errors),
                errors[0],
            )
            raise MediaUnavailable("The media store could not delete every blob.")
        return len(batch)

    @contextlib.asynccontextmanager
    async def _errors(self, what: str) -> AsyncIterator[None]:
        """Turn boto's errors into MediaUnavailable; the details go to the log only."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except (BotoCoreError, ClientError) as error:
            logger.warning("media store s3://%s: %s failed: %s", self.bucket, what, error)
            raise MediaUnavailable("The media store could not be read or written.") from error


def _is_missing(error: Exception) -> bool:
    response = getattr(error, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") in _MISSING
