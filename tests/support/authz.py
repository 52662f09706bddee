"""The authorization matrix as one table: every REST route and WebSocket client frame type, for
each principal, and what it must get (tests/integration/test_authz_matrix.py runs it).

A REST row is a route (method and path template as the gateway declares it), optionally a named
variant (another room, another target), how to fill in its path and body for a principal
(`prepare`), and the expected HTTP status per principal. A WebSocket row is a client frame type
and the expected outcome per principal: "welcome", "ack", "pong", "ok" (no answer, no error),
"stopped" (the reply ended as interrupted), "room" (a `room` frame confirmed the change),
"error:<code>" (an error frame; the socket stays open) or "close:<code>".

`World` (tests/support/authz_world.py) is the module's fixture: the principals' accounts, the
rooms they stand in, and the helpers and driver that fill in and run the rows.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.authz_world import AUTOPILOT_PATCH, PASSWORD, PERSONA, World

SPEECH = {"voice": "joe", "text": "Hello."}
PRINCIPALS = ("anonymous", "guest", "non_member", "viewer", "member", "owner", "admin")
REGISTERED = ("non_member", "viewer", "member", "owner", "admin")

# The error code each refusal status carries (a row may name another, e.g. failed_precondition).
STATUS_CODES = {
    400: "invalid_argument",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    503: "unavailable",
}


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


def invite_owner(status: int) -> dict[str, int]:
    """The invite room's owner; its other members 403; outsiders as if the room did not exist."""
    return expect(404, anonymous=401, viewer=403, member=403, owner=status)


def invite_senders(status: int) -> dict[str, int]:
    """The invite room's members who may send; viewers 403; outsiders as if it did not exist."""
    return expect(404, anonymous=401, viewer=403, member=status, owner=status)


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
        invite_owner(200),
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
        invite_senders(200),
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
        invite_owner(200),
        plain(INVITE, {**AUTOPILOT_PATCH, "name": "Invite room"}),
        "autopilot and name",
        room_404=True,
    ),
    RestRow(
        "PATCH",
        ROOM,
        invite_owner(200),
        _invite_personas,
        "personas (talkativeness, muted)",
        room_404=True,
    ),
    RestRow(
        "POST",
        ROOM + "/summary",
        invite_senders(201),
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
        invite_senders(201),
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
        invite_senders(200),
        plain(INVITE + "/messages/{reply}/interrupt"),
        "finished reply",
        room_404=True,
    ),
    RestRow(
        "GET",
        ROOM + "/messages/{message_id}/speech",
        expect(404, anonymous=401),  # readers: the reply was not spoken; others: no such room
        plain(INVITE + "/messages/{reply}/speech"),
        "unspoken reply",
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
        invite_owner(200),
        _patch_viewer,
        "viewer stays viewer",
        room_404=True,
    ),
    RestRow(
        "DELETE",
        ROOM + "/members/{user_id}",
        invite_owner(204),
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
        invite_owner(201),
        plain(INVITE + "/invites", {"role": "viewer"}),
        room_404=True,
    ),
    RestRow("GET", ROOM + "/invites", invite_owner(200), plain(INVITE + "/invites"), room_404=True),
    RestRow(
        "DELETE",
        ROOM + "/invites/{invite_id}",
        invite_owner(204),
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
    # --- voices: the stack's TTS node serves a fake voice "joe" (a tone) ----------------
    RestRow("GET", "/api/voices", signed_in(200), plain("/api/voices")),
    RestRow("POST", "/api/speech", signed_in(200), plain("/api/speech", SPEECH)),
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
    WsRow("audio", ws_expect("ok"), "invite"),
)


def ws_cells() -> list[tuple[WsRow, str]]:
    return [(row, principal) for row in WS_TABLE for principal in PRINCIPALS]
