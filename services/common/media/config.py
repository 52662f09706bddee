"""Where media blobs are kept (env prefix `CHIMERA_`); documented in docs/configuration.md."""

from __future__ import annotations

from services.common.settings import CommonSettings


class MediaSettings(CommonSettings):
    """Settings of a service that stores or serves media; its own settings class extends this."""

    # A directory (a path or file:///path) or s3://bucket/prefix; default: data_dir/media.
    media_url: str | None = None
    s3_endpoint_url: str | None = None  # an S3-compatible server (MinIO, Ceph, moto)
