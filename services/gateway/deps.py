"""Request dependencies: the gateway's shared state and the verified caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import grpc
from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from services.common.errors import Unauthenticated
from services.common.pb.llm_pb2_grpc import LlmServiceStub
from services.common.pb.room_pb2_grpc import RoomServiceStub
from services.gateway.auth import Identity, TokenSigner
from services.gateway.config import GatewaySettings
from services.gateway.ws.hub import GatewayHub


@dataclass
class Gateway:
    """Everything the routes share, built once in the app's lifespan."""

    settings: GatewaySettings
    signer: TokenSigner
    channel: grpc.aio.Channel
    rooms: RoomServiceStub
    hub: GatewayHub
    llm_channel: grpc.aio.Channel
    llm: LlmServiceStub


def get_gateway(connection: HTTPConnection) -> Gateway:
    """The gateway state (works for HTTP requests and WebSockets)."""
    gateway: Gateway = connection.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]

_bearer = HTTPBearer(auto_error=False, description="The token from POST /api/session.")


def authenticate(gateway: Gateway, token: str | None) -> Identity:
    """The one place a token becomes an identity, for REST routes and WebSocket frames alike."""
    if not token:
        raise Unauthenticated("Missing bearer token.")
    return gateway.signer.verify(token)


def current_user(
    gateway: GatewayDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Identity:
    """The caller, verified from `Authorization: Bearer <token>`."""
    return authenticate(gateway, credentials.credentials if credentials else None)


CurrentUser = Annotated[Identity, Depends(current_user)]
