"""Room service settings (env prefix `CHIMERA_`)."""

from __future__ import annotations

from services.common.settings import CommonSettings


class RoomSettings(CommonSettings):
    """How the room service listens, stores and limits; documented in docs/configuration.md."""

    room_host: str = "127.0.0.1"
    room_port: int = 50051
    database_url: str | None = None  # default: SQLite file in data_dir
    max_message_chars: int = 16_000
    typing_ttl_s: float = 6.0
    shutdown_grace_s: float = 10.0
    session_queue_size: int = 10_000  # events buffered per gateway stream before it is cut
    grpc_reflection: bool = True
