"""Request dependencies: the gateway's shared state and the verified caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import grpc
from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from services.common.errors import PermissionDenied, Unauthenticated, is_safe
from services.common.pb import account_pb2 as apb
from services.common.pb import room_pb2 as pb
from services.common.pb.account_pb2_grpc import AccountServiceStub
from services.common.pb.llm_pb2_grpc import LlmServiceStub
from services.common.pb.room_pb2_grpc import RoomServiceStub
from services.common.pb.tts_pb2_grpc import TtsServiceStub
from services.gateway.auth import (
    SESSION_COOKIE,
    CsrfFailed,
    Identity,
    Via,
    credential,
    csrf_ok,
    identity,
)
from services.gateway.config import GatewaySettings
from services.gateway.limits import HttpLimits
from services.gateway.ws.hub import GatewayHub
from services.gateway.ws.sockets import SocketRegistry

INVALID_CREDENTIALS = "Invalid or expired credentials."
MISSING_CREDENTIALS = "Sign in: send a bearer token or the session cookie."
MAX_TOKEN_CHARS = 4096


@dataclass
class Gateway:
    """Everything the routes share, built once in the app's lifespan."""

    settings: GatewaySettings
    channel: grpc.aio.Channel
    rooms: RoomServiceStub
    accounts: AccountServiceStub
    hub: GatewayHub
    sockets: SocketRegistry
    limits: HttpLimits
    llm_channel: grpc.aio.Channel
    llm: LlmServiceStub
    tts_channel: grpc.aio.Channel
    tts: TtsServiceStub

    @property
    def timeout(self) -> float:
        """Deadline of unary calls to the room service."""
        return self.settings.room_timeout_s


def get_gateway(connection: HTTPConnection) -> Gateway:
    """The gateway state (works for HTTP requests and WebSockets)."""
    gateway: Gateway = connection.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]

# Declared for the OpenAPI page; the credential itself is read by `credential()`.
_bearer = HTTPBearer(auto_error=False, description="A session token or a personal API token.")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="The web session.")


async def authenticate(gateway: Gateway, token: str | None, via: Via) -> Identity:
    """The one place a credential becomes an identity, for REST routes and WebSockets alike."""
    if not token:
        raise Unauthenticated(MISSING_CREDENTIALS)
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthenticated(INVALID_CREDENTIALS)
    try:
        principal = await gateway.accounts.Authenticate(
            apb.AuthenticateRequest(token=token), timeout=gateway.timeout
        )
    except grpc.aio.AioRpcError as exc:
        if exc.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.INVALID_ARGUMENT):
            # The room service's own words (e.g. guests switched off), never the transport's.
            message = exc.details() if is_safe(exc) and exc.details() else INVALID_CREDENTIALS
            raise Unauthenticated(message) from None
        raise
    return identity(principal, via)


async def current_user(
    request: Request,
    gateway: GatewayDep,
    _b: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _c: Annotated[str | None, Depends(_cookie)],
) -> Identity:
    """The caller, from `Authorization: Bearer` or the session cookie (then CSRF-checked)."""
    token, via = credential(request)
    user = await authenticate(gateway, token, via)
    if via == "cookie" and not csrf_ok(request, request.method):
        raise CsrfFailed(
            "Missing or wrong X-CSRF-Token header (it must repeat the chimera_csrf cookie)."
        )
    return user


CurrentUser = Annotated[Identity, Depends(current_user)]


def registered_user(user: CurrentUser) -> Identity:
    """The caller, who must have an account (not a guest)."""
    if user.guest:
        raise PermissionDenied("Guests cannot do this; create an account.")
    return user


RegisteredUser = Annotated[Identity, Depends(registered_user)]


def admin_user(user: CurrentUser) -> Identity:
    """The caller, who must be an admin."""
    if not user.admin:
        raise PermissionDenied("Admins only.")
    return user


AdminUser = Annotated[Identity, Depends(admin_user)]


def actor(user: Identity) -> pb.User:
    """The caller as the room service knows it."""
    return pb.User(id=user.id, name=user.name)


def client_ip(connection: HTTPConnection) -> str:
    """The peer's address (behind a proxy: set uvicorn's forwarded-allow-ips to trust it)."""
    return connection.client.host if connection.client else "unknown"


def per_ip(limit: str) -> Any:
    """A route dependency counting the request against the per-IP limiter `limit`."""

    def check(request: Request, gateway: GatewayDep) -> None:
        limiter = getattr(gateway.limits, limit)
        limiter.hit(client_ip(request))

    check.__name__ = f"per_ip_{limit}"
    return Depends(check)
