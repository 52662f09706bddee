"""Settings shared by every Chimera service (env prefix `CHIMERA_`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    """Base for each service's settings; see docs/configuration.md for every field."""

    model_config = SettingsConfigDict(env_prefix="CHIMERA_", extra="ignore")

    data_dir: Path = Path("./data")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    # Internal gRPC: the shared secret every call carries (default: data_dir/internal.key)
    # and, for mutual TLS between hosts, PEM files (all three or none).
    internal_secret: SecretStr | None = None
    grpc_tls_cert: Path | None = None
    grpc_tls_key: Path | None = None
    grpc_tls_ca: Path | None = None
