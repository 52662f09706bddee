"""Image node settings (env prefix `CHIMERA_`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from services.common.settings import CommonSettings
from services.image_node.queue import DEFAULT_MAX_JOBS
from services.image_node.registry import DEFAULT_REGISTRY


class ImageSettings(CommonSettings):
    """How the image node listens, which models it serves and how many jobs it holds."""

    image_host: str = "127.0.0.1"
    image_port: int = 50054
    image_models: Path = DEFAULT_REGISTRY  # CHIMERA_IMAGE_MODELS: the registry TOML file
    # Unfinished jobs (queued, loading or running) across all models; more are refused with
    # RESOURCE_EXHAUSTED. Per-account limits are the room service's.
    image_queue_max: Annotated[int, Field(ge=1)] = DEFAULT_MAX_JOBS
    shutdown_grace_s: float = 10.0
    grpc_reflection: bool = True
