"""Personal API tokens and sessions: shown once, revoked at once, and every way one stops working.

Two gateways: a credential ended through one closes its sockets on the other too (the room
service's revocation feed), and through the same one at once.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
import pytest_asyncio

from tests.support.client import (
    NO_LIMITS,
    WAIT_S,
    Api,
    Member,
    auth,
    expire,
    make_admin,
    running_stack,
    session_cookie,
)
from tests.support.fixtures import (
    api_fixture,
    connected,
    hello_close_code,
    members_fixture,
)
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

INVALID = {"code": "unauthenticated", "message": "Invalid or expired credentials."}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """One stack with two gateways for the module; every test makes its own accounts."""
    async with running_stack("sqlite", tmp_path_factory.mktemp("tokens"), NO_LIMITS, 2) as stack:
        yield stack


api = api_fixture()
members = members_fixture()


async def rejected(api: Api, token: str) -> None:
    """`token` is refused like any bad credential, on a read and on a write."""
    for reply in (
        await api.http.get("/api/me", headers=auth(token)),
        await api.http.post("/api/rooms", json={"name": "x"}, headers=auth(token)),
    ):
        assert reply.status_code == 401, reply.text
        assert reply.json() == {"error": INVALID}


# --- API tokens ----------------------------------------------------------------------------


async def test_a_token_is_shown_once_and_listed_without_its_secret(api: Api) -> None:
    user, session = await api.register()
    created = await api.create_token(session, "laptop cli", expires_in_days=30)
    assert set(created) == {"id", "token", "name", "created_at", "expires_at"}
    assert created["token"].startswith("chm_") and len(created["token"]) > 40
    assert created["name"] == "laptop cli"
    expires = datetime.fromisoformat(created["expires_at"])
    created_at = datetime.fromisoformat(created["created_at"])
    assert 29 <= (expires - created_at).days <= 30
    forever = await api.create_token(session, "ci")
    assert forever["expires_at"] is None

    me = await api.http.get("/api/me", headers=auth(created["token"]))
    assert me.json()["id"] == user["id"]
    listed = (await api.http.get("/api/tokens", headers=auth(created["token"]))).json()
    by_id = {t["id"]: t for t in listed["tokens"]}
    assert set(by_id) == {created["id"], forever["id"]}
    assert "token" not in by_id[created["id"]]
    assert created["token"] not in json.dumps(listed)
    assert by_id[created["id"]]["last_used_at"] is not None  # used just now
    assert by_id[forever["id"]]["last_used_at"] is None


@pytest.mark.parametrize(
    "body", [{"name": ""}, {"name": "x" * 65}, {"name": "t", "expires_in_days": 0}, {}]
)
async def test_a_bad_token_request_is_400(api: Api, body: dict[str, Any]) -> None:
    _, session = await api.register()
    reply = await api.http.post("/api/tokens", json=body, headers=auth(session))
    assert reply.status_code == 400, reply.text


async def test_guests_cannot_have_tokens(api: Api) -> None:
    _, guest = await api.session("Gus")
    for reply in (
        await api.http.post("/api/tokens", json={"name": "x"}, headers=auth(guest)),
        await api.http.get("/api/tokens", headers=auth(guest)),
    ):
        assert reply.status_code == 403
        assert reply.json()["error"]["code"] == "permission_denied"


async def test_only_the_owner_revokes_a_token(api: Api) -> None:
    _, ana = await api.register()
    _, ben = await api.register()
    token = await api.create_token(ana)
    reply = await api.http.delete(f"/api/tokens/{token['id']}", headers=auth(ben))
    assert reply.status_code == 404
    assert (await api.http.get("/api/me", headers=auth(token["token"]))).status_code == 200


@pytest.mark.parametrize("gateway", [0, 1], ids=["same-gateway", "other-gateway"])
async def test_revoking_a_token_refuses_it_and_closes_its_sockets_1008(
    shared: Stack, api: Api, members: list[Member], gateway: int
) -> None:
    _, session = await api.register()
    token = await api.create_token(session)
    room = await api.create_room(session)
    socket = await connected(shared, room["id"], token["token"], members, gateway)
    by_session = await connected(shared, room["id"], session, members, gateway)

    reply = await api.http.delete(f"/api/tokens/{token['id']}", headers=auth(session))
    assert reply.status_code == 204
    assert await socket.wait_closed() == 1008
    await rejected(api, token["token"])
    assert await hello_close_code(shared, room["id"], token["token"]) == 4401
    # The session that revoked it is untouched.
    await by_session.send({"type": "ping"})
    await by_session.wait_for(lambda f: f["type"] == "pong")
    tokens = (await api.http.get("/api/tokens", headers=auth(session))).json()["tokens"]
    assert token["id"] not in [t["id"] for t in tokens]
    again = await api.http.delete(f"/api/tokens/{token['id']}", headers=auth(session))
    assert again.status_code == 404


async def test_an_expired_token_is_refused(shared: Stack, api: Api) -> None:
    _, session = await api.register()
    room = await api.create_room(session)
    token = await api.create_token(session, expires_in_days=1)
    assert (await api.http.get("/api/me", headers=auth(token["token"]))).status_code == 200
    await expire(shared, "credentials", token["id"])
    await rejected(api, token["token"])
    assert await hello_close_code(shared, room["id"], token["token"]) == 4401


def tampered(token: str) -> str:
    """One character changed in the middle."""
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


async def test_tampered_and_unknown_tokens_are_refused(shared: Stack, api: Api) -> None:
    _, session = await api.register()
    room = await api.create_room(session)
    token = (await api.create_token(session))["token"]
    # A token of the right shape that this server never issued (e.g. another server's).
    for bad in (tampered(token), tampered(session), "chm_" + secrets.token_urlsafe(32)):
        await rejected(api, bad)
        assert await hello_close_code(shared, room["id"], bad) == 4401
    assert (await api.http.get("/api/me", headers=auth(token))).status_code == 200


# --- sessions ------------------------------------------------------------------------------


@pytest.mark.parametrize("gateway", [0, 1], ids=["same-gateway", "other-gateway"])
async def test_logging_out_closes_that_sessions_sockets_1008(
    shared: Stack, api: Api, members: list[Member], gateway: int
) -> None:
    user, session = await api.register()
    other = (await api.login(user["username"])).json()["token"]
    room = await api.create_room(session)
    by_cookie = await connected(
        shared, room["id"], None, members, gateway, headers=session_cookie(session)
    )
    by_token = await connected(shared, room["id"], session, members, gateway)
    other_session = await connected(shared, room["id"], other, members, gateway)

    assert (await api.http.post("/api/auth/logout", headers=auth(session))).status_code == 204
    assert await by_cookie.wait_closed() == 1008
    assert await by_token.wait_closed() == 1008
    await rejected(api, session)
    # Another session of the same account stays signed in.
    await other_session.send({"type": "ping"})
    await other_session.wait_for(lambda f: f["type"] == "pong")
    assert other_session.close_code is None


async def test_disabling_an_account_refuses_every_credential_and_closes_its_sockets(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    admin, admin_token = await api.register()
    await make_admin(shared, admin["username"])
    user, session = await api.register()
    token = (await api.create_token(session))["token"]
    room = await api.create_room(session)
    sockets = [
        await connected(shared, room["id"], session, members, 0),
        await connected(shared, room["id"], token, members, 1),
    ]

    reply = await api.http.patch(
        f"/api/admin/users/{user['id']}", json={"disabled": True}, headers=auth(admin_token)
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["disabled"] is True
    for socket in sockets:
        assert await socket.wait_closed(WAIT_S) == 1008
    await rejected(api, session)
    await rejected(api, token)
    login = await api.login(user["username"])
    assert login.status_code == 401
    assert login.json()["error"]["message"] == "Invalid username or password."
