"""Choosing the media store from CHIMERA_MEDIA_URL: the default, paths, file:// and s3:// URLs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.common.media.base import Blob
from services.common.media.config import MediaSettings
from services.common.media.local import LocalMediaStore
from services.common.media.registry import UnknownMediaStore, open_media_store, s3_location
from services.common.media.s3 import S3MediaStore
from tests.support.s3 import create_bucket

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def no_media_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CHIMERA_MEDIA_URL", "CHIMERA_S3_ENDPOINT_URL", "CHIMERA_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


async def test_the_default_store_is_the_media_directory_in_the_data_dir(tmp_path: Path) -> None:
    async with await open_media_store(MediaSettings(data_dir=tmp_path / "data")) as store:
        await store.put("rooms/r1/a.wav", b"RIFF", "audio/wav")
    assert (tmp_path / "data/media/rooms/r1/a.wav.blob").is_file()


@pytest.mark.parametrize("form", ["path", "relative", "file-url"])
async def test_a_directory_is_named_by_a_path_or_a_file_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "blobs dir"
    url = {"path": str(target), "relative": "blobs dir", "file-url": target.as_uri()}[form]
    store = await open_media_store(MediaSettings(media_url=url, data_dir=tmp_path / "data"))
    assert isinstance(store, LocalMediaStore)
    await store.put("k", b"v", "text/plain")
    assert (target / "k.blob").is_file()


def test_the_environment_names_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIMERA_MEDIA_URL", "s3://chimera-media/prod")
    monkeypatch.setenv("CHIMERA_S3_ENDPOINT_URL", "http://minio:9000")
    settings = MediaSettings()
    assert settings.media_url == "s3://chimera-media/prod"
    assert settings.s3_endpoint_url == "http://minio:9000"


@pytest.mark.parametrize(
    ("url", "location"),
    [
        ("s3://bucket", ("bucket", "")),
        ("s3://bucket/", ("bucket", "")),
        ("s3://bucket/chimera/media/", ("bucket", "chimera/media")),
    ],
)
def test_s3_urls_name_a_bucket_and_a_prefix(url: str, location: tuple[str, str]) -> None:
    assert s3_location(url) == location


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("gs://bucket/media", "no media store for 'gs' URLs; use a directory path, file:///"),
        ("s3:///prefix", "must be s3://bucket"),
        ("s3://bucket/../up", "bad prefix"),
        ("file://otherhost/srv/media", "must be file:///absolute/path"),
    ],
)
async def test_bad_urls_are_refused_naming_the_setting(
    tmp_path: Path, url: str, message: str
) -> None:
    with pytest.raises(UnknownMediaStore, match="CHIMERA_MEDIA_URL") as refused:
        await open_media_store(MediaSettings(media_url=url, data_dir=tmp_path))
    assert message in str(refused.value)


@pytest.mark.s3
async def test_an_s3_url_and_endpoint_open_the_s3_store(
    tmp_path: Path, moto_endpoint: str, aws_environment: None
) -> None:
    bucket = await create_bucket(moto_endpoint)
    settings = MediaSettings(
        media_url=f"s3://{bucket}/media", s3_endpoint_url=moto_endpoint, data_dir=tmp_path
    )
    async with await open_media_store(settings) as store:
        assert isinstance(store, S3MediaStore)
        await store.put("k", b"v", "text/plain")
        assert await store.get("k") == Blob(b"v", "text/plain")


def test_boto_is_imported_only_when_s3_is_used(tmp_path: Path) -> None:
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from services.common.media import MediaSettings, open_media_store\n"
        f"asyncio.run(open_media_store(MediaSettings(data_dir=Path({str(tmp_path)!r}))))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aioboto3', 'botocore')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
