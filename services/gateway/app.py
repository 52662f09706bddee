"""The gateway's FastAPI app: REST, WebSocket, and the gRPC channel to the room service."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
from fastapi import FastAPI

from services.common.grpc_security import GrpcSecurity, open_channel
from services.common.grpc_server import channel_options
from services.common.pb.account_pb2_grpc import AccountServiceStub
from services.common.pb.llm_pb2_grpc import LlmServiceStub
from services.common.pb.room_pb2_grpc import RoomServiceStub
from services.common.pb.tts_pb2_grpc import TtsServiceStub
from services.gateway.config import GatewaySettings
from services.gateway.deps import Gateway
from services.gateway.errors import install_error_handlers
from services.gateway.limits import HttpLimits
from services.gateway.middleware import BodyLimit, SecurityHeaders
from services.gateway.routes import (
    admin,
    auth,
    health,
    invites,
    members,
    messages,
    models,
    rooms,
    session,
    speech,
    summary,
    tokens,
    voices,
    ws,
)
from services.gateway.routes.web import install_web_app
from services.gateway.schemas import ErrorOut
from services.gateway.ws.hub import GatewayHub
from services.gateway.ws.revocations import RevocationWatcher
from services.gateway.ws.sockets import SocketRegistry

logger = logging.getLogger(__name__)

# Unary calls that fail with UNAVAILABLE or CANCELLED (room service restarting) are retried
# transparently; every write is idempotent (sends carry a client_msg_id).
_SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [
                    {"service": "chimera.v1.RoomService"},
                    {"service": "chimera.v1.AccountService"},
                ],
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


def open_room_channel(address: str, security: GrpcSecurity) -> grpc.aio.Channel:
    """A channel to the room service with retries, size limits and the internal secret."""
    options = [
        *channel_options(),
        ("grpc.service_config", _SERVICE_CONFIG),
        ("grpc.enable_retries", 1),
    ]
    return open_channel(address, security, options)


class ChimeraApp(FastAPI):
    """FastAPI with the security headers outermost, so that even a 500 page carries them."""

    def build_middleware_stack(self):  # type: ignore[no-untyped-def]
        return SecurityHeaders(super().build_middleware_stack())

    def openapi(self) -> dict[str, Any]:
        """The schema without FastAPI's 422: invalid requests get 400 in the one error shape."""
        if self.openapi_schema is not None:
            return self.openapi_schema
        schema = super().openapi()
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                if isinstance(operation, dict):
                    operation.get("responses", {}).pop("422", None)
        components = schema.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        return schema


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """Build the gateway app; connections are opened in its lifespan."""
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        security = GrpcSecurity.from_settings(settings)
        channel = open_room_channel(settings.room_addr, security)
        stub = RoomServiceStub(channel)
        hub = GatewayHub(stub, call_timeout_s=settings.room_timeout_s)
        accounts = AccountServiceStub(channel)  # served by the room service process
        sockets = SocketRegistry(settings.ws_max_per_user)
        watcher = RevocationWatcher(
            accounts, sockets, gateway_id=hub.gateway_id, call_timeout_s=settings.room_timeout_s
        )
        llm_channel = open_channel(settings.llm_addr, security)
        tts_channel = open_channel(settings.tts_addr, security)
        app.state.gateway = Gateway(
            settings=settings,
            channel=channel,
            rooms=stub,
            accounts=accounts,
            hub=hub,
            sockets=sockets,
            limits=HttpLimits.create(
                settings.session_rate_per_min,
                settings.login_rate_per_min,
                settings.register_rate_per_min,
                settings.speech_rate_per_min,
            ),
            llm_channel=llm_channel,
            llm=LlmServiceStub(llm_channel),
            tts_channel=tts_channel,
            tts=TtsServiceStub(tts_channel),
        )
        watcher.start()
        logger.info("gateway ready", extra={"room_addr": settings.room_addr})
        try:
            yield
        finally:
            await watcher.close()
            await hub.close()
            await channel.close()
            await llm_channel.close()
            await tts_channel.close()

    app = ChimeraApp(
        title="Chimera",
        summary="Rooms where people and AI personas talk together in real time.",
        version="0.1.0",
        lifespan=lifespan,
        responses={
            400: {"model": ErrorOut},
            401: {"model": ErrorOut},
            403: {"model": ErrorOut},
            404: {"model": ErrorOut},
            413: {"model": ErrorOut},
            429: {"model": ErrorOut},
            503: {"model": ErrorOut},
        },
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    modules = (
        health,
        auth,
        session,
        tokens,
        rooms,
        members,
        invites,
        messages,
        speech,
        summary,
        models,
        voices,
    )
    for module in modules:
        app.include_router(module.router)
    app.include_router(admin.router)
    app.include_router(ws.router)

    install_web_app(app, settings.frontend_dir)  # last: it answers every other GET path

    return app
