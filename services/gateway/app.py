"""The gateway's FastAPI app: REST, WebSocket, and the gRPC channel to the room service."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
from fastapi import FastAPI

from services.common.grpc_server import channel_options
from services.common.pb.llm_pb2_grpc import LlmServiceStub
from services.common.pb.room_pb2_grpc import RoomServiceStub
from services.gateway.auth import TokenSigner, load_or_create_secret
from services.gateway.config import GatewaySettings
from services.gateway.deps import Gateway
from services.gateway.errors import install_error_handlers
from services.gateway.routes import health, messages, models, rooms, session, summary, ws
from services.gateway.routes.web import install_web_app
from services.gateway.schemas import ErrorOut
from services.gateway.ws.hub import GatewayHub

logger = logging.getLogger(__name__)

# Unary calls that fail with UNAVAILABLE or CANCELLED (room service restarting) are retried
# transparently; every write is idempotent (sends carry a client_msg_id).
_SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{"service": "chimera.v1.RoomService"}],
                "retryPolicy": {
                    "maxAttempts": 5,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "1s",
                    "backoffMultiplier": 2,
                    # CANCELLED: a call that raced the room service's graceful stop.
                    "retryableStatusCodes": ["UNAVAILABLE", "CANCELLED"],
                },
            }
        ]
    }
)


def open_room_channel(address: str) -> grpc.aio.Channel:
    """An insecure channel to the room service with retries and size limits."""
    options = [
        *channel_options(),
        ("grpc.service_config", _SERVICE_CONFIG),
        ("grpc.enable_retries", 1),
    ]
    return grpc.aio.insecure_channel(address, options=options)


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """Build the gateway app; connections are opened in its lifespan."""
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        secret = settings.secret.get_secret_value().encode() if settings.secret else None
        signer = TokenSigner(
            secret or load_or_create_secret(settings.data_dir), settings.token_ttl_s
        )
        channel = open_room_channel(settings.room_addr)
        stub = RoomServiceStub(channel)
        hub = GatewayHub(stub, call_timeout_s=settings.room_timeout_s)
        llm_channel = grpc.aio.insecure_channel(settings.llm_addr, options=channel_options())
        app.state.gateway = Gateway(
            settings=settings,
            signer=signer,
            channel=channel,
            rooms=stub,
            hub=hub,
            llm_channel=llm_channel,
            llm=LlmServiceStub(llm_channel),
        )
        logger.info("gateway ready", extra={"room_addr": settings.room_addr})
        try:
            yield
        finally:
            await hub.close()
            await channel.close()
            await llm_channel.close()

    app = FastAPI(
        title="Chimera",
        summary="Rooms where people and AI personas talk together in real time.",
        version="0.1.0",
        lifespan=lifespan,
        responses={
            400: {"model": ErrorOut},
            401: {"model": ErrorOut},
            404: {"model": ErrorOut},
            503: {"model": ErrorOut},
        },
    )
    install_error_handlers(app)
    for module in (health, session, rooms, messages, models, summary, ws):
        app.include_router(module.router)

    install_web_app(app, settings.frontend_dir)  # last: it answers every other GET path

    return app
