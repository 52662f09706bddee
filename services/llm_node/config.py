"""LLM node settings (env prefix `CHIMERA_`)."""

from __future__ import annotations

from pathlib import Path

from services.common.settings import CommonSettings
from services.llm_node.registry import DEFAULT_REGISTRY


class LlmSettings(CommonSettings):
    """How the LLM node listens and which models it serves; see docs/configuration.md."""

    llm_host: str = "127.0.0.1"
    llm_port: int = 50052
    models: Path = DEFAULT_REGISTRY  # CHIMERA_MODELS: the registry TOML file
    shutdown_grace_s: float = 10.0
    grpc_reflection: bool = True
