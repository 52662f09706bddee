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
    # AI replies
    llm_addr: str = "127.0.0.1:50052"  # the LLM node
    ai_room_concurrency: int = 2  # replies generating at once in one room; the rest queue
    ai_global_concurrency: int = 8  # replies generating at once in this room service
    delta_interval_ms: int = 50  # tokens are coalesced into at most one delta per interval
    checkpoint_interval_s: float = 3.0  # partial text is saved this often while streaming
    context_messages: int = 500  # newest messages considered when fitting a persona's context
    llm_timeout_s: float = 600.0  # longest a single reply may take
    ai_user_daily_tokens: int = 200_000  # per account per UTC day (prompt + completion); 0 = no cap
    ai_room_daily_tokens: int = 1_000_000  # per room per UTC day; 0 = no cap
    # Accounts
    allow_guests: bool = True  # POST /api/session creates guest accounts
    session_ttl_days: float = 30.0  # sign-in sessions (cookie / login token) expire after this
    login_max_failures: int = 10  # failed sign-ins per username within the window; 0 = no limit
    login_failure_window_s: float = 900.0
