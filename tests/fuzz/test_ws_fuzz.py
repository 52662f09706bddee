"""A WebSocket fuzzer against real processes: malformed JSON, deep nesting, huge numbers, wrong
types for every field of every frame, invalid UTF-8, binary, oversized and fragmented frames, and
floods. The gateway answers each as documented (an error frame, or a close code), stays up for
fresh clients, leaves members already in the room unaffected, and its memory stays flat."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
import websockets
from websockets.asyncio.client import ClientConnection

from services.gateway.ws.frames import (
    CLIENT_TYPES,
    AudioFrame,
    AutopilotFrame,
    HelloFrame,
    InterruptFrame,
    PingFrame,
    SendFrame,
    TypingFrame,
)
from tests.support.client import WAIT_S, Api, Member, auth, running_stack
from tests.support.raw_http import gateway_rss
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

FRAME_CAP = 64 * 1024  # CHIMERA_MAX_FRAME_BYTES, the default
MEMORY_BOUND = 30 * 1024 * 1024  # growth allowed over a long fuzz round (allocator slack)
FUZZ_ROUNDS = 20
# Gateway 0 lets the fuzzer send as fast as it likes (the fuzz is about content, not rate);
# gateway 1 keeps the default limits, for the floods.
UNLIMITED = {
    "CHIMERA_WS_RATE": "100000",
    "CHIMERA_WS_BURST": "100000",
    "CHIMERA_WS_MAX_PER_USER": "1000",
    "CHIMERA_SESSION_RATE_PER_MIN": "0",
}
DEFAULT_LIMITS = {"CHIMERA_SESSION_RATE_PER_MIN": "0"}
# What an answer to a bad frame may say: never "internal", never a close.
REFUSALS = {"invalid_json", "invalid_frame", "unknown_type", "invalid_argument", "unsupported"}
REFUSALS |= {"not_found"}  # an interrupt of a message id that is not a streaming reply


@dataclass
class Room:
    """The fuzzed room, its members' tokens, and the members watching it on each gateway."""

    id: str
    token: str  # the fuzzer's (a member)
    watchers: list[Member]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with running_stack("sqlite", tmp_path_factory.mktemp("wsfuzz"), UNLIMITED) as stack:
        stack.env_extra = dict(DEFAULT_LIMITS)
        await stack.add_gateway()
        yield stack


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def room(stack: Stack) -> AsyncIterator[Room]:
    """An open room with guests; a watcher in it on each gateway from the start."""
    api = Api(stack.base_url(0))
    try:
        _, owner = await api.session("Owner")
        reply = await api.http.post(
            "/api/rooms",
            json={"name": "Fuzz", "access": "open", "allow_guests": True},
            headers=auth(owner),
        )
        assert reply.status_code == 201, reply.text
        room_id = reply.json()["id"]
        _, fuzzer = await api.session("Fuzzer")
        watchers = []
        for index in range(2):
            _, token = await api.session(f"Watcher {index}")
            watcher = Member(stack.ws_url(room_id, index), token)
            await watcher.connect()
            watchers.append(watcher)
        yield Room(room_id, fuzzer, watchers)
        for watcher in watchers:
            await watcher.close()
    finally:
        await api.close()


# --- talking to the gateway ----------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What the gateway did with one frame: error codes it sent back, or the close code."""

    errors: tuple[str, ...] = ()
    closed: int | None = None


async def welcomed(stack: Stack, room: Room, gateway: int = 0) -> ClientConnection:
    """A socket of the fuzzer's that has said hello and got its welcome."""
    ws = await websockets.connect(stack.ws_url(room.id, gateway), max_size=None)
    await ws.send(json.dumps({"type": "hello", "token": room.token}))
    async with asyncio.timeout(WAIT_S):
        while json.loads(await ws.recv())["type"] != "welcome":
            pass
    return ws


def pongs_owed(payload: Any, text: bool | None) -> int:
    """How many pongs the payload itself earns (a frame that parses as a ping)."""
    if not isinstance(payload, str | bytes) or (isinstance(payload, bytes) and not text):
        return 0
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return 0
    return int(isinstance(data, dict) and data.get("type") == "ping")


async def exchange(ws: ClientConnection, payload: Any, text: bool | None = None) -> Answer:
    """Send `payload`, then a ping; collect error frames until its pong (or the close)."""
    errors: list[str] = []
    try:
        await ws.send(payload, text=text)
        await ws.send('{"type":"ping"}')
        owed = pongs_owed(payload, text) + 1
        async with asyncio.timeout(WAIT_S):
            while owed:
                frame = json.loads(await ws.recv())
                if frame["type"] == "pong":
                    owed -= 1
                elif frame["type"] == "error":
                    errors.append(frame["code"])
    except websockets.ConnectionClosed:
        return Answer(tuple(errors), ws.close_code)
    return Answer(tuple(errors))


async def first_frame_answer(
    stack: Stack, room: Room, payload: str | bytes, text: bool | None = None
) -> str:
    """Open a socket, send `payload` as its first frame: "welcome" or "close:<code>", after the
    codes of any `error` frames before it ("invalid_frame,close:4400")."""
    errors: list[str] = []
    async with asyncio.timeout(WAIT_S):
        async with websockets.connect(stack.ws_url(room.id), max_size=None) as ws:
            try:
                await ws.send(payload, text=text)
                while True:
                    frame = json.loads(await ws.recv())
                    if frame["type"] == "welcome":
                        return "welcome"
                    if frame["type"] == "error":
                        errors.append(frame["code"])
            except websockets.ConnectionClosed:
                return ",".join([*errors, f"close:{ws.close_code}"])


def assert_refused(answer: Answer, payload: Any, *codes: str) -> None:
    """One error frame (of `codes` when given) and the socket still open."""
    assert answer.closed is None, f"closed {answer.closed} on {str(payload)[:120]!r}"
    assert len(answer.errors) == 1, f"{answer.errors} for {str(payload)[:120]!r}"
    assert answer.errors[0] in (codes or REFUSALS), f"{answer.errors} for {str(payload)[:120]!r}"


async def assert_unaffected(stack: Stack, room: Room) -> None:
    """A fresh client on each gateway can still join, send and be heard, and every watcher has
    seen every message of the room, once each, in order."""
    api = Api(stack.base_url(0))
    try:
        _, token = await api.session("Fresh")
        for gateway in range(len(stack.gateways)):
            fresh = Member(stack.ws_url(room.id, gateway), token)
            await fresh.connect()
            content = f"still here {uuid.uuid4()}"
            await fresh.send({"type": "send", "content": content, "client_msg_id": content})
            await fresh.wait_for(
                lambda f, c=content: f["type"] == "ack" and f["client_msg_id"] == c
            )
            for watcher in room.watchers:
                await watcher.wait_for(
                    lambda f, c=content: f["type"] == "message" and f["message"]["content"] == c
                )
            await fresh.close()
        history = await api.all_messages(token, room.id)
    finally:
        await api.close()
    expected = [m["seq"] for m in history]
    for watcher in room.watchers:
        assert watcher.close_code is None, f"a watcher was closed {watcher.close_code}"
        await watcher.wait_until(lambda w=watcher: w.last_seq() >= expected[-1])
        seqs = watcher.seqs()
        assert seqs == sorted(set(seqs)), "a watcher saw messages out of order or twice"
        assert seqs == expected, "a watcher missed messages"


# --- the corpus ----------------------------------------------------------------------------

MALFORMED = [
    "",
    " ",
    "{",
    "}",
    "[",
    '{"type": "ping"',
    "{'type': 'ping'}",
    '{"type": ping}',
    '{"type": "ping",}',
    '{"type": "ping"}{"type": "ping"}',
    "nul",
    "tru",
    "\x00",
    "\ufeff{}",
    '{"type": "send", "content": "unterminated}',
    '{"type": "send", "content": "bad escape \\x41"}',
    '{"type": "send", "content": "\\u12"}',
    "{" * 1000,
]
NOT_OBJECTS = ["[]", "1", "null", "true", '"ping"', "NaN", "-Infinity", '["type", "ping"]']
DEEP = [
    "[" * 32_000 + "]" * 32_000,  # 64,000 bytes: under the cap, far past any recursion limit
    "[" * 65_000,  # unterminated
    '{"a":' * 10_000 + "1" + "}" * 10_000,
    '{"type": "send", "content": "x", "extra": ' + "[" * 30_000 + "]" * 30_000 + "}",
    '{"type": "ping", "extra": ' + '{"a":' * 9_000 + "1" + "}" * 9_000 + "}",
]
HUGE_NUMBERS = [
    '{"type": "typing", "active": 1e400}',
    '{"type": "typing", "active": -1e400}',
    '{"type": "send", "content": "x", "client_msg_id": 1e400}',
    '{"type": "interrupt", "message_id": ' + "9" * 5_000 + "}",  # past int's digit limit
    '{"type": "interrupt", "message_id": ' + "9" * 4_000 + "}",
    '{"type": "typing", "active": ' + "1" * 4_000 + "}",
    '{"type": "send", "content": ' + "-" + "7" * 4_200 + "}",
    '{"type": 1e400}',
    '{"type": ' + "9" * 5_000 + "}",
]
WRONG_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    1.5,
    2**63,
    -(2**64),
    "",
    "x",
    "\ud800",  # a lone surrogate: valid JSON escape, not encodable as UTF-8
    "a\x00b",
    "x" * 5_000,
    [],
    ["x"],
    {},
    {"a": 1},
]
MODELS = {
    "hello": HelloFrame,
    "send": SendFrame,
    "typing": TypingFrame,
    "interrupt": InterruptFrame,
    "ping": PingFrame,
    "autopilot": AutopilotFrame,
    "audio": AudioFrame,
}
INVALID_UTF8 = [b"\xff\xfe\xfd", b'{"type": "ping", "x": "\xc3\x28"}', b"\xc0\xaf", b"\xed\xa0\x80"]


def wrong_types() -> Iterator[str]:
    """Every frame type with each of its fields (and `type` itself) set to each wrong value."""
    assert set(MODELS) == set(CLIENT_TYPES), "a frame type the fuzzer does not know"
    valid: dict[str, dict[str, Any]] = {
        "hello": {"type": "hello", "token": "x"},
        "send": {"type": "send", "content": "fuzz", "client_msg_id": "c"},
        "typing": {"type": "typing", "active": True},
        "interrupt": {"type": "interrupt", "message_id": "m"},
        "ping": {"type": "ping"},
        "autopilot": {"type": "autopilot", "enabled": False},
        "audio": {"type": "audio", "format": "off"},
    }
    for kind, model in MODELS.items():
        for name in model.model_fields:
            for value in WRONG_VALUES:
                if (kind, name, value) == ("autopilot", "enabled", True):
                    continue  # a right value: it would set the fuzzed room's autopilot going
                frame = {**valid[kind], name: value}
                if kind == "send" and name != "client_msg_id":
                    frame["client_msg_id"] = f"c-{uuid.uuid4()}"  # distinct, so never duplicates
                yield json.dumps(frame)


def padded_ping(size: int) -> str:
    """A ping of exactly `size` bytes."""
    head, tail = '{"type": "ping", "pad": "', '"}'
    payload = head + "x" * (size - len(head) - len(tail)) + tail
    assert len(payload.encode()) == size
    return payload


def corpus() -> list[str]:
    """Every frame of the fuzz that a welcomed socket must survive."""
    return [*MALFORMED, *NOT_OBJECTS, *DEEP, *HUGE_NUMBERS, *wrong_types()]


# --- tests ---------------------------------------------------------------------------------


async def test_malformed_json_gets_an_error_frame_and_the_socket_stays(
    stack: Stack, room: Room
) -> None:
    ws = await welcomed(stack, room)
    try:
        for payload in MALFORMED:
            assert_refused(await exchange(ws, payload), payload, "invalid_json")
        for payload in NOT_OBJECTS:
            assert_refused(await exchange(ws, payload), payload, "invalid_frame")
    finally:
        await ws.close()
    await assert_unaffected(stack, room)


async def test_deep_nesting_and_huge_numbers_are_refused_without_harm(
    stack: Stack, room: Room
) -> None:
    ws = await welcomed(stack, room)
    try:
        for payload in [*DEEP, *HUGE_NUMBERS]:
            answer = await exchange(ws, payload)
            assert answer.closed is None, f"closed {answer.closed} on {payload[:80]!r}"
            assert set(answer.errors) <= {"invalid_json", "invalid_frame", "unknown_type"}, (
                f"{answer.errors} for {payload[:80]!r}"
            )
            # Only a well-formed ping under all that nesting is accepted.
            assert answer.errors or pongs_owed(payload, None), payload[:80]
    finally:
        await ws.close()
    await assert_unaffected(stack, room)


async def test_wrong_types_in_every_field_of_every_frame(stack: Stack, room: Room) -> None:
    ws = await welcomed(stack, room)
    try:
        for payload in wrong_types():
            answer = await exchange(ws, payload)
            assert answer.closed is None, f"closed {answer.closed} on {payload[:120]!r}"
            assert set(answer.errors) <= REFUSALS, f"{answer.errors} for {payload[:120]!r}"
    finally:
        await ws.close()
    await assert_unaffected(stack, room)


async def test_a_bad_first_frame_closes_4401(stack: Stack, room: Room) -> None:
    bad_firsts: list[tuple[str | bytes, bool | None]] = [
        (payload, None) for payload in [*MALFORMED, *NOT_OBJECTS, *DEEP[:2]]
    ]
    bad_firsts += [(b'{"type": "hello"}', None), (b"\x00\x01", None)]  # binary
    bad_firsts += [(json.dumps({"type": "ping"}), None), (json.dumps({"type": "hello"}), None)]
    for value in WRONG_VALUES:
        bad_firsts.append((json.dumps({"type": "hello", "token": value}), None))
    # Digits past Python's int limit: the frame does not decode, so it is not a hello at all.
    huge = json.dumps({"type": "hello", "token": room.token, "last_seq": 0})
    bad_firsts.append((huge.replace('"last_seq": 0', f'"last_seq": {"9" * 5_000}'), None))
    for payload, text in bad_firsts:
        outcome = await first_frame_answer(stack, room, payload, text)
        assert outcome == "close:4401", f"{outcome} for {str(payload)[:80]!r}"
    await assert_unaffected(stack, room)


async def test_a_hello_with_a_bad_last_seq_is_an_invalid_frame_not_a_sign_in(
    stack: Stack, room: Room
) -> None:
    """A mistyped or out-of-range last_seq is a client bug: `error` invalid_frame, then 4400."""
    hellos = [
        json.dumps({"type": "hello", "token": room.token, "last_seq": value})
        for value in WRONG_VALUES
        if value is not None and not (isinstance(value, int) and not isinstance(value, bool))
    ]
    for big in ("1e400", "-1", str(2**63), "9" * 4_000):
        hello = json.dumps({"type": "hello", "token": room.token, "last_seq": 0})
        hellos.append(hello.replace('"last_seq": 0', f'"last_seq": {big}'))
    for payload in hellos:
        outcome = await first_frame_answer(stack, room, payload)
        assert outcome == "invalid_frame,close:4400", f"{outcome} for {payload[:80]!r}"
    await assert_unaffected(stack, room)


async def test_invalid_utf8_in_a_text_frame_closes_1007(stack: Stack, room: Room) -> None:
    for payload in INVALID_UTF8:
        ws = await welcomed(stack, room)
        answer = await exchange(ws, payload, text=True)
        assert answer.closed == 1007, f"{answer} for {payload!r}"
        assert await first_frame_answer(stack, room, payload, text=True) == "close:1007"
    await assert_unaffected(stack, room)


async def test_binary_frames_get_unsupported_and_the_socket_stays(stack: Stack, room: Room) -> None:
    ws = await welcomed(stack, room)
    try:
        for payload in [b'{"type": "ping"}', b"", b"\x00" * 1000, bytes(range(256))]:
            assert_refused(await exchange(ws, payload), payload, "unsupported")
    finally:
        await ws.close()
    await assert_unaffected(stack, room)


@pytest.mark.parametrize(
    ("payload", "text"),
    [
        (padded_ping(FRAME_CAP + 1), None),
        ('{"type": "ping", "pad": "' + "é" * (FRAME_CAP // 2) + '"}', None),  # chars < cap
        ("😀" * (FRAME_CAP // 4 + 1), None),
        (b"\x00" * (FRAME_CAP + 1), None),
        ("x" * (4 * 1024 * 1024), None),
        (["x" * 1024] * 65, None),  # fragments of 1 KiB, 65 KiB in all
    ],
    ids=["text-just-over", "multibyte-chars", "emoji", "binary", "4-MiB", "fragmented"],
)
async def test_oversized_frames_close_1009(
    stack: Stack, room: Room, payload: Any, text: bool | None
) -> None:
    size = (
        sum(len(p.encode()) for p in payload)
        if isinstance(payload, list)
        else len(payload.encode() if isinstance(payload, str) else payload)
    )
    assert size > FRAME_CAP
    ws = await welcomed(stack, room)
    assert await close_code_after(ws, payload, text) == 1009
    await assert_unaffected(stack, room)


async def close_code_after(ws: ClientConnection, payload: Any, text: bool | None) -> int | None:
    """Send a frame the gateway must close the socket for, and wait for the close.

    Nothing is sent after it: a second send racing the gateway's close can trip the client
    library itself (its transport is already gone), which says nothing about the gateway.
    """
    with contextlib.suppress(websockets.ConnectionClosed):
        await ws.send(payload, text=text)
    async with asyncio.timeout(WAIT_S):
        await ws.wait_closed()
    return ws.close_code


async def test_a_frame_of_exactly_the_cap_is_accepted(stack: Stack, room: Room) -> None:
    payload = padded_ping(FRAME_CAP)
    ws = await welcomed(stack, room)
    try:
        answer = await exchange(ws, payload)
    finally:
        await ws.close()
    assert answer == Answer(), answer


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "ping"},
        {"type": "typing", "active": True},
        "not json",
    ],
    ids=["pings", "typing", "garbage"],
)
async def test_a_flood_is_rate_limited_then_closed_4429(
    stack: Stack, room: Room, frame: Any
) -> None:
    payload = frame if isinstance(frame, str) else json.dumps(frame)
    ws = await welcomed(stack, room, gateway=1)
    errors: list[str] = []
    try:
        async with asyncio.timeout(WAIT_S):
            for _ in range(200):
                await ws.send(payload)
            while True:
                answer = json.loads(await ws.recv())
                if answer["type"] == "error":
                    errors.append(answer["code"])
    except websockets.ConnectionClosed:
        pass
    assert ws.close_code == 4429, (ws.close_code, errors[-5:])
    assert "rate_limited" in errors, errors[:40]
    await assert_unaffected(stack, room)


async def test_gateway_memory_stays_flat_over_a_long_fuzz_round(stack: Stack, room: Room) -> None:
    frames = corpus()

    async def one_round() -> None:
        ws = await welcomed(stack, room)
        try:
            for payload in frames:
                answer = await exchange(ws, payload)
                assert answer.closed is None, payload[:80]
        finally:
            await ws.close()
        for payload in [b"\xff" * 10, "x" * (FRAME_CAP + 1)]:  # sockets the server closes
            ws = await welcomed(stack, room)
            await exchange(ws, payload, text=True if isinstance(payload, bytes) else None)

    await one_round()  # warm up: caches, allocator arenas
    before = gateway_rss(stack)
    for _ in range(FUZZ_ROUNDS):
        await one_round()
    after = gateway_rss(stack)
    assert after - before < MEMORY_BOUND, f"gateway RSS grew {(after - before) / 2**20:.1f} MiB"
    await assert_unaffected(stack, room)
