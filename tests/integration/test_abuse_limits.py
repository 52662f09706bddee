"""Abuse limits with their documented defaults: frame floods, connection caps, body caps, per-IP
limits, the WebSocket Origin check, security headers, and no secret in the access log."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import pytest_asyncio
import websockets

from services.gateway.middleware import CSP
from tests.support.client import (
    Api,
    Member,
    auth,
    from_ip,
    new_ip,
    poll_until,
    running_stack,
)
from tests.support.fixtures import (
    api_fixture,
    connected,
    error,
    hello_close_code,
    members_fixture,
)
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

MAX_PER_USER = 3
WS_BURST = 30  # the default frames a socket may send at once
WS_MAX_STRIKES = 20  # the default refused frames in a row before the close
NO_REFILL_PER_S = 1e-6  # a frame every eleven days
LISTED_ORIGIN = "https://app.example.org"
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """Default frame rate and body cap; a small connection cap and a quick session limit."""
    env = {
        "CHIMERA_WS_MAX_PER_USER": str(MAX_PER_USER),
        "CHIMERA_SESSION_RATE_PER_MIN": "60",  # 60 at once, then one a second
        "CHIMERA_ALLOWED_ORIGINS": f"{LISTED_ORIGIN}, https://other.example.org",
        "CHIMERA_ACCESS_LOG": "true",
    }
    async with running_stack("sqlite", tmp_path_factory.mktemp("abuse"), env) as stack:
        yield stack


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def frozen(shared: Stack) -> int:
    """The index of a gateway of `shared` whose frame buckets never refill in a test's time.

    The burst and the strikes are the defaults; what a flood gets through is then exact, however
    long a loaded machine takes to read it.
    """
    return await shared.add_gateway(CHIMERA_WS_RATE=str(NO_REFILL_PER_S))


api = api_fixture(own_address=True)
members = members_fixture()


# --- WebSocket frames and connections ------------------------------------------------------


async def test_a_flood_is_refused_then_closed_4429_and_the_room_carries_on(
    shared: Stack, frozen: int, api: Api, members: list[Member]
) -> None:
    _, flooder_token = await api.register()
    _, ben_token = await api.register()
    room = await api.create_room(flooder_token)
    ben = await connected(shared, room["id"], ben_token, members, gateway=frozen)
    flooder = await connected(shared, room["id"], flooder_token, members, gateway=frozen)

    assert flooder.ws is not None
    for _ in range(500):  # far over the burst
        try:
            await flooder.ws.send(json.dumps({"type": "ping"}))
        except websockets.ConnectionClosed:
            break
    assert await flooder.wait_closed() == 4429
    answers = [f for f in flooder.frames if f["type"] in ("pong", "error")]
    # The burst is answered, then each frame is refused until the last strike closes the socket.
    assert [f["type"] for f in answers] == ["pong"] * WS_BURST + ["error"] * (WS_MAX_STRIKES - 1)
    assert {f["code"] for f in answers if f["type"] == "error"} == {"rate_limited"}

    await ben.send({"type": "send", "content": "still fine", "client_msg_id": "b1"})
    await ben.wait_for(lambda f: f["type"] == "ack" and f["client_msg_id"] == "b1")
    await ben.wait_for(lambda f: f["type"] == "message")
    assert not [f for f in ben.frames if f["type"] == "error"]


async def test_a_burst_of_thirty_frames_is_all_answered(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    _, token = await api.register()
    room = await api.create_room(token)
    member = await connected(shared, room["id"], token, members)
    for n in range(30):  # the default burst, sent at once
        await member.send({"type": "send", "content": f"m{n}", "client_msg_id": f"c{n}"})
    await member.wait_until(lambda: sum(f["type"] == "ack" for f in member.frames) == 30)
    assert not [f for f in member.frames if f["type"] == "error"]


async def test_one_account_may_hold_only_so_many_sockets(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    _, token = await api.register()
    _, other_token = await api.register()
    room = await api.create_room(token)
    sockets = [await connected(shared, room["id"], token, members) for _ in range(MAX_PER_USER)]
    assert await hello_close_code(shared, room["id"], token) == 4429
    await connected(shared, room["id"], other_token, members)  # others are not affected

    await sockets[0].close()

    async def admitted() -> bool:
        member = Member(shared.ws_url(room["id"]), token)
        try:
            await member.connect()
        except ConnectionError:
            return False
        members.append(member)
        return True

    await poll_until(admitted)  # the closed socket's place is free again


# --- request bodies and per-IP limits ------------------------------------------------------


async def first_refused(
    client: Api, path: str, body: Callable[[int], dict[str, str]], attempts: int
) -> tuple[httpx.Response, dict[str, str]]:
    """POST `body(n)` until the per-IP limit refuses one; that reply and its body.

    Once the burst is spent, an attempt goes through only on a token that refilled meanwhile,
    and spends it: a refusal comes unless each attempt took longer than a token does.
    """
    for n in range(attempts):
        reply = await client.http.post(path, json=body(n))
        if reply.status_code == 429:
            return reply, body(n)
    raise AssertionError(f"{attempts} more requests to {path} and none refused: {reply.text}")


async def test_a_body_over_one_mib_is_413(api: Api) -> None:
    user, token = await api.register()
    big = {"name": "x" * (1024 * 1024)}
    reply = await api.http.post("/api/rooms", json=big, headers=auth(token))
    assert error(reply, 413) == {"code": "payload_too_large", "message": "Request body too large."}

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(300):
            yield b"x" * 4096
        yield b'"}'

    streamed = await api.http.post(
        "/api/rooms",
        content=chunks(),
        headers={**auth(token), "Content-Type": "application/json"},
    )
    assert "content-length" not in streamed.request.headers  # chunked: no length up front
    assert error(streamed, 413)["code"] == "payload_too_large"
    rooms = (await api.http.get("/api/rooms", headers=auth(token))).json()["rooms"]
    assert not [r for r in rooms if r["created_by"] == user["id"]]  # nothing was created


async def test_sessions_are_limited_per_ip_and_the_limit_refills(shared: Stack) -> None:
    here = Api(shared.base_url(), headers=from_ip(new_ip()))
    elsewhere = Api(shared.base_url(), headers=from_ip(new_ip()))
    try:
        answers = [await here.http.post("/api/session", json={}) for _ in range(60)]
        assert {r.status_code for r in answers} == {400}  # malformed, but counted
        # A second may have passed, and given a token back; the next refusal comes soon.
        refused, _ = await first_refused(here, "/api/session", lambda n: {"name": "Late"}, 60)
        assert error(refused, 429)["code"] == "rate_limited"
        assert refused.headers["retry-after"] == "1"
        assert (
            await elsewhere.http.post("/api/session", json={"name": "Other"})
        ).status_code == 201

        async def allowed() -> bool:
            reply = await here.http.post("/api/session", json={"name": "Later"})
            return reply.status_code == 201

        await poll_until(allowed)
    finally:
        await here.close()
        await elsewhere.close()


async def test_registration_is_limited_per_ip_by_default(shared: Stack) -> None:
    here = Api(shared.base_url(), headers=from_ip(new_ip()))
    try:
        for _ in range(5):  # the default: 5 a minute
            await here.register()
        # Twelve seconds give a token back; on a slow machine the five may have taken that long.
        refused, body = await first_refused(
            here,
            "/api/auth/register",
            lambda n: {"username": f"one-more-{n}", "password": "long enough pw"},
            5,
        )
        assert error(refused, 429)["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) > 1  # paced by the minute, not the second
        not_created = await here.login(body["username"], body["password"])
        assert not_created.status_code == 401
    finally:
        await here.close()


# --- browsers ------------------------------------------------------------------------------


async def test_a_websocket_from_another_sites_page_is_refused(shared: Stack, api: Api) -> None:
    _, token = await api.register()
    room = await api.create_room(token)
    url = shared.ws_url(room["id"])
    for origin in ("https://evil.example", "null", "http://127.0.0.1:1"):
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(url, additional_headers={"Origin": origin})
        assert refused.value.response.status_code == 403

    own = shared.base_url()
    for headers in ({"Origin": own}, {"Origin": LISTED_ORIGIN}, {}):
        member = Member(url, token, headers=headers)
        try:
            welcome = await member.connect()
            assert welcome["type"] == "welcome"
        finally:
            await member.close()


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/rooms/some-room", 200),
        ("GET", "/api/rooms", 401),
        ("POST", "/api/session", 201),
        ("GET", "/api/nothing-here", 404),
        ("GET", "/healthz", 200),
        ("GET", "/openapi.json", 200),
    ],
)
async def test_every_response_carries_the_security_headers(
    api: Api, method: str, path: str, status: int
) -> None:
    body = {"name": "Headers"} if method == "POST" else None
    reply = await api.http.request(method, path, json=body)
    assert reply.status_code == status
    for name, value in SECURITY_HEADERS.items():
        assert reply.headers.get(name) == value, (name, reply.headers.get(name))


async def test_invite_tokens_and_credentials_never_reach_the_access_log(
    shared: Stack, api: Api
) -> None:
    _, owner_token = await api.register()
    _, ben_token = await api.register()
    room = await api.create_private_room(owner_token)
    invite = await api.invite(owner_token, room["id"])
    assert (await api.accept(ben_token, invite["token"])).status_code == 200
    log = shared.workdir / "gateway0.log"

    async def logged() -> bool:
        return "/api/invites/<redacted>/accept" in log.read_text(errors="replace")

    await poll_until(logged)
    text = log.read_text(errors="replace")
    for secret in (invite["token"], owner_token, ben_token):
        assert secret not in text
