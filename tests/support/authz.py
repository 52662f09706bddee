"""The authorization matrix as one table: every REST route and WebSocket client frame type, for
each principal, and what it must get (tests/integration/test_authz_matrix.py runs it).

A REST row is a route (method and path template as the gateway declares it), optionally a named
variant (another room, another target), how to fill in its path and body for a principal
(`prepare`), and the expected HTTP status per principal. A WebSocket row is a client frame type
and the expected outcome per principal: "welcome", "ack", "pong", "ok" (no answer, no error),
"stopped" (the reply ended as interrupted), "room" (a `room` frame confirmed the change),
"error:<code>" (an error frame; the socket stays open) or "close:<code>".

`World` is the module's fixture: the principals' accounts, the rooms they stand in, and helpers
that make fresh rooms, sessions, invites and tokens for rows that change what they touch.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx
import websockets

from tests.support.client import WAIT_S, Member, auth, say, wait_reply
from tests.support.stack import Stack

PRINCIPALS = ("anonymous", "guest", "non_member", "viewer", "member", "owner", "admin")
REGISTERED = ("non_member", "viewer", "member", "owner", "admin")
PASSWORD = "correct horse battery staple"
PERSONA = "bot"  # the persona of the invite room; one finished reply of it is stopped

# Per-IP limits on session/login/register are another test's subject (test_abuse_limits.py);
# the matrix signs in more often than a person would, so they are off here.
STACK_ENV = {
    "CHIMERA_SESSION_RATE_PER_MIN": "0",
    "CHIMERA_LOGIN_RATE_PER_MIN": "0",
    "CHIMERA_REGISTER_RATE_PER_MIN": "0",
}

# The error code each refusal status carries (a row may name another, e.g. failed_precondition).
STATUS_CODES = {
    400: "invalid_argument",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
}


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


async def create_admin_account(stack: Stack, username: str) -> None:
    """Create an admin with `chimera admin create-admin`, as an operator would."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from services.common.cli import main; main()",
        "admin",
        "create-admin",
        "--username",
        username,
        "--password-stdin",
        env=stack._env(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate(PASSWORD.encode() + b"\n")
    assert process.returncode == 0, output.decode(errors="replace")


async def make_admin(stack: Stack, http: httpx.AsyncClient) -> Account:
    """An admin account, made by the admin command and signed in."""
    username = f"admin-{secrets.token_hex(4)}"
    await create_admin_account(stack, username)
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
        world.accounts["admin"] = await make_admin(stack, http)
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


# =============================================================================================
# REST
# =============================================================================================


@dataclass(frozen=True)
class Call:
    """One request as a row makes it for one principal."""

    path: str
    json: Any = None
    token: str | None = None  # the bearer token to send; None = anonymous


Prepare = Callable[[World, str], Awaitable[Call]]
Check = Callable[[World, str, httpx.Response], None]


@dataclass(frozen=True)
class RestRow:
    """One route (or variant) of the table and what each principal gets."""

    method: str
    route: str
    expect: Mapping[str, int]
    prepare: Prepare
    variant: str = ""
    codes: Mapping[str, str] = field(default_factory=dict)  # principal -> error code if unusual
    check: Check | None = None  # more assertions on a successful reply
    room_404: bool = False  # a 404 must look exactly like a missing room's

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.route

    @property
    def id(self) -> str:
        return f"{self.method} {self.route}" + (f" [{self.variant}]" if self.variant else "")


def expect(everyone: int | None = None, **by_principal: int) -> dict[str, int]:
    """Expected statuses: `everyone` for principals not named."""
    out = dict.fromkeys(PRINCIPALS, everyone) if everyone is not None else {}
    out.update(by_principal)
    assert set(out) == set(PRINCIPALS), f"row misses principals: {set(PRINCIPALS) - set(out)}"
    return out


def public(status: int) -> dict[str, int]:
    """Everyone, signed in or not."""
    return expect(status)


def signed_in(status: int, **by_principal: int) -> dict[str, int]:
    """Any signed-in account; anonymous gets 401."""
    return expect(status, anonymous=401, **by_principal)


def users_only(status: int) -> dict[str, int]:
    """Registered accounts (guests 403), e.g. API tokens."""
    return expect(status, anonymous=401, guest=403)


def admins_only(status: int) -> dict[str, int]:
    return expect(403, anonymous=401, admin=status)


# Recipes that fill in a row's path and body for a principal.


def plain(path: str, body: Any = None) -> Prepare:
    """A fixed path (with {room:<key>}-style holes filled from the world) and body."""

    async def prepare(world: World, principal: str) -> Call:
        return Call(_fill(world, path), body, world.token(principal))

    return prepare


def _fill(world: World, path: str) -> str:
    for key in ("invite", "open", "guests", "missing"):
        if "{" + key + "}" in path:
            path = path.replace("{" + key + "}", world.room(key))
    return path.replace("{reply}", world.ai_reply_id)


async def _register(world: World, principal: str) -> Call:
    body = {"username": f"new-{secrets.token_hex(5)}", "password": PASSWORD}
    return Call("/api/auth/register", body, world.token(principal))


async def _login(world: World, principal: str) -> Call:
    assert world.scratch is not None
    body = {"username": world.scratch.username, "password": PASSWORD}
    return Call("/api/auth/login", body, world.token(principal))


async def _logout(world: World, principal: str) -> Call:
    return Call("/api/auth/logout", None, await world.fresh_session(principal))


async def _own_token(world: World, principal: str) -> Call:
    token_id = await world.api_token(principal) if principal in REGISTERED else "0"
    return Call(f"/api/tokens/{token_id}", None, world.token(principal))


async def _others_token(world: World, principal: str) -> Call:
    return Call(f"/api/tokens/{world.scratch_token_id}", None, world.token(principal))


async def _patch_viewer(world: World, principal: str) -> Call:
    path = f"/api/rooms/{world.room('invite')}/members/{world.id('viewer')}"
    return Call(path, {"role": "viewer"}, world.token(principal))


async def _remove_other(world: World, principal: str) -> Call:
    room_id = await world.fresh_room()
    target = world.id("member" if principal == "viewer" else "viewer")
    return Call(f"/api/rooms/{room_id}/members/{target}", None, world.token(principal))


async def _leave(world: World, principal: str) -> Call:
    room_id = await world.fresh_room()
    return Call(f"/api/rooms/{room_id}/members/{world.id(principal)}", None, world.token(principal))


async def _revoke_invite(world: World, principal: str) -> Call:
    room_id = world.room("invite")
    invite_id, _ = await world.invite(room_id)
    return Call(f"/api/rooms/{room_id}/invites/{invite_id}", None, world.token(principal))


def _accept(allow_guests: bool) -> Prepare:
    async def prepare(world: World, principal: str) -> Call:
        room_id = await world.fresh_room(allow_guests=allow_guests)
        _, token = await world.invite(room_id, "member")
        return Call(f"/api/invites/{token}/accept", None, world.token(principal))

    return prepare


async def _invite_personas(world: World, principal: str) -> Call:
    # The invite room's persona as it is, with its autopilot fields spelled out.
    bot = {"handle": PERSONA, "name": "Bot", "model": world.model}
    body = {"personas": [{**bot, "talkativeness": 0.5, "muted": False}]}
    return Call(_fill(world, INVITE), body, world.token(principal))


async def _bogus_invite(world: World, principal: str) -> Call:
    return Call(f"/api/invites/{secrets.token_urlsafe(32)}/accept", None, world.token(principal))


async def _enable_scratch(world: World, principal: str) -> Call:
    assert world.scratch is not None
    return Call(f"/api/admin/users/{world.scratch.id}", {"disabled": False}, world.token(principal))


# Checks on successful replies.


def _is_me(world: World, principal: str, reply: httpx.Response) -> None:
    body = reply.json()
    assert body["id"] == world.id(principal), body
    assert body["kind"] == ("guest" if principal == "guest" else "user"), body
    assert body["admin"] is (principal == "admin"), body


def _lists_invite_room_to_its_members(world: World, principal: str, reply: httpx.Response) -> None:
    ids = {room["id"] for room in reply.json()["rooms"]}
    assert (world.room("invite") in ids) is (principal in ("viewer", "member", "owner")), ids


def _has_role(world: World, principal: str, reply: httpx.Response) -> None:
    assert reply.json()["role"] == principal, reply.text


def _role_after_accept(world: World, principal: str, reply: httpx.Response) -> None:
    # A member invite: a viewer is raised to member; an owner stays owner.
    assert reply.json()["role"] == ("owner" if principal == "owner" else "member"), reply.text


def _admin_sees_every_room(world: World, principal: str, reply: httpx.Response) -> None:
    ids = {room["id"] for room in reply.json()["rooms"]}
    assert world.room("invite") in ids, ids


INVITE = "/api/rooms/{invite}"
OPEN = "/api/rooms/{open}"
GUESTS = "/api/rooms/{guests}"
READ_INVITE = expect(404, anonymous=401, viewer=200, member=200, owner=200)
OPEN_READ = signed_in(200, guest=404)  # an open room without guests: any registered account
GUESTS_READ = signed_in(200)
INVITE_OWNER_ONLY = expect(404, anonymous=401, viewer=403, member=403, owner=200)
INVITE_SENDERS = expect(404, anonymous=401, viewer=403, member=200, owner=200)
# An autopilot change that changes nothing (the default), so the room stays as the rows expect.
AUTOPILOT_PATCH = {"autopilot": {"max_turns": 10}}
ROOM = "/api/rooms/{room_id}"

REST_TABLE: tuple[RestRow, ...] = (
    # --- public ------------------------------------------------------------------------
    RestRow("GET", "/healthz", public(200), plain("/healthz")),
    RestRow("GET", "/readyz", public(200), plain("/readyz")),
    RestRow("GET", "/openapi.json", public(200), plain("/openapi.json")),
    RestRow("GET", "/docs", public(200), plain("/docs")),
    RestRow("GET", "/docs/oauth2-redirect", public(200), plain("/docs/oauth2-redirect")),
    RestRow("GET", "/redoc", public(200), plain("/redoc")),
    RestRow("GET", "/{path:path}", public(200), plain("/rooms/anything")),
    RestRow("POST", "/api/session", public(201), plain("/api/session", {"name": "Guest"})),
    RestRow("POST", "/api/auth/register", public(201), _register),
    RestRow("POST", "/api/auth/login", public(200), _login),
    # --- the caller's own account and tokens --------------------------------------------
    RestRow("POST", "/api/auth/logout", signed_in(204), _logout),
    RestRow("GET", "/api/me", signed_in(200), plain("/api/me"), check=_is_me),
    RestRow("POST", "/api/tokens", users_only(201), plain("/api/tokens", {"name": "t"})),
    RestRow("GET", "/api/tokens", users_only(200), plain("/api/tokens")),
    RestRow("DELETE", "/api/tokens/{token_id}", users_only(204), _own_token, "own"),
    RestRow("DELETE", "/api/tokens/{token_id}", users_only(404), _others_token, "another's"),
    # --- rooms ---------------------------------------------------------------------------
    RestRow(
        "GET",
        "/api/rooms",
        signed_in(200),
        plain("/api/rooms"),
        check=_lists_invite_room_to_its_members,
    ),
    RestRow("POST", "/api/rooms", signed_in(201), plain("/api/rooms", {"name": "Mine"}), "create"),
    RestRow("GET", ROOM, READ_INVITE, plain(INVITE), "invite room", check=_has_role, room_404=True),
    RestRow("GET", ROOM, OPEN_READ, plain(OPEN), "open room", room_404=True),
    RestRow("GET", ROOM, GUESTS_READ, plain(GUESTS), "guests room"),
    RestRow("GET", ROOM, signed_in(404), plain("/api/rooms/{missing}"), "missing", room_404=True),
    RestRow(
        "PATCH",
        ROOM,
        INVITE_OWNER_ONLY,
        plain(INVITE, {"name": "Invite room"}),
        "invite room",
        room_404=True,
    ),
    RestRow(
        "PATCH",
        ROOM,
        signed_in(403, guest=404, owner=200),
        plain(OPEN, {"name": "Open room"}),
        "open room",
        room_404=True,
    ),
    RestRow(
        "PATCH",
        ROOM,
        INVITE_SENDERS,
        plain(INVITE, AUTOPILOT_PATCH),
        "only autopilot",
        room_404=True,
    ),
    RestRow(
        "PATCH",
        ROOM,
        signed_in(200, guest=404, viewer=403),  # like posting: a reader becomes a member
        plain(OPEN, AUTOPILOT_PATCH),
        "open room, only autopilot",
        room_404=True,
    ),
    RestRow(
        "PATCH",
        ROOM,
        INVITE_OWNER_ONLY,
        plain(INVITE, {**AUTOPILOT_PATCH, "name": "Invite room"}),
        "autopilot and name",
        room_404=True,
    ),
    RestRow(
        "PATCH",
        ROOM,
        INVITE_OWNER_ONLY,
        _invite_personas,
        "personas (talkativeness, muted)",
        room_404=True,
    ),
    RestRow(
        "POST",
        ROOM + "/summary",
        expect(404, anonymous=401, viewer=403, member=201, owner=201),
        plain(INVITE + "/summary"),
        "invite room",
        room_404=True,
    ),
    RestRow(
        "POST",
        ROOM + "/summary",
        signed_in(201, guest=404, viewer=403),
        plain(OPEN + "/summary"),
        "open room",
        room_404=True,
    ),
    # --- messages ------------------------------------------------------------------------
    RestRow(
        "GET",
        ROOM + "/messages",
        READ_INVITE,
        plain(INVITE + "/messages"),
        "invite room",
        room_404=True,
    ),
    RestRow("GET", ROOM + "/messages", OPEN_READ, plain(OPEN + "/messages"), "open room"),
    RestRow(
        "POST",
        ROOM + "/messages",
        expect(404, anonymous=401, viewer=403, member=201, owner=201),
        plain(INVITE + "/messages", {"content": "hello"}),
        "invite room",
        room_404=True,
    ),
    RestRow(
        "POST",
        ROOM + "/messages",
        signed_in(201, guest=404, viewer=403),
        plain(OPEN + "/messages", {"content": "hello"}),
        "open room",
    ),
    RestRow(
        "POST",
        ROOM + "/messages",
        signed_in(201, viewer=403),
        plain(GUESTS + "/messages", {"content": "hello"}),
        "guests room",
    ),
    RestRow(
        "POST",
        ROOM + "/messages/{message_id}/interrupt",
        expect(404, anonymous=401, viewer=403, member=200, owner=200),
        plain(INVITE + "/messages/{reply}/interrupt"),
        "finished reply",
        room_404=True,
    ),
    # --- members -------------------------------------------------------------------------
    RestRow(
        "GET",
        ROOM + "/members",
        READ_INVITE,
        plain(INVITE + "/members"),
        "invite room",
        room_404=True,
    ),
    RestRow("GET", ROOM + "/members", OPEN_READ, plain(OPEN + "/members"), "open room"),
    RestRow(
        "PATCH",
        ROOM + "/members/{user_id}",
        INVITE_OWNER_ONLY,
        _patch_viewer,
        "viewer stays viewer",
        room_404=True,
    ),
    RestRow(
        "DELETE",
        ROOM + "/members/{user_id}",
        expect(404, anonymous=401, viewer=403, member=403, owner=204),
        _remove_other,
        "another member",
        room_404=True,
    ),
    RestRow(
        "DELETE",
        ROOM + "/members/{user_id}",
        expect(404, anonymous=401, viewer=204, member=204, owner=400),
        _leave,
        "leave",
        codes={"owner": "failed_precondition"},
        room_404=True,
    ),
    # --- invites -------------------------------------------------------------------------
    RestRow(
        "POST",
        ROOM + "/invites",
        expect(404, anonymous=401, viewer=403, member=403, owner=201),
        plain(INVITE + "/invites", {"role": "viewer"}),
        room_404=True,
    ),
    RestRow("GET", ROOM + "/invites", INVITE_OWNER_ONLY, plain(INVITE + "/invites"), room_404=True),
    RestRow(
        "DELETE",
        ROOM + "/invites/{invite_id}",
        expect(404, anonymous=401, viewer=403, member=403, owner=204),
        _revoke_invite,
        room_404=True,
    ),
    RestRow(
        "POST",
        "/api/invites/{token}/accept",
        signed_in(200, guest=404),
        _accept(allow_guests=False),
        "invite room",
        check=_role_after_accept,
    ),
    RestRow(
        "POST",
        "/api/invites/{token}/accept",
        signed_in(200),
        _accept(allow_guests=True),
        "guests allowed",
        check=_role_after_accept,
    ),
    RestRow("POST", "/api/invites/{token}/accept", signed_in(404), _bogus_invite, "unknown"),
    # --- models --------------------------------------------------------------------------
    RestRow("GET", "/api/models", signed_in(200), plain("/api/models")),
    RestRow("GET", "/api/providers", signed_in(200), plain("/api/providers")),
    # --- admin ---------------------------------------------------------------------------
    RestRow("GET", "/api/admin/users", admins_only(200), plain("/api/admin/users")),
    RestRow("PATCH", "/api/admin/users/{user_id}", admins_only(200), _enable_scratch),
    RestRow(
        "GET",
        "/api/admin/rooms",
        admins_only(200),
        plain("/api/admin/rooms"),
        check=_admin_sees_every_room,
    ),
)


def rest_cells() -> list[tuple[RestRow, str]]:
    """Every (row, principal) pair of the table."""
    return [(row, principal) for row in REST_TABLE for principal in PRINCIPALS]


# =============================================================================================
# WebSocket
# =============================================================================================

WS_ROUTE = "/ws/room/{room_id}"
IN_ROOM = ("viewer", "member", "owner")


@dataclass(frozen=True)
class WsRow:
    """One client frame type (in one room) and the outcome each principal gets."""

    frame: str
    expect: Mapping[str, str]
    room: str = "invite"
    variant: str = ""

    @property
    def id(self) -> str:
        return f"{self.frame} [{self.variant or self.room}]"


def ws_expect(members: str | Mapping[str, str], room: str = "invite") -> dict[str, str]:
    """Outcomes in `room`: those let in get `members` (one outcome, or one per principal)."""
    admitted = {
        "invite": IN_ROOM,
        "open": ("non_member", "viewer", "member", "owner", "admin"),
        "guests": PRINCIPALS[1:],
        "missing": (),
    }[room]
    out = {p: "close:4403" for p in PRINCIPALS}
    out["anonymous"] = "close:4401"
    for principal in admitted:
        out[principal] = members if isinstance(members, str) else members[principal]
    return out


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
    raise AssertionError(f"the table has no frame builder for {kind!r}")


WRITER = {"viewer": "error:permission_denied", "member": "ack", "owner": "ack"}
AUTOPILOT_SWITCHER = {"viewer": "error:permission_denied", "member": "room", "owner": "room"}
STOPPER = {
    # The reply has finished: a member may stop replies, but there is nothing to stop.
    "viewer": "error:permission_denied",
    "member": "error:not_found",
    "owner": "error:not_found",
}

WS_TABLE: tuple[WsRow, ...] = (
    WsRow("hello", ws_expect("welcome"), "invite"),
    WsRow("hello", ws_expect("welcome", "open"), "open"),
    WsRow("hello", ws_expect("welcome", "guests"), "guests"),
    WsRow("hello", ws_expect("welcome", "missing"), "missing"),
    WsRow("hello", ws_expect("error:invalid_frame"), "invite", "again after welcome"),
    WsRow("send", ws_expect(WRITER), "invite"),
    WsRow("send", ws_expect({**WRITER, "non_member": "ack", "admin": "ack"}, "open"), "open"),
    WsRow("typing", ws_expect("ok"), "invite"),
    WsRow("interrupt", ws_expect(STOPPER), "invite"),
    WsRow("ping", ws_expect("pong"), "invite"),
    WsRow("autopilot", ws_expect(AUTOPILOT_SWITCHER), "invite"),
)


def ws_cells() -> list[tuple[WsRow, str]]:
    return [(row, principal) for row in WS_TABLE for principal in PRINCIPALS]


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
