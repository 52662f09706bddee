"""Accounts and rooms under abuse: sign-in guessing cannot lock the owner out, guests switched
off stay off, posting is rate-limited on every path, and a removal from an open room holds."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.support.client import (
    DATABASES,
    NO_LIMITS,
    PASSWORD,
    Api,
    Member,
    auth,
    from_ip,
    new_ip,
    poll_until,
    running_stack,
    session_cookie,
)
from tests.support.fixtures import api_fixture, connected, error, hello_close_code, members_fixture
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

PAIR_FAILURES = 3  # wrong passwords per (username, address) before that pair waits
ACCOUNT_FAILURES = 6  # per username from every address: then only known addresses may try
POST_BURST = 5  # messages one account may post to one room at once (then one a second)
GUESTS_OFF = {"code": "unauthenticated", "message": "Guests are not allowed on this server."}
REMOVED = "You were removed from this room; an owner can invite you back."


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=DATABASES)
async def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    env = {
        **NO_LIMITS,
        "CHIMERA_LOGIN_MAX_FAILURES": str(PAIR_FAILURES),
        "CHIMERA_LOGIN_ACCOUNT_MAX_FAILURES": str(ACCOUNT_FAILURES),
        "CHIMERA_LOGIN_FAILURE_WINDOW_S": "600",
        "CHIMERA_POST_RATE": "1",
        "CHIMERA_POST_BURST": str(POST_BURST),
    }
    workdir = tmp_path_factory.mktemp(f"hardening-{request.param}")
    async with running_stack(request.param, workdir, env) as stack:
        yield stack


api = api_fixture()
members = members_fixture()


async def login_from(stack: Stack, address: str, username: str, password: str = PASSWORD) -> int:
    client = Api(stack.base_url(), headers=from_ip(address))
    try:
        return (await client.login(username, password)).status_code
    finally:
        await client.close()


# --- sign-in guessing ----------------------------------------------------------------------


async def test_guessing_from_one_address_does_not_lock_the_owner_out_elsewhere(
    shared: Stack,
) -> None:
    owner = Api(shared.base_url(), headers=from_ip(new_ip()))
    attacker = Api(shared.base_url(), headers=from_ip(new_ip()))
    try:
        user, _ = await owner.register()
        for _ in range(PAIR_FAILURES):
            assert (await attacker.login(user["username"], "not the password")).status_code == 401
        refused = await attacker.login(user["username"])  # even the right password, from there
        assert error(refused, 429)["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1

        assert (await owner.login(user["username"])).status_code == 200
        assert await login_from(shared, new_ip(), user["username"]) == 200  # a new address too
    finally:
        await owner.close()
        await attacker.close()


async def test_guessing_from_many_addresses_refuses_only_addresses_the_account_never_used(
    shared: Stack,
) -> None:
    owner = Api(shared.base_url(), headers=from_ip(new_ip()))
    try:
        user, _ = await owner.register()  # signing up counts as signing in from there
        for _ in range(ACCOUNT_FAILURES):  # one guess from each address: none reaches its limit
            assert await login_from(shared, new_ip(), user["username"], "guess") == 401
        stranger = Api(shared.base_url(), headers=from_ip(new_ip()))
        try:
            refused = await stranger.login(user["username"])
            assert error(refused, 429)["code"] == "rate_limited"
            assert int(refused.headers["retry-after"]) >= 1
        finally:
            await stranger.close()
        assert (await owner.login(user["username"])).status_code == 200
    finally:
        await owner.close()


# --- posting limits ------------------------------------------------------------------------


async def test_posting_is_limited_per_account_per_room_over_rest_and_websocket(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    _, owner_token = await api.register()
    _, other_token = await api.register()
    room = await api.create_room(owner_token, "Busy")
    elsewhere = await api.create_room(owner_token, "Quiet")
    path = f"/api/rooms/{room['id']}/messages"
    for i in range(POST_BURST):
        posted = await api.http.post(path, json={"content": f"m{i}"}, headers=auth(owner_token))
        assert posted.status_code == 201, posted.text
    refused = await api.http.post(path, json={"content": "one too many"}, headers=auth(owner_token))
    assert error(refused, 429)["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1
    socket = await connected(shared, room["id"], owner_token, members)
    await socket.send({"type": "send", "content": "by socket", "client_msg_id": "ws-1"})
    frame = await socket.wait_for(lambda f: f["type"] in ("error", "ack"))
    assert (frame["type"], frame["code"], frame["client_msg_id"]) == (
        "error",
        "rate_limited",
        "ws-1",
    )
    # Others in the room, and the same account in another room, are not held back.
    other = await api.http.post(path, json={"content": "hi"}, headers=auth(other_token))
    assert other.status_code == 201, other.text
    quiet = f"/api/rooms/{elsewhere['id']}/messages"
    assert (
        await api.http.post(quiet, json={"content": "hi"}, headers=auth(owner_token))
    ).is_success

    async def allowed() -> bool:
        reply = await api.http.post(path, json={"content": "later"}, headers=auth(owner_token))
        return reply.status_code == 201

    await poll_until(allowed)  # one a second comes back
    stored = [m["content"] for m in await api.all_messages(owner_token, room["id"])]
    assert "one too many" not in stored and "by socket" not in stored


# --- removal from an open room -------------------------------------------------------------


async def test_a_member_removed_from_an_open_room_stays_out_until_invited_back(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    _, owner_token = await api.register()
    ana, ana_token = await api.register()
    ben, ben_token = await api.register()
    room = await api.create_room(owner_token, "Open house")
    path = f"/api/rooms/{room['id']}/messages"
    for token in (ana_token, ben_token):
        assert (await api.http.post(path, json={"content": "hi"}, headers=auth(token))).is_success

    removed = await api.http.delete(
        f"/api/rooms/{room['id']}/members/{ana['id']}", headers=auth(owner_token)
    )
    assert removed.status_code == 204
    again = await api.http.post(path, json={"content": "back!"}, headers=auth(ana_token))
    assert error(again, 403) == {"code": "permission_denied", "message": REMOVED}
    assert await hello_close_code(shared, room["id"], ana_token) == 4403
    listed = await api.http.get(f"/api/rooms/{room['id']}/members", headers=auth(owner_token))
    assert ana["id"] not in [m["user"]["id"] for m in listed.json()["members"]]

    # Leaving by oneself is not a removal: Ben may come back at once.
    left = await api.http.delete(
        f"/api/rooms/{room['id']}/members/{ben['id']}", headers=auth(ben_token)
    )
    assert left.status_code == 204
    assert (await api.http.post(path, json={"content": "hi"}, headers=auth(ben_token))).is_success

    # An owner's invite lets Ana back in, for good.
    await api.add_member(owner_token, room["id"], ana_token)
    assert (await api.http.post(path, json={"content": "hi"}, headers=auth(ana_token))).is_success
    socket = await connected(shared, room["id"], ana_token, members)
    assert socket.welcome is not None and socket.welcome["room"]["role"] == "member"


# --- guests switched off -------------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="module")
async def guests_on(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    workdir = tmp_path_factory.mktemp("guests")
    async with running_stack("sqlite", workdir, NO_LIMITS) as stack:
        yield stack


async def test_guest_sessions_stop_working_once_guests_are_switched_off(
    guests_on: Stack, members: list[Member]
) -> None:
    stack = guests_on
    api = Api(stack.base_url())
    try:
        _, user_token = await api.register()
        _, guest_token = await api.session("Gus")
        room = await api.create_room(guest_token, "Guest room")
        await connected(stack, room["id"], guest_token, members)

        assert stack.room is not None
        await stack.room.signal(signal.SIGTERM)
        stack.env_extra["CHIMERA_ALLOW_GUESTS"] = "false"
        await stack.start_room()

        async def serving() -> bool:
            return (await api.http.get("/api/me", headers=auth(user_token))).status_code == 200

        await poll_until(serving)
        for reply in (
            await api.http.get("/api/me", headers=auth(guest_token)),
            await api.http.get("/api/me", headers=session_cookie(guest_token)),
            await api.http.get(f"/api/rooms/{room['id']}/messages", headers=auth(guest_token)),
            await api.http.post("/api/rooms", json={"name": "x"}, headers=auth(guest_token)),
            await api.http.post(
                f"/api/rooms/{room['id']}/messages",
                json={"content": "still here?"},
                headers=auth(guest_token),
            ),
        ):
            assert error(reply, 401) == GUESTS_OFF
        assert await hello_close_code(stack, room["id"], guest_token) == 4401
        assert (await api.http.get("/api/rooms", headers=auth(user_token))).status_code == 200
    finally:
        await api.close()
