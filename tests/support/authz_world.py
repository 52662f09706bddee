"""The authorization matrix's world and driver: the principals' accounts, the rooms they stand
in, helpers that make fresh rooms, sessions, invites and tokens for rows that change what they
touch, and the WebSocket driver that names what a frame got (the table is tests/support/authz.py).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING, Any

import httpx
import websockets

from tests.support.client import WAIT_S, Member, auth, make_admin, say, wait_reply
from tests.support.stack import Stack

if TYPE_CHECKING:
    from tests.support.authz import WsRow

PASSWORD = "correct horse battery staple"
PERSONA = "bot"  # the persona of the invite room; one finished reply of it is stopped

# Per-IP limits on session/login/register are another test's subject (test_abuse_limits.py);
# the matrix signs in more often than a person would, so they are off here.
STACK_ENV = {
    "CHIMERA_SESSION_RATE_PER_MIN": "0",
    "CHIMERA_LOGIN_RATE_PER_MIN": "0",
    "CHIMERA_REGISTER_RATE_PER_MIN": "0",
}
# An autopilot change that changes nothing (the default), so the room stays as the rows expect.
AUTOPILOT_PATCH = {"autopilot": {"max_turns": 10}}


@dataclass(frozen=True)
class Account:
    """A signed-in principal: its account id and a bearer session token."""

    id: str
    token: str
    username: str = ""  # empty for guests


@dataclass(frozen=True)
class RoomSetup:
    """A room owned by the owner, with the member and the viewer let in by invites."""

    id: str
    access: str
    allow_guests: bool


@dataclass
class World:
    """Everything the table's rows refer to, built once per stack (see `build_world`)."""

    stack: Stack
    http: httpx.AsyncClient
    accounts: dict[str, Account] = field(default_factory=dict)
    scratch: Account | None = None  # a registered account that is none of the principals
    scratch_token_id: str = ""  # an API token of the scratch account
    rooms: dict[str, RoomSetup] = field(default_factory=dict)
    ai_reply_id: str = ""  # a finished persona reply in the invite room
    model: str = ""  # the model behind the invite room's persona
    room_not_found: dict[str, Any] = field(default_factory=dict)  # 404 body of a missing room
    unavailable: dict[str, str] = field(default_factory=dict)  # principal -> why it is missing

    # --- principals ----------------------------------------------------------------------

    def token(self, principal: str) -> str | None:
        """The principal's bearer token (None for anonymous)."""
        account = self.accounts.get(principal)
        return account.token if account else None

    def id(self, principal: str) -> str:
        """The principal's account id (a random id for anonymous)."""
        account = self.accounts.get(principal)
        return account.id if account else str(uuid.uuid4())

    async def register(self, prefix: str) -> Account:
        """A new registered account."""
        username = f"{prefix}-{secrets.token_hex(4)}"
        reply = await self.http.post(
            "/api/auth/register", json={"username": username, "password": PASSWORD}
        )
        assert reply.status_code == 201, reply.text
        body = reply.json()
        return Account(body["user"]["id"], body["token"], username)

    async def guest(self, name: str = "Guest") -> Account:
        """A new guest account."""
        reply = await self.http.post("/api/session", json={"name": name})
        assert reply.status_code == 201, reply.text
        body = reply.json()
        return Account(body["user"]["id"], body["token"])

    async def fresh_session(self, principal: str) -> str | None:
        """Another session of the principal (a new guest for `guest`), for rows that end one."""
        if principal == "anonymous":
            return None
        if principal == "guest":
            return (await self.guest()).token
        account = self.accounts[principal]
        reply = await self.http.post(
            "/api/auth/login", json={"username": account.username, "password": PASSWORD}
        )
        assert reply.status_code == 200, reply.text
        return str(reply.json()["token"])

    async def api_token(self, principal: str) -> str:
        """The id of a new API token of a registered principal."""
        reply = await self.http.post(
            "/api/tokens", json={"name": "matrix"}, headers=auth(self.accounts[principal].token)
        )
        assert reply.status_code == 201, reply.text
        return str(reply.json()["id"])

    # --- rooms ---------------------------------------------------------------------------

    async def create_room(
        self,
        name: str,
        access: str,
        allow_guests: bool,
        personas: list[dict[str, Any]] | None = None,
    ) -> RoomSetup:
        """A room of the owner's, with the member and the viewer in it by invites."""
        owner = self.accounts["owner"].token
        reply = await self.http.post(
            "/api/rooms",
            json={
                "name": name,
                "access": access,
                "allow_guests": allow_guests,
                "personas": personas or [],
            },
            headers=auth(owner),
        )
        assert reply.status_code == 201, reply.text
        room_id = reply.json()["id"]
        for role in ("member", "viewer"):
            _, token = await self.invite(room_id, role)
            accepted = await self.http.post(
                f"/api/invites/{token}/accept", headers=auth(self.accounts[role].token)
            )
            assert accepted.status_code == 200, accepted.text
            assert accepted.json()["role"] == role, accepted.text
        return RoomSetup(room_id, access, allow_guests)

    async def fresh_room(self, access: str = "invite", allow_guests: bool = False) -> str:
        """A new room set up like the invite room, for rows that change membership."""
        return (await self.create_room("Scratch", access, allow_guests)).id

    async def invite(self, room_id: str, role: str = "member") -> tuple[str, str]:
        """An owner's invite to `room_id`: (invite id, token)."""
        reply = await self.http.post(
            f"/api/rooms/{room_id}/invites",
            json={"role": role},
            headers=auth(self.accounts["owner"].token),
        )
        assert reply.status_code == 201, reply.text
        body = reply.json()
        return str(body["id"]), str(body["token"])

    def room(self, key: str) -> str:
        """A room's id by its key; "missing" is an id no room has."""
        return self.rooms[key].id if key != "missing" else str(uuid.uuid4())


def cookieless_client(base_url: str) -> httpx.AsyncClient:
    """An HTTP client that never keeps a cookie: every principal speaks by its bearer token."""
    jar = CookieJar(DefaultCookiePolicy(allowed_domains=[]))
    return httpx.AsyncClient(base_url=base_url, timeout=30, cookies=jar)


async def sign_in_admin(stack: Stack, http: httpx.AsyncClient) -> Account:
    """An admin account, made by the admin command and signed in."""
    username = f"admin-{secrets.token_hex(4)}"
    await make_admin(stack, username, PASSWORD)
    login = await http.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    body = login.json()
    assert body["user"]["admin"] is True, body
    return Account(body["user"]["id"], body["token"], username)


async def build_world(stack: Stack, http: httpx.AsyncClient, model: str) -> World:
    """Sign up every principal, make the rooms, and leave one finished persona reply behind."""
    world = World(stack, http, model=model)
    for principal in ("non_member", "viewer", "member", "owner"):
        world.accounts[principal] = await world.register(principal.replace("_", ""))
    world.accounts["guest"] = await world.guest()
    world.scratch = await world.register("scratch")
    try:
        world.accounts["admin"] = await sign_in_admin(stack, http)
    except AssertionError as error:  # the admin's cells fail with this; the others still run
        world.unavailable["admin"] = str(error)
    scratch_token = await http.post(
        "/api/tokens", json={"name": "scratch"}, headers=auth(world.scratch.token)
    )
    assert scratch_token.status_code == 201, scratch_token.text
    world.scratch_token_id = scratch_token.json()["id"]

    bot = {"handle": PERSONA, "name": "Bot", "model": model}
    world.rooms["invite"] = await world.create_room("Invite room", "invite", False, [bot])
    world.rooms["open"] = await world.create_room("Open room", "open", False)
    world.rooms["guests"] = await world.create_room("Guests room", "open", True)

    missing = await http.get(
        f"/api/rooms/{uuid.uuid4()}", headers=auth(world.accounts["owner"].token)
    )
    assert missing.status_code == 404, missing.text
    world.room_not_found = missing.json()

    owner = Member(stack.ws_url(world.rooms["invite"].id), world.accounts["owner"].token)
    await owner.connect()
    try:
        trigger = await say(owner, f"@{PERSONA} say something")
        world.ai_reply_id = (await wait_reply(owner, trigger, PERSONA))["id"]
    finally:
        await owner.close()
    return world


# --- the WebSocket driver ------------------------------------------------------------------


def frame_for(kind: str, world: World, principal: str) -> dict[str, Any]:
    """A well-formed client frame of `kind` for the principal."""
    if kind == "hello":
        token = world.token(principal)
        return {"type": "hello", **({"token": token} if token else {})}
    if kind == "send":
        return {"type": "send", "content": "hi", "client_msg_id": f"m-{uuid.uuid4()}"}
    if kind == "typing":
        return {"type": "typing", "active": True}
    if kind == "interrupt":
        return {"type": "interrupt", "message_id": world.ai_reply_id}
    if kind == "ping":
        return {"type": "ping"}
    if kind == "autopilot":
        return {"type": "autopilot", **AUTOPILOT_PATCH["autopilot"]}
    if kind == "audio":
        return {"type": "audio", "format": "opus"}
    raise AssertionError(f"the table has no frame builder for {kind!r}")


async def ws_outcome(world: World, row: WsRow, principal: str) -> str:
    """Open a socket as the principal, send the row's frame, and name what happened."""
    url = world.stack.ws_url(world.room(row.room))
    hello = frame_for("hello", world, principal)
    async with asyncio.timeout(WAIT_S):
        async with websockets.connect(url, max_size=None) as ws:
            try:
                if principal == "anonymous" and row.frame != "hello":
                    await ws.send(json.dumps(frame_for(row.frame, world, principal)))
                else:
                    await ws.send(json.dumps(hello))
                first = await _next_of(ws, {"welcome", "error"})
                if first["type"] == "error":  # refused without a close: the socket must stay
                    await ws.send(json.dumps({"type": "ping"}))
                    await _next_of(ws, {"pong"})
                    return f"error:{first['code']}"
                if row.frame == "hello" and not row.variant:
                    return "welcome"
                frame = frame_for(row.frame, world, principal)
                await ws.send(json.dumps(frame))
                await ws.send(json.dumps({"type": "ping"}))
                return await _answer(ws, frame)
            except websockets.ConnectionClosed:
                return f"close:{ws.close_code}"


async def _next_of(ws: Any, kinds: set[str]) -> dict[str, Any]:
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] in kinds:
            return dict(frame)


async def _answer(ws: Any, sent: dict[str, Any]) -> str:
    """What the server said to `sent` (the socket stays open).

    Ping, typing and a repeated hello are answered by the gateway before the pong that follows
    them; a send's ack or error, an interrupt's error and an autopilot change's `room` frame (or
    error) come back from the room service, so those are waited for.
    """
    kind = sent["type"]
    outcome = "ok"
    pong = False
    while True:
        if pong and (kind not in ("send", "interrupt", "autopilot") or outcome != "ok"):
            return "pong" if kind == "ping" else outcome
        frame = await _next_of(ws, {"ack", "error", "pong", "message", "room"})
        if frame["type"] == "pong":
            pong = True
        elif frame["type"] == "ack" and frame.get("client_msg_id") == sent.get("client_msg_id"):
            outcome = "ack"
        elif frame["type"] == "error" and frame.get("client_msg_id") in (
            None,
            sent.get("client_msg_id"),
        ):
            outcome = f"error:{frame['code']}"
        elif (
            frame["type"] == "message"
            and kind == "interrupt"
            and frame["message"]["id"] == sent["message_id"]
            and frame["message"]["status"] == "interrupted"
        ):
            outcome = "stopped"
        elif frame["type"] == "room" and kind == "autopilot":
            outcome = "room"
