"""The verified caller, and the web session's cookies (session + CSRF double submit)."""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Literal

from starlette.requests import HTTPConnection
from starlette.responses import Response

from services.common.errors import ChimeraError
from services.common.pb import account_pb2 as apb

SESSION_COOKIE = "chimera_session"
CSRF_COOKIE = "chimera_csrf"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The CSRF cookie's age, and the session cookie's when the session names no expiry; the session
# itself expires (and is revoked) server-side.
COOKIE_MAX_AGE_S = 30 * 24 * 3600

Via = Literal["cookie", "bearer"]


class CsrfFailed(ChimeraError):
    """A cookie-authenticated write without the matching `X-CSRF-Token` header (403)."""


@dataclass(frozen=True)
class Identity:
    """A verified account, as every route and frame handler receives it."""

    id: str
    name: str
    username: str = ""
    kind: Literal["user", "guest"] = "user"
    admin: bool = False
    credential_id: str = ""
    credential_kind: Literal["session", "api_token"] = "session"
    via: Via = "bearer"  # how it authenticated: a cookie needs CSRF protection on writes

    @property
    def guest(self) -> bool:
        return self.kind == "guest"


def identity(principal: apb.Principal, via: Via) -> Identity:
    """The identity a verified credential stands for."""
    account = principal.account
    return Identity(
        id=account.id,
        name=account.name,
        username=account.username,
        kind="guest" if account.kind == apb.ACCOUNT_KIND_GUEST else "user",
        admin=account.admin,
        credential_id=principal.credential_id,
        credential_kind="api_token"
        if principal.credential_kind == apb.Principal.CREDENTIAL_KIND_API_TOKEN
        else "session",
        via=via,
    )


def credential(connection: HTTPConnection) -> tuple[str | None, Via]:
    """The secret a request carries: a bearer token wins over the session cookie.

    An Authorization header that is not a bearer token counts as a (bad) credential, so that
    it is refused rather than silently ignored in favour of a cookie.
    """
    header = connection.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        return (token.strip() if scheme.lower() == "bearer" else ""), "bearer"
    return connection.cookies.get(SESSION_COOKIE), "cookie"


def csrf_ok(connection: HTTPConnection, method: str) -> bool:
    """Double submit: an unsafe cookie-authenticated request repeats the CSRF cookie in a header."""
    if method.upper() not in UNSAFE_METHODS:
        return True
    cookie = connection.cookies.get(CSRF_COOKIE, "")
    header = connection.headers.get(CSRF_HEADER, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), header.encode())


def is_secure(connection: HTTPConnection, always: bool) -> bool:
    """Whether cookies get `Secure`: https requests (proxy headers count), or when configured."""
    return always or connection.url.scheme in ("https", "wss")


def new_csrf_token() -> str:
    """A fresh CSRF token (random; the double submit needs no server-side state)."""
    return secrets.token_urlsafe(32)


def set_session_cookies(
    response: Response, token: str, *, secure: bool, expires_at_ms: int = 0
) -> str:
    """Set the httpOnly session cookie and a fresh, script-readable CSRF cookie; return the latter.

    The session cookie lives as long as the session (`expires_at_ms`; 0 = the default age).
    """
    csrf = new_csrf_token()
    max_age = COOKIE_MAX_AGE_S
    if expires_at_ms:
        max_age = max(0, int(expires_at_ms / 1000 - time.time()))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )
    set_csrf_cookie(response, csrf, secure=secure)
    return csrf


def set_csrf_cookie(response: Response, value: str, *, secure: bool) -> None:
    """The CSRF cookie: readable by the web app, which echoes it in `X-CSRF-Token`."""
    response.set_cookie(
        CSRF_COOKIE,
        value,
        max_age=COOKIE_MAX_AGE_S,
        path="/",
        secure=secure,
        httponly=False,
        samesite="lax",
    )


def clear_session_cookies(response: Response, *, secure: bool) -> None:
    """Expire both cookies."""
    for name, httponly in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(name, path="/", secure=secure, httponly=httponly, samesite="lax")
