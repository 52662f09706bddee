"""Which credential a request carries, the CSRF double submit, and the session cookies."""

from __future__ import annotations

import time
from http.cookies import SimpleCookie

import pytest
from starlette.requests import Request
from starlette.responses import Response

from services.common.pb import account_pb2 as apb
from services.gateway.auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    clear_session_cookies,
    credential,
    csrf_ok,
    identity,
    is_secure,
    set_session_cookies,
)

pytestmark = pytest.mark.unit


def request(headers: dict[str, str] | None = None, scheme: str = "http") -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": raw,
            "scheme": scheme,
            "server": ("testserver", 80),
            "query_string": b"",
        }
    )


def cookies(response: Response) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for name, value in response.raw_headers:
        if name == b"set-cookie":
            jar.load(value.decode())
    return jar


def test_a_bearer_token_wins_over_the_cookie() -> None:
    both = request({"Authorization": "Bearer abc", "Cookie": f"{SESSION_COOKIE}=xyz"})
    assert credential(both) == ("abc", "bearer")
    assert credential(request({"Cookie": f"{SESSION_COOKIE}=xyz"})) == ("xyz", "cookie")
    assert credential(request()) == (None, "cookie")


def test_an_authorization_header_that_is_not_bearer_is_a_bad_credential_not_the_cookie() -> None:
    basic = request({"Authorization": "Basic YTpi", "Cookie": f"{SESSION_COOKIE}=xyz"})
    assert credential(basic) == ("", "bearer")


@pytest.mark.parametrize(
    ("method", "headers", "ok"),
    [
        ("GET", {}, True),
        ("HEAD", {}, True),
        ("POST", {"Cookie": f"{CSRF_COOKIE}=t1", "X-CSRF-Token": "t1"}, True),
        ("DELETE", {"Cookie": f"{CSRF_COOKIE}=t1", "X-CSRF-Token": "t1"}, True),
        ("POST", {"Cookie": f"{CSRF_COOKIE}=t1"}, False),
        ("PATCH", {"Cookie": f"{CSRF_COOKIE}=t1", "X-CSRF-Token": "t2"}, False),
        ("PUT", {"X-CSRF-Token": "t1"}, False),
        ("POST", {"Cookie": f"{CSRF_COOKIE}=", "X-CSRF-Token": ""}, False),
    ],
)
def test_unsafe_methods_must_repeat_the_csrf_cookie_in_a_header(
    method: str, headers: dict[str, str], ok: bool
) -> None:
    assert csrf_ok(request(headers), method) is ok


@pytest.mark.parametrize("secure", [False, True])
def test_session_cookies_are_httponly_lax_and_secure_when_asked(secure: bool) -> None:
    response = Response()
    csrf = set_session_cookies(response, "secret-token", secure=secure)
    jar = cookies(response)
    session, csrf_cookie = jar[SESSION_COOKIE], jar[CSRF_COOKIE]
    assert session.value == "secret-token" and csrf_cookie.value == csrf and len(csrf) >= 32
    assert session["httponly"] is True and not csrf_cookie["httponly"]
    for cookie in (session, csrf_cookie):
        assert cookie["samesite"] == "lax" and cookie["path"] == "/"
        assert bool(cookie["secure"]) is secure


def test_the_session_cookie_lives_as_long_as_the_session() -> None:
    response = Response()
    in_a_day = int((time.time() + 86_400) * 1000)
    set_session_cookies(response, "secret-token", secure=False, expires_at_ms=in_a_day)
    age = int(cookies(response)[SESSION_COOKIE]["max-age"])
    assert 86_000 < age <= 86_400  # a day, not the 30-day default


def test_clearing_expires_both_cookies() -> None:
    response = Response()
    clear_session_cookies(response, secure=False)
    jar = cookies(response)
    assert jar[SESSION_COOKIE]["max-age"] == "0" and jar[CSRF_COOKIE]["max-age"] == "0"


def test_https_requests_or_the_setting_make_cookies_secure() -> None:
    assert is_secure(request(scheme="https"), always=False)
    assert not is_secure(request(scheme="http"), always=False)
    assert is_secure(request(scheme="http"), always=True)


def test_a_principal_becomes_an_identity() -> None:
    principal = apb.Principal(
        account=apb.Account(id="a1", name="Ana", username="ana", kind=apb.ACCOUNT_KIND_GUEST),
        credential_id="c1",
        credential_kind=apb.Principal.CREDENTIAL_KIND_API_TOKEN,
    )
    user = identity(principal, "bearer")
    assert (user.id, user.name, user.guest, user.credential_id) == ("a1", "Ana", True, "c1")
    assert user.credential_kind == "api_token" and user.via == "bearer" and not user.admin
