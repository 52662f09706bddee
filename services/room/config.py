"""Room service settings (env prefix `CHIMERA_`)."""

from __future__ import annotations

from services.common.media.config import MediaSettings


class RoomSettings(MediaSettings):  # media_url, s3_endpoint_url: where speech audio is kept
    """How the room service listens, stores and limits; documented in docs/configuration.md."""

    room_host: str = "127.0.0.1"
    room_port: int = 50051
    database_url: str | None = None  # default: SQLite file in data_dir
    max_message_chars: int = 16_000
    # Posts per second per account per room (every way of posting), sustained; 0 = no limit.
    post_rate: float = 10.0
    post_burst: int = 30  # posts one account may make in one room at once
    typing_ttl_s: float = 6.0
    shutdown_grace_s: float = 10.0
    session_queue_size: int = 10_000  # events buffered per gateway stream before it is cut
    grpc_reflection: bool = True
    # AI replies
    llm_addr: str = "127.0.0.1:50052"  # the LLM node
    ai_room_concurrency: int = 2  # replies generating at once in one room; the rest queue
    ai_global_concurrency: int = 8  # replies generating at once in this room service
    ai_account_concurrency: int = 4  # ... of them for one account (its mentions, its autopilots)
    ai_account_queue: int = 20  # replies one account may have unfinished (mentions); 0 = no bound
    delta_interval_ms: int = 50  # tokens are coalesced into at most one delta per interval
    checkpoint_interval_s: float = 3.0  # partial text is saved this often while streaming
    context_messages: int = 500  # newest messages considered when fitting a persona's context
    llm_timeout_s: float = 600.0  # longest a single reply may take
    ai_user_daily_tokens: int = 200_000  # per account per UTC day (prompt + completion); 0 = no cap
    ai_room_daily_tokens: int = 1_000_000  # per room per UTC day; 0 = no cap
    # Speech (the TTS node speaks the replies of personas with a voice)
    tts_addr: str = "127.0.0.1:50053"  # the TTS node
    speech_timeout_s: float = 60.0  # longest the node may take over one sentence
    speech_max_sentence_chars: int = 300  # longer sentences are cut (at a comma or space)
    # Accounts
    allow_guests: bool = True  # POST /api/session creates guest accounts
    session_ttl_days: float = 30.0  # sign-in sessions (cookie / login token) expire after this
    login_max_failures: int = 10  # failed sign-ins per username and client address; 0 = no limit
    login_failure_window_s: float = 900.0
    # Failed sign-ins per username from every address together; past it, only addresses that
    # signed in to the account before may try (0 = no such ceiling).
    login_account_max_failures: int = 30
    revocation_poll_s: float = 1.0  # how often revocations made by `chimera admin` are picked up
    # Autopilot: defaults of a room's limits, and pacing
    autopilot_max_turns: int = 10  # autopilot turns without a human message, then it stops
    autopilot_token_budget: int = 200_000  # tokens one run may use; 0 = no limit
    autopilot_idle_timeout_s: int = 300  # it stops once nobody has been online this long
    autopilot_delay_base_s: float = 1.5  # a persona thinks this long before each turn ...
    autopilot_delay_per_char_s: float = 0.015  # ... plus this per character it answers ...
    autopilot_delay_max_s: float = 8.0  # ... and at most this long
    autopilot_seed: int | None = None  # seeds the speaker draw (reproducible runs)
    # The rolling room summary and /summary
    summary_model: str = ""  # "" = the model of the room's first persona
    summary_max_tokens: int = 400  # longest rolling summary
    summary_keep_ratio: float = 0.5  # after a fold, recent messages fill at most this share
    summary_timeout_s: float = 120.0
