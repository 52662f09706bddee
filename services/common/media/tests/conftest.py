"""Stores for the media tests: a directory, and S3 on a moto server (one per test worker)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from services.common.media.base import MediaStore
from services.common.media.local import LocalMediaStore
from services.common.media.s3 import S3MediaStore
from tests.support.s3 import CREDENTIALS, S3Unavailable, create_bucket, moto_server, skip_or_fail


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The endpoint URL of a moto S3 server process, shared by this worker's tests."""
    try:
        with moto_server() as endpoint:
            yield endpoint
    except S3Unavailable as error:  # raised before the server starts, never by a test
        skip_or_fail(error)


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Test credentials, and no ~/.aws files or instance role that could be picked up instead."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(
    params=[
        pytest.param("local", id="local"),
        pytest.param("s3", id="s3", marks=pytest.mark.s3),
    ]
)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MediaStore]:
    """An empty media store: a directory, or a prefix in a fresh bucket on the moto server."""
    opened: MediaStore
    if request.param == "local":
        opened = await LocalMediaStore.open(tmp_path / "media")
    else:
        endpoint = request.getfixturevalue("moto_endpoint")
        request.getfixturevalue("aws_environment")
        name = await create_bucket(endpoint)
        opened = await S3MediaStore.open(name, "chimera/media", endpoint_url=endpoint)
    async with opened:
        yield opened
