"""Gateway process: uvicorn serving the FastAPI app."""

from __future__ import annotations

import logging

import uvicorn

from services.common.log import setup_logging
from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from services.gateway.http_transport import GatewayHttpProtocol, HeadLimits
from services.gateway.redact import install_redaction
from services.gateway.ws.transport import GatewayWebSocketProtocol


def main() -> None:
    """Entry point for `chimera gateway`."""
    settings = GatewaySettings()
    setup_logging("gateway", settings.log_level, settings.log_format)
    install_redaction()  # invite tokens travel in one URL path; they never reach a log
    if settings.access_log:
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    limits = HeadLimits(
        max_bytes=settings.max_header_bytes,
        max_count=settings.max_headers,
        timeout_s=settings.header_timeout_s,
    )
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        http=GatewayHttpProtocol.with_limits(limits),
        ws=GatewayWebSocketProtocol,
        # Frames are small JSON; compressing each costs more CPU per frame than it saves
        # (measured +57% gateway CPU per frame in scripts/bench_token_fanout.py).
        ws_per_message_deflate=False,
        ws_max_size=settings.max_frame_bytes,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        log_config=None,
        access_log=settings.access_log,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=settings.keep_alive_timeout_s,
        # uvicorn counts the asking connection too; + 1 lets max_connections be open at once.
        limit_concurrency=settings.max_connections + 1 if settings.max_connections > 0 else None,
        lifespan="on",
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
