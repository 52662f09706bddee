"""Media blobs (speech audio, images): one small store interface, a directory and an S3 backend."""

from services.common.media.base import (
    Blob,
    InvalidMediaKey,
    MediaStore,
    MediaUnavailable,
    validate_key,
)

__all__ = ["Blob", "InvalidMediaKey", "MediaStore", "MediaUnavailable", "validate_key"]
