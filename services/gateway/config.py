"""Gateway settings (env prefix `CHIMERA_`)."""

from __future__ import annotations

from pathlib import Path

from services.common.settings import CommonSettings


class GatewaySettings(CommonSettings):
    """How the gateway listens, guards its doors and paces WebSockets; see docs/configuration.md."""

    host: str = "127.0.0.1"
    port: int = 8000
    room_addr: str = "127.0.0.1:50051"
    llm_addr: str = "127.0.0.1:50052"
    tts_addr: str = "127.0.0.1:50053"  # the TTS node (voices, previews)
    resume_window: int = 1_000
    hello_timeout_s: float = 10.0
    max_frame_bytes: int = 64 * 1024
    socket_queue_size: int = 1_000  # frames buffered per socket before it is closed 1013
    room_timeout_s: float = 10.0  # deadline of unary calls to the room service
    summary_timeout_s: float = 120.0  # deadline of POST /api/rooms/{id}/summary (a model call)
    speech_timeout_s: float = 30.0  # deadline of POST /api/speech (a synthesis)
    frontend_dir: Path = (
        Path(__file__).resolve().parents[2] / "frontend" / "dist"
    )  # the built web app
    access_log: bool = False  # uvicorn's access log (invite tokens in paths are redacted)
    # Proxies whose X-Forwarded-For/-Proto are believed (client IP for limits, https for cookies).
    forwarded_allow_ips: str = "127.0.0.1"
    # Browsers and cookies.
    allowed_origins: str = ""  # comma-separated extra WebSocket origins; same origin always
    cookie_secure: bool = False  # always mark cookies Secure (else only on https requests)
    max_body_bytes: int = 1024 * 1024  # larger request bodies are refused with 413
    # HTTP connections, before any authentication (0 = off).
    max_header_bytes: int = 32 * 1024  # request line + headers; larger heads get 431
    max_headers: int = 100  # more header fields get 431
    header_timeout_s: float = 10.0  # a request head must arrive within this; else closed
    keep_alive_timeout_s: int = 5  # an idle kept-alive connection is closed after this
    max_connections: int = 4096  # open HTTP + WebSocket connections; requests past it get 503
    # WebSocket abuse limits.
    ws_rate: float = 10.0  # frames per second per socket, sustained
    ws_burst: int = 30  # frames a socket may send at once
    ws_max_strikes: int = 20  # refused frames in a row before the socket is closed 4429
    ws_max_per_user: int = 20  # open sockets per account on this gateway
    # Per client IP, requests per minute (bucket of that size refilling over a minute); 0 = off.
    session_rate_per_min: float = 10.0
    login_rate_per_min: float = 10.0
    register_rate_per_min: float = 5.0
    # Per account, POST /api/speech previews per minute (each is a synthesis); 0 = off.
    speech_rate_per_min: float = 20.0

    def origins(self) -> set[str]:
        """The extra allowed origins, normalised (lower case, no trailing slash)."""
        return {o.strip().rstrip("/").lower() for o in self.allowed_origins.split(",") if o.strip()}
