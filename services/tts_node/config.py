"""TTS node settings (env prefix `CHIMERA_`)."""

from __future__ import annotations

from pathlib import Path

from services.common.settings import CommonSettings
from services.tts_node.registry import DEFAULT_REGISTRY


class TtsSettings(CommonSettings):
    """How the TTS node listens and which voices it serves; see docs/configuration.md."""

    tts_host: str = "127.0.0.1"
    tts_port: int = 50053
    voices: Path = DEFAULT_REGISTRY  # CHIMERA_VOICES: the voice registry TOML file
    shutdown_grace_s: float = 10.0
    grpc_reflection: bool = True
