"""Accounts: register, sign in and out, and who am I."""

from __future__ import annotations

from typing import Any

import grpc
from fastapi import APIRouter, Request, Response

from services.common.errors import Unauthenticated
from services.common.grpc_security import CLIENT_ADDR_KEY
from services.common.pb import account_pb2 as apb
from services.gateway.auth import (
    CSRF_COOKIE,
    Identity,
    clear_session_cookies,
    credential,
    is_secure,
    new_csrf_token,
    set_csrf_cookie,
    set_session_cookies,
)
from services.gateway.convert import account_json
from services.gateway.deps import CurrentUser, Gateway, GatewayDep, client_ip, per_ip
from services.gateway.errors import rate_limited
from services.gateway.schemas import LoginIn, MeOut, RegisterIn, SessionOut
from services.gateway.ws.protocol import CLOSE_POLICY

router = APIRouter(prefix="/api", tags=["accounts"])

LOGIN_FAILED = "Invalid username or password."
LOGGED_OUT = "Signed out."
LOCKED = "Too many failed sign-ins for this account; try again later."


def start_session(
    grant: apb.SessionGrant, request: Request, response: Response, gateway: Gateway
) -> dict[str, Any]:
    """The body of a new session, with its cookies set on `response`."""
    secure = is_secure(request, gateway.settings.cookie_secure)
    set_session_cookies(
        response, grant.token, secure=secure, expires_at_ms=grant.principal.expires_at_ms
    )
    return {"user": account_json(grant.principal.account), "token": grant.token}


def client_addr(request: Request) -> tuple[tuple[str, str], ...]:
    """Call metadata naming the client's address: the room service counts sign-ins by it."""
    return ((CLIENT_ADDR_KEY, client_ip(request)),)


@router.post(
    "/auth/register",
    status_code=201,
    response_model=SessionOut,
    dependencies=[per_ip("register")],
    responses={409: {"description": "The username is taken."}, 429: {"description": "Slow down."}},
)
async def register(
    body: RegisterIn, request: Request, response: Response, gateway: GatewayDep
) -> dict[str, Any]:
    """Create an account and sign in (the web session cookie is set too)."""
    grant = await gateway.accounts.Register(
        apb.RegisterRequest(username=body.username, password=body.password, name=body.name or ""),
        timeout=gateway.timeout,
        metadata=client_addr(request),
    )
    return start_session(grant, request, response, gateway)


@router.post(
    "/auth/login",
    response_model=SessionOut,
    dependencies=[per_ip("login")],
    responses={
        429: {"description": "Too many attempts from this address, or for this username from it."}
    },
)
async def login(
    body: LoginIn, request: Request, response: Response, gateway: GatewayDep
) -> dict[str, Any]:
    """Sign in with a username and password; every failure reads the same."""
    try:
        grant = await gateway.accounts.Login(
            apb.LoginRequest(username=body.username, password=body.password),
            timeout=gateway.timeout,
            metadata=client_addr(request),
        )
    except grpc.aio.AioRpcError as exc:
        if exc.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.INVALID_ARGUMENT):
            raise Unauthenticated(LOGIN_FAILED) from None
        if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:  # locked for now, from here
            raise rate_limited(exc, LOCKED) from None
        raise
    return start_session(grant, request, response, gateway)


@router.post("/auth/logout", status_code=204)
async def logout(user: CurrentUser, request: Request, gateway: GatewayDep) -> Response:
    """End this session (cookie or bearer session token); its sockets close at once (1008).

    A personal API token is not ended here: revoke it with `DELETE /api/tokens/{id}`.
    """
    if user.credential_kind == "session":
        token, _ = credential(request)
        await gateway.accounts.Logout(apb.LogoutRequest(token=token or ""), timeout=gateway.timeout)
        gateway.sockets.close_credential(user.credential_id, CLOSE_POLICY, LOGGED_OUT)
    response = Response(status_code=204)
    clear_session_cookies(response, secure=is_secure(request, gateway.settings.cookie_secure))
    return response


@router.get("/me", response_model=MeOut)
async def me(
    user: CurrentUser, request: Request, response: Response, gateway: GatewayDep
) -> dict[str, Any]:
    """The signed-in account."""
    if user.via == "cookie" and not request.cookies.get(CSRF_COOKIE):
        # A browser that lost its CSRF cookie gets a new one instead of failing every write.
        secure = is_secure(request, gateway.settings.cookie_secure)
        set_csrf_cookie(response, new_csrf_token(), secure=secure)
    return me_json(user)


def me_json(user: Identity) -> dict[str, Any]:
    """The account as `GET /api/me` shows it."""
    return {
        "id": user.id,
        "name": user.name,
        "username": user.username or None,
        "kind": user.kind,
        "admin": user.admin,
    }
