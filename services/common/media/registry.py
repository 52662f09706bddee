"""Which media store a URL names, and opening it: the one place that knows the backends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from services.common.media.base import InvalidMediaKey, MediaStore, validate_key
from services.common.media.config import MediaSettings

MEDIA_DIRECTORY = "media"


class UnknownMediaStore(ValueError):
    """CHIMERA_MEDIA_URL names no media store Chimera has, or names one badly."""


async def _open_file(url: str, settings: MediaSettings) -> MediaStore:
    from services.common.media.local import LocalMediaStore

    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost") or not parts.path:
        raise UnknownMediaStore(f"CHIMERA_MEDIA_URL: {url!r} must be file:///absolute/path")
    return await LocalMediaStore.open(Path(unquote(parts.path)))


async def _open_s3(url: str, settings: MediaSettings) -> MediaStore:
    bucket, prefix = s3_location(url)
    # Imported here: aioboto3 (and botocore) load only in a deployment that uses S3.
    from services.common.media.s3 import S3MediaStore

    return await S3MediaStore.open(bucket, prefix, endpoint_url=settings.s3_endpoint_url)


# URL scheme -> how to open that store. A value without "://" is a directory path.
BACKENDS: dict[str, Callable[[str, MediaSettings], Awaitable[MediaStore]]] = {
    "file": _open_file,
    "s3": _open_s3,
}


def default_url(data_dir: Path) -> str:
    """The URL of the default store: the directory `media` in `data_dir`."""
    return (data_dir.resolve() / MEDIA_DIRECTORY).as_uri()


def media_url(settings: MediaSettings) -> str:
    """The store `settings` name, as a URL (a plain path becomes file://)."""
    url = settings.media_url or default_url(settings.data_dir)
    if "://" not in url:
        return Path(url).resolve().as_uri()
    return url


def s3_location(url: str) -> tuple[str, str]:
    """(bucket, prefix) of s3://bucket/prefix; the prefix may be empty."""
    parts = urlsplit(url)
    prefix = parts.path.strip("/")
    if not parts.netloc or parts.query or parts.fragment:
        raise UnknownMediaStore(
            f"CHIMERA_MEDIA_URL: {url!r} must be s3://bucket or s3://bucket/prefix"
        )
    if prefix:
        try:
            validate_key(prefix)
        except InvalidMediaKey as error:
            raise UnknownMediaStore(f"CHIMERA_MEDIA_URL: bad prefix: {error}") from error
    return parts.netloc, prefix


async def open_media_store(settings: MediaSettings) -> MediaStore:
    """Open the media store `settings` name (CHIMERA_MEDIA_URL, default data_dir/media)."""
    url = media_url(settings)
    scheme = url.split("://", 1)[0].lower()
    opener = BACKENDS.get(scheme)
    if opener is None:
        raise UnknownMediaStore(
            f"CHIMERA_MEDIA_URL: no media store for {scheme!r} URLs; use a directory path, "
            "file:///path or s3://bucket/prefix"
        )
    return await opener(url, settings)
