"""Gateway settings (env prefix `CHIMERA_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from services.common.settings import CommonSettings


class GatewaySettings(CommonSettings):
    """How the gateway listens, signs tokens and paces WebSockets; see docs/configuration.md."""

    host: str = "127.0.0.1"
    port: int = 8000
    room_addr: str = "127.0.0.1:50051"
    llm_addr: str = "127.0.0.1:50052"
    secret: SecretStr | None = None  # default: generated into data_dir/secret.key
    token_ttl_s: int = 30 * 24 * 3600
    resume_window: int = 1_000
    hello_timeout_s: float = 10.0
    max_frame_bytes: int = 64 * 1024
    socket_queue_size: int = 1_000  # frames buffered per socket before it is closed 1013
    room_timeout_s: float = 10.0  # deadline of unary calls to the room service
    summary_timeout_s: float = 120.0  # deadline of POST /api/rooms/{id}/summary (a model call)
    frontend_dir: Path = (
        Path(__file__).resolve().parents[2] / "frontend" / "dist"
    )  # the built web app
