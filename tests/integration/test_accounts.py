"""Accounts as a client sees them: register, sign in and out, who am I, cookies and CSRF, limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.support.client import (
    DATABASES,
    NO_LIMITS,
    PASSWORD,
    Api,
    auth,
    cookie_value,
    from_ip,
    make_admin,
    new_ip,
    poll_until,
    running_stack,
    session_cookie,
    set_cookies,
)
from tests.support.fixtures import api_fixture, error
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

LOGIN_FAILED = {"code": "unauthenticated", "message": "Invalid username or password."}


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=DATABASES)
async def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """One stack per database (accounts are stored); every test makes its own accounts."""
    workdir = tmp_path_factory.mktemp(f"accounts-{request.param}")
    async with running_stack(request.param, workdir, NO_LIMITS) as stack:
        yield stack


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def strict(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """Small login limits, a short lockout window and no guests (SQLite; nothing is stored)."""
    env = {
        "CHIMERA_LOGIN_RATE_PER_MIN": "60",  # per IP: 60 at once, then one a second
        "CHIMERA_LOGIN_MAX_FAILURES": "3",  # per username
        "CHIMERA_LOGIN_FAILURE_WINDOW_S": "5",
        "CHIMERA_ALLOW_GUESTS": "false",
        "CHIMERA_REGISTER_RATE_PER_MIN": "0",
    }
    async with running_stack("sqlite", tmp_path_factory.mktemp("strict"), env) as stack:
        yield stack


api = api_fixture()


# --- register, login, me -------------------------------------------------------------------


async def test_register_signs_in_with_a_token_and_a_session_cookie(api: Api) -> None:
    reply = await api.http.post(
        "/api/auth/register", json={"username": "Ana.Lima", "password": PASSWORD, "name": "Ana"}
    )
    assert reply.status_code == 201, reply.text
    user, token = reply.json()["user"], reply.json()["token"]
    assert user == {
        "id": user["id"],
        "name": "Ana",
        "username": "ana.lima",
        "kind": "user",
        "admin": False,
    }
    me = await api.http.get("/api/me", headers=auth(token))
    assert me.json() == user
    assert cookie_value(reply, "chimera_session") == token
    by_cookie = await api.http.get("/api/me", headers=session_cookie(token))
    assert by_cookie.json() == user


async def test_usernames_are_unique_whatever_their_case(api: Api) -> None:
    await api.register("bruno")
    reply = await api.http.post(
        "/api/auth/register", json={"username": "BRUNO", "password": PASSWORD}
    )
    assert error(reply, 409)["code"] == "already_exists"


@pytest.mark.parametrize(
    "body",
    [
        {"username": "ab", "password": PASSWORD},
        {"username": "x" * 33, "password": PASSWORD},
        {"username": "no spaces", "password": PASSWORD},
        {"username": "émile", "password": PASSWORD},
        {"username": "carla", "password": "short"},
        {"username": "carla", "password": "p" * 257},
        {"username": "carla"},
        {"username": 7, "password": PASSWORD},
    ],
    ids=["short", "long", "space", "accent", "short-pw", "long-pw", "no-pw", "not-a-string"],
)
async def test_a_bad_username_or_password_is_400_and_creates_nothing(
    api: Api, body: dict[str, Any]
) -> None:
    reply = await api.http.post("/api/auth/register", json=body)
    assert error(reply, 400)["code"] == "invalid_argument"
    if body.get("username") == "carla":
        assert (await api.login("carla")).status_code == 401


async def test_login_answers_a_new_session(api: Api) -> None:
    user, first = await api.register("dora")
    reply = await api.login("DORA")
    assert reply.status_code == 200, reply.text
    assert reply.json()["user"] == user
    second = reply.json()["token"]
    assert second != first
    assert cookie_value(reply, "chimera_session") == second
    for token in (first, second):  # sessions are independent
        assert (await api.http.get("/api/me", headers=auth(token))).status_code == 200


async def test_every_login_failure_reads_the_same(shared: Stack, api: Api) -> None:
    await api.register("edgar")
    _, admin_token = await api.register("edgar-admin")
    await make_admin(shared, "edgar-admin")
    disabled, _ = await api.register("fiona")
    reply = await api.http.patch(
        f"/api/admin/users/{disabled['id']}", json={"disabled": True}, headers=auth(admin_token)
    )
    assert reply.status_code == 200, reply.text
    failures = [
        await api.login("edgar", "wrong password"),
        await api.login("nobody-at-all", PASSWORD),
        await api.login("fiona", PASSWORD),  # right password, disabled account
        await api.login("", ""),
    ]
    assert [error(r, 401) for r in failures] == [LOGIN_FAILED] * 4


async def test_me_tells_a_guest_from_a_user(api: Api) -> None:
    guest, token = await api.session("Gil")
    me = await api.http.get("/api/me", headers=auth(token))
    assert me.json() == {**guest, "username": None, "kind": "guest", "admin": False}
    assert error(await api.http.get("/api/me"), 401)["code"] == "unauthenticated"


# --- cookies and CSRF ----------------------------------------------------------------------


async def test_the_session_cookie_is_httponly_lax_and_the_csrf_cookie_readable(api: Api) -> None:
    reply = await api.http.post("/api/session", json={"name": "Hana"})
    cookies = set_cookies(reply)
    session, csrf = cookies["chimera_session"], cookies["chimera_csrf"]
    for attribute in ("HttpOnly", "SameSite=lax", "Path=/"):
        assert attribute in session, session
    assert "HttpOnly" not in csrf and "SameSite=lax" in csrf
    assert "Secure" not in session and "Secure" not in csrf  # plain http


async def test_cookies_are_secure_when_the_proxy_says_https(api: Api) -> None:
    reply = await api.http.post(
        "/api/session", json={"name": "Ivo"}, headers={"X-Forwarded-Proto": "https"}
    )
    cookies = set_cookies(reply)
    assert "Secure" in cookies["chimera_session"] and "Secure" in cookies["chimera_csrf"]


async def test_cookie_writes_need_the_csrf_header_and_bearer_writes_do_not(api: Api) -> None:
    reply = await api.http.post(
        "/api/auth/register", json={"username": "jade", "password": PASSWORD}
    )
    token, csrf = reply.json()["token"], cookie_value(reply, "chimera_csrf")
    room = {"name": "Cookie room"}

    missing = await api.http.post("/api/rooms", json=room, headers=session_cookie(token, csrf))
    assert error(missing, 403)["code"] == "csrf_failed"
    wrong = await api.http.post(
        "/api/rooms", json=room, headers={**session_cookie(token, csrf), "X-CSRF-Token": "x" + csrf}
    )
    assert error(wrong, 403)["code"] == "csrf_failed"
    no_cookie = await api.http.post(
        "/api/rooms", json=room, headers={**session_cookie(token), "X-CSRF-Token": csrf}
    )
    assert error(no_cookie, 403)["code"] == "csrf_failed"
    ok = await api.http.post(
        "/api/rooms", json=room, headers={**session_cookie(token, csrf), "X-CSRF-Token": csrf}
    )
    assert ok.status_code == 201, ok.text

    assert (await api.http.get("/api/rooms", headers=session_cookie(token))).status_code == 200
    bearer = await api.http.post("/api/rooms", json=room, headers=auth(token))
    assert bearer.status_code == 201
    both = await api.http.post(  # the bearer token is used: no CSRF token needed
        "/api/rooms", json=room, headers={**auth(token), **session_cookie("stale-session")}
    )
    assert both.status_code == 201
    rooms = (await api.http.get("/api/rooms", headers=auth(token))).json()["rooms"]
    assert [r["name"] for r in rooms].count("Cookie room") == 3


async def test_logout_ends_the_session_and_clears_the_cookies(api: Api) -> None:
    reply = await api.http.post(
        "/api/auth/register", json={"username": "kai", "password": PASSWORD}
    )
    token, csrf = reply.json()["token"], cookie_value(reply, "chimera_csrf")
    other = (await api.login("kai")).json()["token"]

    refused = await api.http.post("/api/auth/logout", headers=session_cookie(token, csrf))
    assert error(refused, 403)["code"] == "csrf_failed"
    out = await api.http.post(
        "/api/auth/logout", headers={**session_cookie(token, csrf), "X-CSRF-Token": csrf}
    )
    assert out.status_code == 204
    cleared = set_cookies(out)
    assert "Max-Age=0" in cleared["chimera_session"] and "Max-Age=0" in cleared["chimera_csrf"]
    assert (await api.http.get("/api/me", headers=session_cookie(token))).status_code == 401
    assert (await api.http.get("/api/me", headers=auth(token))).status_code == 401
    assert (await api.http.get("/api/me", headers=auth(other))).status_code == 200  # other session
    assert (await api.http.post("/api/auth/logout", headers=auth(other))).status_code == 204
    assert (await api.http.get("/api/me", headers=auth(other))).status_code == 401


async def test_logout_with_an_api_token_leaves_the_token_alone(api: Api) -> None:
    _, session = await api.register()
    token = (await api.create_token(session))["token"]
    assert (await api.http.post("/api/auth/logout", headers=auth(token))).status_code == 204
    assert (await api.http.get("/api/me", headers=auth(token))).status_code == 200


# --- limits and guests ---------------------------------------------------------------------


async def test_login_is_limited_per_ip_with_retry_after_and_resets(strict: Stack) -> None:
    ip = new_ip()
    api = Api(strict.base_url(), headers=from_ip(ip))
    elsewhere = Api(strict.base_url(), headers=from_ip(new_ip()))
    try:
        await api.register("lena")
        # Malformed attempts count too, and cost the server nothing to refuse.
        answers = [await api.http.post("/api/auth/login", json={}) for _ in range(60)]
        assert {r.status_code for r in answers} == {400}
        # A second may have passed and given a token back: that attempt goes through and spends
        # it, and the next one is refused.
        refused = await api.login("lena")
        for _ in range(60):
            if refused.status_code != 200:
                break
            refused = await api.login("lena")
        assert error(refused, 429) == {
            "code": "rate_limited",
            "message": "Too many requests; slow down.",
        }
        assert int(refused.headers["retry-after"]) >= 1
        assert (await elsewhere.login("lena")).status_code == 200  # another address

        async def allowed() -> bool:
            return (await api.login("lena")).status_code == 200

        await poll_until(allowed)  # one attempt a second comes back
    finally:
        await api.close()
        await elsewhere.close()


async def test_failed_logins_lock_the_username_from_that_address_then_reset(
    strict: Stack,
) -> None:
    api = Api(strict.base_url(), headers=from_ip(new_ip()))
    try:
        await api.register("milo")
        for _ in range(3):
            assert error(await api.login("milo", "not the password"), 401) == LOGIN_FAILED
        locked = await api.http.post(
            "/api/auth/login",
            json={"username": "MILO", "password": PASSWORD},  # even the right password
        )
        refusal = error(locked, 429)
        assert refusal["code"] == "rate_limited"
        assert "Too many failed sign-ins" in refusal["message"]
        assert int(locked.headers["retry-after"]) >= 1
        # Another address is not held back by this one's guesses (the owner is not locked out).
        elsewhere = await api.http.post(
            "/api/auth/login",
            json={"username": "milo", "password": PASSWORD},
            headers=from_ip(new_ip()),
        )
        assert elsewhere.status_code == 200
        assert (await api.login("someone-else-entirely")).status_code == 401  # not locked

        async def allowed() -> bool:
            return (await api.login("milo")).status_code == 200

        await poll_until(allowed)  # the window slides past the failures
    finally:
        await api.close()


async def test_guests_are_refused_where_the_server_allows_none(strict: Stack) -> None:
    api = Api(strict.base_url(), headers=from_ip(new_ip()))
    try:
        reply = await api.http.post("/api/session", json={"name": "Nina"})
        assert error(reply, 403) == {
            "code": "permission_denied",
            "message": "Guests are not allowed on this server.",
        }
        assert "set-cookie" not in reply.headers
        await api.register("nina")  # accounts still work
    finally:
        await api.close()
