"""The WebSocket protocol (docs/websocket-protocol.md) against real gateway and room processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
import websockets

from tests.support.client import (
    NO_LIMITS,
    WAIT_S,
    Api,
    Member,
    auth,
    running_stack,
)
from tests.support.fixtures import api_fixture, connected, database_fixture, members_fixture
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

RESUME_WINDOW = 5
SOCKET_QUEUE_SIZE = 8
HELLO_TIMEOUT_S = 1


database = database_fixture()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(database: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """One stack per database for most tests; each test makes its own rooms and users.

    A long typing TTL means a typing stop seen here came from the client, not from expiry. The
    hello timeout is the default: a loaded machine may take a while to say hello.
    """
    env = {
        **NO_LIMITS,
        "CHIMERA_RESUME_WINDOW": str(RESUME_WINDOW),
        "CHIMERA_TYPING_TTL_S": "120",
    }
    async with running_stack(database, tmp_path_factory.mktemp("ws"), env) as stack:
        yield stack


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def impatient(shared: Stack) -> int:
    """The index of a gateway of `shared` that waits only HELLO_TIMEOUT_S for a hello.

    Only the test of the timeout connects to it, so no other test's hello can be too slow.
    """
    return await shared.add_gateway(CHIMERA_HELLO_TIMEOUT_S=str(HELLO_TIMEOUT_S))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def tight(database: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """A stack with short typing expiry and small per-socket queues."""
    env = {
        **NO_LIMITS,
        "CHIMERA_TYPING_TTL_S": "0.5",
        "CHIMERA_SOCKET_QUEUE_SIZE": str(SOCKET_QUEUE_SIZE),
    }
    async with running_stack(database, tmp_path_factory.mktemp("tight"), env) as stack:
        yield stack


api = api_fixture()
members = members_fixture()


def is_type(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda frame: frame["type"] == kind


def is_message(content: str) -> Callable[[dict[str, Any]], bool]:
    return lambda frame: frame["type"] == "message" and frame["message"]["content"] == content


def is_presence(
    user: dict[str, Any], online: bool | None = None
) -> Callable[[dict[str, Any]], bool]:
    return lambda frame: (
        frame["type"] == "presence"
        and frame["user"]["id"] == user["id"]
        and (online is None or frame["online"] is online)
    )


def before(member: Member, frame: dict[str, Any]) -> list[dict[str, Any]]:
    """The frames `member` received before `frame` (identity, not equality)."""
    index = next(i for i, f in enumerate(member.frames) if f is frame)
    return member.frames[:index]


async def until_pong(member: Member) -> list[dict[str, Any]]:
    """Ping and wait for the pong; return every frame of this socket before it.

    The gateway answers in order, so whatever it was going to send first has arrived.
    """
    start = len(member.frames)
    await member.send({"type": "ping"})
    return before(member, await member.wait_for(is_type("pong"), start=start))


async def ping(member: Member) -> list[dict[str, Any]]:
    """Like `until_pong`, but only the frames that arrived after the call."""
    start = len(member.frames)
    return (await until_pong(member))[start:]


def messages_in(frames: list[dict[str, Any]]) -> list[int]:
    return [f["message"]["seq"] for f in frames if f["type"] == "message"]


async def close_code(url: str, *frames: str | bytes) -> int:
    """Open a raw socket, send `frames`, read until the server closes it; return the code."""
    async with asyncio.timeout(WAIT_S):
        async with websockets.connect(url, max_size=None) as ws:
            try:
                for frame in frames:
                    await ws.send(frame)
                async for _ in ws:
                    pass
            except websockets.ConnectionClosed:
                pass
    assert ws.close_code is not None
    return ws.close_code


def hello(token: str) -> str:
    return json.dumps({"type": "hello", "token": token})


async def room_and_users(api: Api, *names: str) -> tuple[str, list[tuple[dict[str, Any], str]]]:
    users = [await api.session(name) for name in names]
    room = await api.create_room(users[0][1], "Room")
    return room["id"], users


async def post(api: Api, token: str, room_id: str, content: str) -> dict[str, Any]:
    reply = await api.http.post(
        f"/api/rooms/{room_id}/messages", json={"content": content}, headers=auth(token)
    )
    assert reply.status_code == 201, reply.text
    return reply.json()


# --- connecting ----------------------------------------------------------------------------


async def test_welcome_names_the_room_the_user_and_who_is_online(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    room_id, [(ana, ana_token), (ben, ben_token)] = await room_and_users(api, "Ana", "Ben")
    await post(api, ana_token, room_id, "one")
    await post(api, ana_token, room_id, "two")
    ben_socket = await connected(shared, room_id, ben_token, members)
    ana_socket = await connected(shared, room_id, ana_token, members)

    welcome = ana_socket.frames[0]
    assert welcome["type"] == "welcome"
    assert welcome["room"]["id"] == room_id
    assert welcome["room"]["name"] == "Room"
    assert welcome["room"]["last_seq"] == 2
    assert (welcome["user"]["id"], welcome["user"]["name"]) == (ana["id"], "Ana")
    assert sorted(p["id"] for p in welcome["participants"]) == sorted([ana["id"], ben["id"]])
    assert welcome["last_seq"] == 2
    assert welcome["resumed"] is False
    assert messages_in(await until_pong(ana_socket)) == []  # nothing replayed without last_seq

    online = await ben_socket.wait_for(is_presence(ana))
    assert online["online"] is True
    assert online["user"]["name"] == "Ana"


async def test_no_hello_in_time_closes_4408(shared: Stack, impatient: int, api: Api) -> None:
    room_id, _ = await room_and_users(api, "Ana")
    assert await close_code(shared.ws_url(room_id, impatient)) == 4408


# Expired, revoked and logged-out credentials are in test_tokens.py.
BAD_HELLOS: dict[str, Callable[[str], str | bytes]] = {
    "garbage-token": lambda token: hello("not-a-token"),
    "random-token": lambda token: hello(secrets.token_urlsafe(32)),
    "random-api-token": lambda token: hello("chm_" + secrets.token_urlsafe(32)),
    "tampered-token": lambda token: hello(token[:-1] + ("A" if token[-1] != "A" else "B")),
    "no-token-no-cookie": lambda token: json.dumps({"type": "hello"}),
    "token-not-a-string": lambda token: json.dumps({"type": "hello", "token": 7}),
    "ping-first": lambda token: json.dumps({"type": "ping"}),
    "send-first": lambda token: json.dumps({"type": "send", "content": "hi", "token": token}),
    "not-json": lambda token: "hello?",
    "binary": lambda token: hello(token).encode(),
}


@pytest.mark.parametrize("kind", list(BAD_HELLOS))
async def test_a_bad_hello_closes_4401(shared: Stack, api: Api, kind: str) -> None:
    room_id, [(_, token)] = await room_and_users(api, "Ana")
    assert await close_code(shared.ws_url(room_id), BAD_HELLOS[kind](token)) == 4401


async def test_the_token_the_bad_hellos_were_made_from_joins(shared: Stack, api: Api) -> None:
    """The hellos refused above fail for the reason named, not for how they were sent."""
    room_id, [(ana, token)] = await room_and_users(api, "Ana")
    member = Member(shared.ws_url(room_id), token)
    try:
        welcome = await member.connect()
        assert welcome["user"] == {"id": ana["id"], "name": "Ana"}
        assert welcome["room"]["role"] == "owner"
    finally:
        await member.close()


async def test_an_unknown_room_closes_4403_like_a_room_one_may_not_see(
    shared: Stack, api: Api
) -> None:
    _, token = await api.session("Ana")
    assert await close_code(shared.ws_url(str(uuid.uuid4())), hello(token)) == 4403


# --- bad input -----------------------------------------------------------------------------

BAD_FRAMES: list[tuple[str | bytes, str]] = [
    ("{not json", "invalid_json"),
    ("[" * 5000 + "]" * 5000, "invalid_json"),
    ("[1, 2]", "invalid_frame"),
    ('"ping"', "invalid_frame"),
    ('{"type": "dance"}', "unknown_type"),
    ('{"content": "no type"}', "unknown_type"),
    ('{"type": "send"}', "invalid_frame"),
    ('{"type": "send", "content": 5}', "invalid_frame"),
    ('{"type": "send", "content": "hi", "client_msg_id": 7}', "invalid_frame"),
    ('{"type": "send", "content": "hi", "reply_to": ["x"]}', "invalid_frame"),
    ('{"type": "typing", "active": "yes"}', "invalid_frame"),
    ('{"type": "typing"}', "invalid_frame"),
    ('{"type": "hello", "token": "again"}', "invalid_frame"),
    (b'{"type": "ping"}', "unsupported"),
]


async def test_bad_frames_get_an_error_and_the_connection_stays_usable(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    room_id, [(_, ana_token), (_, ben_token)] = await room_and_users(api, "Ana", "Ben")
    ana = await connected(shared, room_id, ana_token, members)
    ben = await connected(shared, room_id, ben_token, members)
    for frame, code in BAD_FRAMES:
        assert ana.ws is not None
        await ana.ws.send(frame)
        got = [f for f in await ping(ana) if f["type"] != "presence"]
        assert [f["type"] for f in got] == ["error"], (frame, got)
        assert got[0]["code"] == code, (frame, got)
        assert got[0]["message"]

    await ana.send({"type": "send", "content": "still here", "client_msg_id": "ok"})
    ack = await ana.wait_for(is_type("ack"))
    assert ack["client_msg_id"] == "ok"
    seen = await ben.wait_for(is_message("still here"))
    assert not [f for f in before(ben, seen) if f["type"] == "error"]
    assert [m["content"] for m in await api.all_messages(ana_token, room_id)] == ["still here"]


@pytest.mark.parametrize("content", ["", "   ", "x" * 16_001], ids=["empty", "blank", "over-16000"])
async def test_refused_content_gets_an_error_and_stores_nothing(
    shared: Stack, api: Api, members: list[Member], content: str
) -> None:
    room_id, [(_, ana_token), (_, ben_token)] = await room_and_users(api, "Ana", "Ben")
    ana = await connected(shared, room_id, ana_token, members)
    ben = await connected(shared, room_id, ben_token, members)
    await ana.send({"type": "send", "content": content, "client_msg_id": "bad"})
    error = await ana.wait_for(is_type("error"))
    assert error["code"] == "invalid_argument"
    assert error["client_msg_id"] == "bad"

    longest = "é" * 16_000  # the limit counts characters, not bytes
    assert ana.ws is not None
    frame = {"type": "send", "content": longest, "client_msg_id": "good"}
    await ana.ws.send(json.dumps(frame, ensure_ascii=False))  # 32 KB: under the frame limit
    marker = await ben.wait_for(is_type("message"))
    assert marker["message"]["content"] == longest
    assert marker["message"]["seq"] == 1
    assert not [f for f in before(ana, error) if f["type"] in ("ack", "message")]
    assert [m["content"] for m in await api.all_messages(ana_token, room_id)] == [longest]


async def test_a_frame_over_64_kib_closes_1009_and_others_carry_on(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    room_id, [(_, ana_token), (_, ben_token)] = await room_and_users(api, "Ana", "Ben")
    ana = await connected(shared, room_id, ana_token, members)
    ben = await connected(shared, room_id, ben_token, members)
    await ana.send({"type": "send", "content": "x" * (64 * 1024), "client_msg_id": "big"})
    assert await ana.wait_closed() == 1009

    await ben.send({"type": "send", "content": "after", "client_msg_id": "after"})
    seen = await ben.wait_for(is_message("after"))
    assert seen["message"]["seq"] == 1
    assert [m["content"] for m in await api.all_messages(ben_token, room_id)] == ["after"]


# --- sending -------------------------------------------------------------------------------


async def test_a_send_without_client_msg_id_is_acked_with_one(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    room_id, [(_, token)] = await room_and_users(api, "Ana")
    ana = await connected(shared, room_id, token, members)
    await ana.send({"type": "send", "content": "no key"})
    ack = await ana.wait_for(is_type("ack"))
    message = await ana.wait_for(is_type("message"))
    assert ack["client_msg_id"]
    assert ack["duplicate"] is False
    assert ack["message_id"] == message["message"]["id"]
    assert ack["seq"] == message["message"]["seq"] == 1


async def test_a_repeated_client_msg_id_acks_the_original_and_broadcasts_nothing(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    room_id, [(_, ana_token), (_, ben_token)] = await room_and_users(api, "Ana", "Ben")
    ana = await connected(shared, room_id, ana_token, members)
    ben = await connected(shared, room_id, ben_token, members)
    await ana.send({"type": "send", "content": "first", "client_msg_id": "dup"})
    first = await ana.wait_for(lambda f: f["type"] == "ack" and f["client_msg_id"] == "dup")
    assert first["duplicate"] is False

    start = len(ana.frames)
    await ana.send({"type": "send", "content": "changed", "client_msg_id": "dup"})
    again = await ana.wait_for(is_type("ack"), start=start)
    assert again["client_msg_id"] == "dup"
    assert again["duplicate"] is True
    assert (again["message_id"], again["seq"]) == (first["message_id"], first["seq"])

    await ana.send({"type": "send", "content": "marker", "client_msg_id": "marker"})
    for member in (ana, ben):
        marker = await member.wait_for(is_message("marker"))
        seen = [f["message"]["content"] for f in before(member, marker) if f["type"] == "message"]
        assert seen == ["first"]
        assert marker["message"]["seq"] == 2
    history = await api.all_messages(ana_token, room_id)
    assert [m["content"] for m in history] == ["first", "marker"]


async def test_replies_must_name_a_message_of_the_same_room(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    room_id, [(_, token)] = await room_and_users(api, "Ana")
    other_room = await api.create_room(token, "Elsewhere")
    foreign = await post(api, token, other_room["id"], "over there")
    parent = await post(api, token, room_id, "question")
    ana = await connected(shared, room_id, token, members)

    for n, target in enumerate([foreign["id"], str(uuid.uuid4())]):
        start = len(ana.frames)
        await ana.send(
            {"type": "send", "content": "bad", "client_msg_id": f"r{n}", "reply_to": target}
        )
        error = await ana.wait_for(is_type("error"), start=start)
        assert (error["code"], error["client_msg_id"]) == ("invalid_argument", f"r{n}")

    await ana.send(
        {"type": "send", "content": "answer", "client_msg_id": "ok", "reply_to": parent["id"]}
    )
    answer = await ana.wait_for(is_type("message"))
    assert answer["message"]["reply_to"] == parent["id"]
    assert answer["message"]["seq"] == 2
    assert [m["content"] for m in await api.all_messages(token, room_id)] == ["question", "answer"]


# --- resume --------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def seven(shared: Stack) -> AsyncIterator[tuple[str, str]]:
    """A room with seven messages and a member's token, shared by the resume cases."""
    client = Api(shared.base_url())
    try:
        room_id, [(_, token)] = await room_and_users(client, "Ana")
        for n in range(1, 8):
            await post(client, token, room_id, f"m{n}")
        yield room_id, token
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("last_seq", "resumed", "replayed"),
    [
        (3, True, [4, 5, 6, 7]),
        (2, True, [3, 4, 5, 6, 7]),  # a gap of exactly the window
        (1, False, []),  # one past the window: no partial replay
        (0, False, []),
        (7, True, []),  # up to date
        (9, False, []),  # ahead of the room (e.g. a different database)
        (None, False, []),
    ],
)
async def test_hello_with_last_seq_replays_what_was_missed(
    shared: Stack,
    seven: tuple[str, str],
    members: list[Member],
    last_seq: int | None,
    resumed: bool,
    replayed: list[int],
) -> None:
    room_id, token = seven
    member = await connected(shared, room_id, token, members, last_seq=last_seq)
    assert member.frames[0]["type"] == "welcome"
    assert member.frames[0]["resumed"] is resumed
    assert member.frames[0]["last_seq"] == 7
    frames = await until_pong(member)
    assert messages_in(frames) == replayed  # and nothing else up to a pong
    right_after_welcome = frames[1 : 1 + len(replayed)]
    assert messages_in(right_after_welcome) == replayed
    assert [f["message"]["content"] for f in right_after_welcome] == [f"m{s}" for s in replayed]


async def test_a_dropped_member_resumes_with_exactly_what_it_missed(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    room_id, [(_, ana_token), (_, ben_token)] = await room_and_users(api, "Ana", "Ben")
    ana = await connected(shared, room_id, ana_token, members)
    ben = await connected(shared, room_id, ben_token, members)

    async def say(text: str) -> None:
        start = len(ana.frames)
        await ana.send({"type": "send", "content": text, "client_msg_id": text})
        await ana.wait_for(is_type("ack"), start=start)

    for text in ("a", "b"):
        await say(text)
    await ben.wait_until(lambda: len(ben.messages()) == 2)
    await ben.drop()
    for text in ("c", "d", "e"):
        await say(text)

    back = await connected(shared, room_id, ben_token, members, last_seq=ben.last_seq())
    assert back.frames[0]["resumed"] is True
    frames = await until_pong(back)
    assert messages_in(frames[1:4]) == [3, 4, 5]  # right after welcome
    await say("f")
    await back.wait_for(is_message("f"))
    contents = [m["content"] for m in ben.messages() + back.messages()]
    assert contents == ["a", "b", "c", "d", "e", "f"]
    assert back.seqs() == [3, 4, 5, 6]


# --- presence and typing -------------------------------------------------------------------


async def test_a_user_with_two_tabs_goes_offline_only_when_the_last_closes(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    room_id, users = await room_and_users(api, "Ana", "Ben", "Dan")
    [(ana, ana_token), (_, ben_token), (dan, dan_token)] = users
    ben = await connected(shared, room_id, ben_token, members)
    tab1 = await connected(shared, room_id, ana_token, members)
    tab2 = await connected(shared, room_id, ana_token, members)
    dan_socket = await connected(shared, room_id, dan_token, members)
    await ben.wait_for(is_presence(dan))
    ana_presence = [f for f in ben.frames if is_presence(ana)(f)]
    assert [f["online"] for f in ana_presence] == [True]  # the second tab announced nothing

    await tab1.close()
    # Dan leaves through the same gateway stream after tab1: his offline is the barrier.
    await dan_socket.close()
    dan_gone = await ben.wait_for(is_presence(dan, online=False))
    ana_presence = [f for f in before(ben, dan_gone) if is_presence(ana)(f)]
    assert [f["online"] for f in ana_presence] == [True]

    await tab2.close()
    await ben.wait_for(is_presence(ana, online=False))


async def test_typing_reaches_the_others_but_not_the_typers_own_tabs(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    room_id, [(ana, ana_token), (_, ben_token)] = await room_and_users(api, "Ana", "Ben")
    ben = await connected(shared, room_id, ben_token, members)
    tab1 = await connected(shared, room_id, ana_token, members)
    tab2 = await connected(shared, room_id, ana_token, members)

    await tab1.send({"type": "typing", "active": True})
    started = await ben.wait_for(is_type("typing"))
    assert (started["user"]["id"], started["active"]) == (ana["id"], True)
    await tab1.send({"type": "typing", "active": False})
    stopped = await ben.wait_for(is_type("typing"), start=ben.frames.index(started) + 1)
    assert (stopped["user"]["id"], stopped["active"]) == (ana["id"], False)

    await tab1.send({"type": "send", "content": "marker", "client_msg_id": "m"})
    for tab in (tab1, tab2):
        marker = await tab.wait_for(is_message("marker"))
        assert not [f for f in before(tab, marker) if f["type"] == "typing"]


async def test_typing_that_is_never_stopped_expires(tight: Stack, members: list[Member]) -> None:
    client = Api(tight.base_url())
    try:
        room_id, [(ana, ana_token), (_, ben_token)] = await room_and_users(client, "Ana", "Ben")
    finally:
        await client.close()
    ben = await connected(tight, room_id, ben_token, members)
    ana_socket = await connected(tight, room_id, ana_token, members)
    await ana_socket.send({"type": "typing", "active": True})
    started = await ben.wait_for(is_type("typing"))
    assert started["active"] is True
    expired = await ben.wait_for(is_type("typing"), start=ben.frames.index(started) + 1)
    assert (expired["user"]["id"], expired["active"]) == (ana["id"], False)


# --- a slow socket -------------------------------------------------------------------------


async def open_unread_socket(url: str, token: str) -> websockets.ClientConnection:
    """A socket that says hello and then reads nothing.

    Its receive buffer and frame queue are tiny, and it turns compression off so that
    every frame costs its full size in the buffers between the gateway and it.
    """
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
    ws = await websockets.connect(url, sock=sock, max_size=None, max_queue=1, compression=None)
    await ws.send(hello(token))
    return ws


def frames_to_overflow(frame_bytes: int) -> int:
    """More frames than every buffer between the gateway and a reader that never reads holds.

    That is the gateway's largest possible TCP send buffer, its write buffer (64 KiB), the
    socket's queue, and the client's small receive buffer; 32 frames spare.
    """
    try:
        send_buffer_max = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, ValueError, IndexError):
        send_buffer_max = 4 * 1024 * 1024
    return send_buffer_max // frame_bytes + SOCKET_QUEUE_SIZE + 32


async def test_a_socket_that_stops_reading_is_closed_1013_and_others_get_everything(
    tight: Stack, members: list[Member]
) -> None:
    client = Api(tight.base_url())
    try:
        users = await room_and_users(client, "Slow", "Ana", "Ben")
        room_id, [(slow_user, slow_token), (_, ana_token), (_, ben_token)] = users
        ben = await connected(tight, room_id, ben_token, members)
        slow = await open_unread_socket(tight.ws_url(room_id), slow_token)
        try:
            await ben.wait_for(is_presence(slow_user))
            content = "🦥" * 16_000  # about 64 KB on the wire
            count = frames_to_overflow(len(content.encode()))
            sent = [(await post(client, ana_token, room_id, content))["id"] for _ in range(count)]

            # Once Ben has everything, the gateway has offered every frame to the slow socket too.
            await ben.wait_until(lambda: len(ben.messages()) >= count)
            assert [m["id"] for m in ben.messages()] == sent

            got: list[dict[str, Any]] = []
            with contextlib.suppress(websockets.ConnectionClosed):
                async with asyncio.timeout(WAIT_S):
                    async for raw in slow:
                        got.append(json.loads(raw))
            assert slow.close_code == 1013
        finally:
            await slow.close()
        seqs = [f["message"]["seq"] for f in got if f["type"] == "message"]
        assert seqs == list(range(1, len(seqs) + 1))
        assert len(seqs) < count
        await ben.wait_for(is_presence(slow_user, online=False))

        back = await connected(
            tight, room_id, slow_token, members, last_seq=seqs[-1] if seqs else 0
        )
        assert back.welcome is not None and back.welcome["resumed"] is True
        await back.wait_until(lambda: len(back.messages()) == count - len(seqs))
        assert back.seqs() == list(range(len(seqs) + 1, count + 1))
    finally:
        await client.close()
