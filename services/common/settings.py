"""Settings shared by every Chimera service (env prefix `CHIMERA_`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    """Base for each service's settings; see docs/configuration.md for every field."""

    model_config = SettingsConfigDict(env_prefix="CHIMERA_", extra="ignore")

    data_dir: Path = Path("./data")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
