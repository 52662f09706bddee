"""Test clients: REST over httpx and a WebSocket member that records what it sees."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import secrets
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from tests.support.databases import (
    PostgresUnavailable,
    create_postgres_database,
    drop_postgres_database,
    skip_or_fail,
    sqlite_url,
)
from tests.support.stack import Stack, wait_models_started

WAIT_S = 20.0


PASSWORD = "correct horse battery"

# Abuse limits off, for tests about something else that sign in or send faster than a person
# would (the limits themselves are tested in test_abuse_limits.py).
NO_LIMITS = {
    "CHIMERA_SESSION_RATE_PER_MIN": "0",
    "CHIMERA_LOGIN_RATE_PER_MIN": "0",
    "CHIMERA_REGISTER_RATE_PER_MIN": "0",
    "CHIMERA_WS_RATE": "0",
    "CHIMERA_WS_MAX_PER_USER": "0",
    "CHIMERA_POST_RATE": "0",  # the room service's posts per account per room
}


class Api:
    """A REST client for one gateway. It keeps no cookies: helpers sign in with bearer tokens."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        # A jar that accepts no cookie: every request says who it is by its own headers.
        jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
        self.http = httpx.AsyncClient(
            base_url=base_url, timeout=30, cookies=jar, headers=headers or {}
        )

    async def session(self, name: str) -> tuple[dict[str, Any], str]:
        """Sign in as a guest named `name`; return (user, token)."""
        reply = await self.http.post("/api/session", json={"name": name})
        reply.raise_for_status()
        body = reply.json()
        return body["user"], body["token"]

    async def register(
        self, username: str | None = None, password: str = PASSWORD, name: str | None = None
    ) -> tuple[dict[str, Any], str]:
        """Create an account (a unique username unless given) and sign in; return (user, token)."""
        body: dict[str, Any] = {
            "username": username or f"u{secrets.token_hex(6)}",
            "password": password,
        }
        if name is not None:
            body["name"] = name
        reply = await self.http.post("/api/auth/register", json=body)
        assert reply.status_code == 201, reply.text
        return reply.json()["user"], reply.json()["token"]

    async def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        """POST /api/auth/login, as it answers."""
        return await self.http.post(
            "/api/auth/login", json={"username": username, "password": password}
        )

    async def create_token(
        self, token: str, name: str = "cli", expires_in_days: int | None = None
    ) -> dict[str, Any]:
        """A new personal API token: {id, token, name, created_at, expires_at}."""
        body: dict[str, Any] = {"name": name}
        if expires_in_days is not None:
            body["expires_in_days"] = expires_in_days
        reply = await self.http.post("/api/tokens", json=body, headers=auth(token))
        assert reply.status_code == 201, reply.text
        return reply.json()

    async def create_room(
        self,
        token: str,
        name: str = "Room",
        *,
        access: str = "open",
        allow_guests: bool = True,
        personas: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A room owned by `token`'s account: open to every account and guest unless asked."""
        body = {"name": name, "access": access, "allow_guests": allow_guests}
        if personas is not None:
            body["personas"] = personas
        reply = await self.http.post("/api/rooms", json=body, headers=auth(token))
        assert reply.status_code == 201, reply.text
        return reply.json()

    async def create_private_room(
        self, token: str, name: str = "Private", *, allow_guests: bool = False
    ) -> dict[str, Any]:
        """An invite-only room owned by `token`'s account."""
        return await self.create_room(token, name, access="invite", allow_guests=allow_guests)

    async def invite(self, token: str, room_id: str, **options: Any) -> dict[str, Any]:
        """A new invite (`max_uses`, `expires_in_hours`, `role`): {id, token, url, ...}."""
        reply = await self.http.post(
            f"/api/rooms/{room_id}/invites", json=options, headers=auth(token)
        )
        assert reply.status_code == 201, reply.text
        return reply.json()

    async def accept(self, token: str, invite_token: str) -> httpx.Response:
        """POST /api/invites/{token}/accept, as it answers."""
        return await self.http.post(f"/api/invites/{invite_token}/accept", headers=auth(token))

    async def add_member(
        self, owner_token: str, room_id: str, token: str, role: str = "member"
    ) -> dict[str, Any]:
        """Let `token`'s account into the room with `role` (through an invite); return the room."""
        invite = await self.invite(owner_token, room_id, role=role, max_uses=1)
        reply = await self.accept(token, invite["token"])
        assert reply.status_code == 200, reply.text
        return reply.json()

    async def history(self, token: str, room_id: str, **params: Any) -> dict[str, Any]:
        reply = await self.http.get(
            f"/api/rooms/{room_id}/messages", params=params, headers=auth(token)
        )
        assert reply.status_code == 200, reply.text
        return reply.json()

    async def all_messages(self, token: str, room_id: str) -> list[dict[str, Any]]:
        """Every message of a room, oldest first, paging forward with `after`."""
        out: list[dict[str, Any]] = []
        after = 0
        while True:
            page = await self.history(token, room_id, after=after, limit=200)
            out += page["messages"]
            if not page["has_more"]:
                return out
            after = out[-1]["seq"]

    async def close(self) -> None:
        await self.http.aclose()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def from_ip(address: str) -> dict[str, str]:
    """Headers that make the gateway see the request as coming from `address`.

    The gateway trusts X-Forwarded-For from loopback (a local reverse proxy), as tests connect.
    """
    return {"X-Forwarded-For": address}


def new_ip() -> str:
    """A fresh private address, so that a test has per-IP buckets of its own."""
    n = next(_addresses) % (1 << 16)
    return f"10.77.{n // 256}.{n % 256}"


_addresses = itertools.count(secrets.randbelow(1 << 16))


async def poll_until(check: Callable[[], Awaitable[bool]], timeout: float = WAIT_S) -> None:
    """Ask `check` again until it holds: for a limit that resets as time passes."""
    async with asyncio.timeout(timeout):
        while True:
            if await check():
                return
            await asyncio.sleep(0.05)


def session_cookie(token: str, csrf: str | None = None) -> dict[str, str]:
    """A Cookie header carrying a session (and, if given, the CSRF cookie)."""
    cookie = f"chimera_session={token}"
    if csrf is not None:
        cookie += f"; chimera_csrf={csrf}"
    return {"Cookie": cookie}


def set_cookies(reply: httpx.Response) -> dict[str, str]:
    """Each Set-Cookie of a reply, by cookie name (the whole header value)."""
    return {h.split("=", 1)[0]: h for h in reply.headers.get_list("set-cookie")}


def cookie_value(reply: httpx.Response, name: str) -> str:
    """The value a reply sets for cookie `name`."""
    return set_cookies(reply)[name].split("=", 1)[1].split(";", 1)[0]


async def chimera_admin(stack: Stack, *argv: str, stdin: str = "") -> str:
    """Run `chimera admin ARGV...` as its own process on the stack's database; its output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        "admin",
        *argv,
        env={
            **os.environ,
            "CHIMERA_DATA_DIR": str(stack.workdir / "data"),
            "CHIMERA_DATABASE_URL": stack.database_url,
        },
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate(stdin.encode())
    assert process.returncode == 0, output.decode(errors="replace")
    return output.decode()


async def make_admin(stack: Stack, username: str, password: str = PASSWORD) -> None:
    """`chimera admin create-admin` on the stack's database: `username` becomes an admin."""
    await chimera_admin(
        stack, "create-admin", "--username", username, "--password-stdin", stdin=f"{password}\n"
    )


async def expire(stack: Stack, table: str, row_id: str) -> None:
    """Set a credential's or an invite's expiry in the past, straight in the database."""
    from sqlalchemy import update

    from services.room.store.sql.database import create_engine
    from services.room.store.sql.models import Credential, Invite

    model = {"credentials": Credential, "invites": Invite}[table]
    engine = create_engine(stack.database_url)
    try:
        async with engine.begin() as connection:
            past = datetime.now(UTC) - timedelta(minutes=1)
            result = await connection.execute(
                update(model).where(model.id == row_id).values(expires_at=past)
            )
            assert result.rowcount == 1, (table, row_id)
    finally:
        await engine.dispose()


@dataclass
class Member:
    """A WebSocket member: every frame it receives is recorded in order."""

    url: str
    token: str | None  # None: the session cookie in `headers` signs in
    headers: dict[str, str] = field(default_factory=dict)  # e.g. Cookie, Origin
    ws: ClientConnection | None = None
    frames: list[dict[str, Any]] = field(default_factory=list)
    welcome: dict[str, Any] | None = None
    close_code: int | None = None
    _reader: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def connect(
        self, last_seq: int | None = None, audio: str | None = None
    ) -> dict[str, Any]:
        """Open the socket, say hello (asking for speech as `audio`), and return the welcome."""
        self.ws = await websockets.connect(self.url, max_size=None, additional_headers=self.headers)
        hello: dict[str, Any] = {"type": "hello"}
        if self.token is not None:
            hello["token"] = self.token
        if last_seq is not None:
            hello["last_seq"] = last_seq
        if audio is not None:
            hello["audio"] = audio
        await self.ws.send(json.dumps(hello))
        self.close_code = None
        start = len(self.frames)  # a reconnect must not find the previous connection's welcome
        self._reader = asyncio.create_task(self._read(self.ws))
        frame = await self.wait_for(lambda f: f["type"] == "welcome", start=start)
        self.welcome = frame
        return frame

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                self.frames.append(json.loads(raw))
                self._changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = ws.close_code if ws.close_code is not None else 1006
            self._changed.set()

    async def send(self, frame: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send(json.dumps(frame))

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = WAIT_S, start: int = 0
    ) -> dict[str, Any]:
        """The first recorded frame (from index `start`) matching `predicate`, waiting if needed."""
        async with asyncio.timeout(timeout):
            index = start
            while True:
                while index < len(self.frames):
                    if predicate(self.frames[index]):
                        return self.frames[index]
                    index += 1
                if self.close_code is not None:
                    raise ConnectionError(f"socket closed with {self.close_code} while waiting")
                self._changed.clear()
                await self._changed.wait()

    async def wait_until(
        self, condition: Callable[[], bool], timeout: float | None = WAIT_S
    ) -> None:
        """Wait until `condition()` holds, re-checking on every frame."""
        async with asyncio.timeout(timeout):
            while not condition():
                if self.close_code is not None:
                    raise ConnectionError(f"socket closed with {self.close_code} while waiting")
                self._changed.clear()
                await self._changed.wait()

    async def wait_closed(self, timeout: float = WAIT_S) -> int:
        async with asyncio.timeout(timeout):
            while self.close_code is None:
                self._changed.clear()
                await self._changed.wait()
        return self.close_code

    def messages(self) -> list[dict[str, Any]]:
        """Message frames' messages, in arrival order."""
        return [f["message"] for f in self.frames if f["type"] == "message"]

    def seqs(self) -> list[int]:
        return [m["seq"] for m in self.messages()]

    def last_seq(self) -> int:
        seqs = self.seqs()
        return max(seqs) if seqs else (self.welcome or {}).get("last_seq", 0)

    async def drop(self) -> None:
        """Close the socket abruptly (no close handshake), like a lost network."""
        assert self.ws is not None
        self.ws.transport.abort()
        if self._reader:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader:
            await asyncio.gather(self._reader, return_exceptions=True)


async def resume(member: Member, last_seq: int | None = None) -> dict[str, Any]:
    """Reconnect a dropped `member` and return the new connection's welcome frame."""
    return await member.connect(last_seq)


# ---------------------------------------------------------------------------------------------
# Module-scoped stacks: one running stack per test module and database, for modules whose tests
# only create their own rooms and users and so can share the processes.
# ---------------------------------------------------------------------------------------------

DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@asynccontextmanager
async def running_stack(
    database: str, workdir: Path, env_extra: dict[str, str] | None = None, gateways: int = 1
) -> AsyncIterator[Stack]:
    """A started Stack on a fresh "sqlite" or "postgres" database; stopped and dropped after."""
    if database == "sqlite":
        url = sqlite_url(workdir)
    else:
        try:
            url = await create_postgres_database()
        except PostgresUnavailable as error:
            skip_or_fail(error)
    stack = Stack(workdir, url, env_extra=dict(env_extra or {}))
    try:
        await stack.start(gateways=gateways)
        yield stack
    except BaseException:
        print(stack.logs())
        raise
    finally:
        await stack.stop()
        if database == "postgres":
            await drop_postgres_database(url)


# ---------------------------------------------------------------------------------------------
# AI replies: a stack with an LLM node, and what members see of a persona's reply.
# ---------------------------------------------------------------------------------------------


@asynccontextmanager
async def running_ai_stack(
    database: str,
    workdir: Path,
    models_toml: str,
    env_extra: dict[str, str] | None = None,
    gateways: int = 1,
) -> AsyncIterator[Stack]:
    """`running_stack` plus an LLM node serving the registry `models_toml`, its models started."""
    path = workdir / "models.toml"
    path.write_text(models_toml)

    async def start_llm(stack: Stack) -> None:
        await stack.start_llm(path)
        await wait_models_started(stack)

    async def start_gateways(stack: Stack) -> None:
        for _ in range(gateways):
            await stack.add_gateway()

    async with running_stack(database, workdir, env_extra, gateways=0) as stack:
        await asyncio.gather(start_llm(stack), start_gateways(stack))
        yield stack


def persona(handle: str, model: str, **fields: Any) -> dict[str, Any]:
    """A persona for a request body, named after its handle."""
    return {"handle": handle, "name": handle.capitalize(), "model": model, **fields}


async def create_persona_room(
    api: Api, token: str, *personas: dict[str, Any], name: str = "AI room"
) -> dict[str, Any]:
    """Create a room with `personas` over REST (open, guests allowed)."""
    return await api.create_room(token, name, personas=list(personas))


async def say(member: Member, content: str) -> str:
    """Send `content` over the member's socket; return the stored message's id once acknowledged."""
    cmid = f"say-{uuid.uuid4()}"
    start = len(member.frames)
    await member.send({"type": "send", "content": content, "client_msg_id": cmid})
    ack = await member.wait_for(
        lambda f: f["type"] == "ack" and f["client_msg_id"] == cmid, start=start
    )
    return str(ack["message_id"])


def is_reply(
    message: dict[str, Any], trigger_id: str | None = None, handle: str | None = None
) -> bool:
    """Whether `message` is an AI reply (to `trigger_id`, by `handle`, when given)."""
    return (
        message["author"]["kind"] == "ai"
        and (trigger_id is None or message["reply_to"] == trigger_id)
        and (handle is None or message["author"]["handle"] == handle)
    )


IN_FLIGHT = ("queued", "streaming")  # a reply's states before its final one


async def wait_reply(
    member: Member,
    trigger_id: str,
    handle: str | None = None,
    *,
    final: bool = True,
    timeout: float = WAIT_S,
) -> dict[str, Any]:
    """The AI reply to `trigger_id` as `member` sees it: in its final state, or (final=False)
    as first announced."""
    frame = await member.wait_for(
        lambda f: (
            f["type"] == "message"
            and is_reply(f["message"], trigger_id, handle)
            and (not final or f["message"]["status"] not in IN_FLIGHT)
        ),
        timeout=timeout,
    )
    return frame["message"]


def ai_replies(member: Member) -> list[dict[str, Any]]:
    """The final state of every AI reply `member` has seen, in order of seq."""
    latest: dict[str, dict[str, Any]] = {}
    for message in member.messages():
        if is_reply(message):
            latest[message["id"]] = message
    return sorted(latest.values(), key=lambda m: m["seq"])


def reply_frames(member: Member, message_id: str, start: int = 0) -> list[dict[str, Any]]:
    """Every `message` and `delta` frame about one message (from frame index `start` on)."""
    return [
        f
        for f in member.frames[start:]
        if (f["type"] == "message" and f["message"]["id"] == message_id)
        or (f["type"] == "delta" and f["message_id"] == message_id)
    ]


def shown_text(member: Member, message_id: str) -> str:
    """The text a client shows for a message: upserted on each `message`, extended by `delta`."""
    text = ""
    for frame in reply_frames(member, message_id):
        text = frame["message"]["content"] if frame["type"] == "message" else text + frame["text"]
    return text
