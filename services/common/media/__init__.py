"""Media blobs (speech audio, images): one small store interface, a directory and an S3 backend."""

from services.common.media.base import (
    Blob,
    InvalidMediaKey,
    MediaStore,
    MediaUnavailable,
    validate_key,
)
from services.common.media.config import MediaSettings
from services.common.media.registry import UnknownMediaStore, open_media_store

__all__ = [
    "Blob",
    "InvalidMediaKey",
    "MediaSettings",
    "MediaStore",
    "MediaUnavailable",
    "UnknownMediaStore",
    "open_media_store",
    "validate_key",
]
