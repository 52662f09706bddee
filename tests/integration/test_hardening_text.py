"""Text no store can hold, invisible content, disguised names, loose types and unknown models are
refused on every path (REST, WebSocket, the room service's own gRPC) with a clear 4xx or
INVALID_ARGUMENT, on SQLite and PostgreSQL; the server keeps answering and the room keeps
taking messages."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest
import pytest_asyncio
import websockets

from services.common.net import free_port
from services.common.pb import room_pb2 as pb
from services.common.pb.room_pb2_grpc import RoomServiceStub
from tests.support.client import PASSWORD, Api, auth, running_ai_stack
from tests.support.fixtures import api_fixture, closing_members, connected, database_fixture
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

MODEL = "known"
NUL = "a\x00b"
SURROGATE = "a\ud800b"
HOSTILE = [NUL, SURROGATE]
NO_LIMITS = {
    "CHIMERA_SESSION_RATE_PER_MIN": "0",
    "CHIMERA_LOGIN_RATE_PER_MIN": "0",
    "CHIMERA_REGISTER_RATE_PER_MIN": "0",
    "CHIMERA_WS_RATE": "0",
}
INVISIBLE = ["\u200b", "\ufeff", " \u200b\u2060 ", "\u3164", "\u200d\ufe0f"]
DISGUISED_NAMES = ["Ana\u202e", "\u2066Ben\u2069", "A\u200bna", "\u200e", "x\u00adx"]

database = database_fixture()
api = api_fixture()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(database: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    # The model's server is not there: the LLM node knows the id (and says it is unavailable).
    registry = (
        f'[[models]]\nid = "{MODEL}"\nbackend = "openai_compatible"\n'
        f'base_url = "http://127.0.0.1:{free_port("127.0.0.1")}/v1"\nmodel = "{MODEL}"\n'
    )
    workdir = tmp_path_factory.mktemp("hostile-text")
    async with running_ai_stack(database, workdir, registry, NO_LIMITS) as stack:
        yield stack


def persona(**fields: Any) -> dict[str, Any]:
    return {"handle": "alpha", "name": "Alpha", "model": MODEL, **fields}


def dumps(body: Any) -> bytes:
    """JSON with lone surrogates escaped (as any client may send them)."""
    return json.dumps(body).encode()


async def send_json(
    api: Api, method: str, path: str, body: Any, token: str | None = None
) -> httpx.Response:
    headers = {"Content-Type": "application/json", **(auth(token) if token else {})}
    return await api.http.request(method, path, content=dumps(body), headers=headers)


def assert_refused(reply: Any, what: Any) -> None:
    assert reply.status_code == 400, (what, reply.status_code, reply.text)
    assert reply.json()["error"]["code"] == "invalid_argument", (what, reply.text)


async def still_works(api: Api, token: str, room_id: str) -> None:
    """The server answers, and the room stores and lists a normal message."""
    content = f"normal {uuid.uuid4()}"
    reply = await api.http.post(
        f"/api/rooms/{room_id}/messages", json={"content": content}, headers=auth(token)
    )
    assert reply.status_code == 201, reply.text
    history = await api.history(token, room_id)
    assert history["messages"][-1]["content"] == content


# --- store-hostile text over REST -----------------------------------------------------------


async def test_hostile_text_in_every_rest_field_is_400_and_the_room_still_works(
    shared: Stack, api: Api
) -> None:
    _, token = await api.register()
    room = await api.create_room(token, personas=[persona()])
    rid = room["id"]
    for bad in HOSTILE:
        requests: list[tuple[str, str, Any]] = [
            ("POST", "/api/session", {"name": bad}),
            ("POST", "/api/auth/register", {"username": f"u{bad}", "password": PASSWORD}),
            ("POST", "/api/auth/register", {"username": "okname1", "password": PASSWORD + bad}),
            (
                "POST",
                "/api/auth/register",
                {"username": "okname2", "password": PASSWORD, "name": bad},
            ),
            ("POST", "/api/auth/login", {"username": bad, "password": PASSWORD}),
            ("POST", "/api/tokens", {"name": bad}),
            ("POST", "/api/rooms", {"name": bad}),
            ("PATCH", f"/api/rooms/{rid}", {"name": bad}),
            ("PATCH", f"/api/rooms/{rid}", {"autopilot": {"summary_model": bad}}),
            ("PATCH", f"/api/rooms/{rid}", {"autopilot": {"strategy": bad}}),
            ("POST", f"/api/rooms/{rid}/messages", {"content": bad}),
            ("POST", f"/api/rooms/{rid}/messages", {"content": "hi", "client_msg_id": bad}),
            ("POST", f"/api/rooms/{rid}/messages", {"content": "hi", "reply_to": bad}),
        ]
        for field in ("handle", "name", "model", "system_prompt"):
            requests.append(
                ("POST", "/api/rooms", {"name": "R", "personas": [persona(**{field: bad})]})
            )
            requests.append(("PATCH", f"/api/rooms/{rid}", {"personas": [persona(**{field: bad})]}))
        for method, path, body in requests:
            reply = await send_json(api, method, path, body, token)
            if path == "/api/auth/login":
                assert reply.status_code in (400, 401), (body, reply.text)
            else:
                assert_refused(reply, (path, body))
    # An id in a path that no store can hold: refused as bad input, never a 500.
    for path in (f"/api/rooms/{NUL}", f"/api/rooms/{rid}/messages/{NUL}/interrupt"):
        method = "POST" if path.endswith("interrupt") else "GET"
        reply = await api.http.request(method, path.replace("\x00", "%00"), headers=auth(token))
        assert reply.status_code in (400, 404), (path, reply.text)
    await still_works(api, token, rid)


# --- store-hostile text over WebSocket ------------------------------------------------------


async def test_hostile_text_in_a_send_frame_is_refused_and_the_room_goes_on(
    shared: Stack, api: Api
) -> None:
    _, token = await api.register()
    room = await api.create_room(token)
    async with closing_members() as opened:
        ana = await connected(shared, room["id"], token, opened)
        frames = [
            {"type": "send", "content": NUL, "client_msg_id": "n1"},
            {"type": "send", "content": "hi", "client_msg_id": NUL},
            {"type": "send", "content": "hi", "client_msg_id": "n3", "reply_to": NUL},
            {"type": "interrupt", "message_id": NUL},
            {"type": "autopilot", "summary_model": NUL},
            {"type": "autopilot", "strategy": NUL},
        ]
        for frame in frames:
            start = len(ana.frames)
            await ana.send(frame)
            error = await ana.wait_for(lambda f: f["type"] == "error", start=start)
            assert error["code"] in ("invalid_frame", "invalid_argument"), (frame, error)
        start = len(ana.frames)
        await ana.send({"type": "send", "content": "after", "client_msg_id": "ok"})
        ack = await ana.wait_for(lambda f: f["type"] == "ack", start=start)
        assert ack["client_msg_id"] == "ok"
    assert [m["content"] for m in await api.all_messages(token, room["id"])] == ["after"]
    await still_works(api, token, room["id"])


# --- store-hostile text straight to the room service ----------------------------------------


async def test_hostile_text_over_grpc_is_invalid_argument_never_internal(
    shared: Stack, api: Api
) -> None:
    user, token = await api.register()
    room = await api.create_room(token)
    author = pb.User(id=user["id"], name=user["name"])
    async with shared.channel(shared.room_addr) as channel:
        rooms = RoomServiceStub(channel)
        calls = [
            rooms.PostMessage(
                pb.PostMessageRequest(room_id=room["id"], author=author, content=NUL)
            ),
            rooms.PostMessage(
                pb.PostMessageRequest(
                    room_id=room["id"], author=author, content="hi", client_msg_id=NUL
                )
            ),
            rooms.PostMessage(pb.PostMessageRequest(room_id=NUL, author=author, content="hi")),
            rooms.CreateRoom(pb.CreateRoomRequest(actor=author, name=NUL)),
            rooms.GetRoom(pb.GetRoomRequest(room_id=NUL, actor=author)),
        ]
        for field in ("name", "model", "system_prompt"):
            fields = {"handle": "alpha", "name": "Alpha", "model": MODEL, field: NUL}
            calls.append(
                rooms.CreateRoom(
                    pb.CreateRoomRequest(actor=author, name="R", personas=[pb.Persona(**fields)])
                )
            )
        for call in calls:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call
            assert caught.value.code() in (
                grpc.StatusCode.INVALID_ARGUMENT,
                grpc.StatusCode.NOT_FOUND,
            ), caught.value.details()
    await still_works(api, token, room["id"])


# --- invisible content and disguised names --------------------------------------------------


@pytest.mark.parametrize("content", INVISIBLE, ids=["zwsp", "bom", "mixed", "filler", "zwj"])
async def test_content_of_only_invisible_characters_is_refused(
    shared: Stack, api: Api, content: str
) -> None:
    _, token = await api.session("Ana")
    room = await api.create_room(token)
    reply = await api.http.post(
        f"/api/rooms/{room['id']}/messages", json={"content": content}, headers=auth(token)
    )
    assert_refused(reply, content)
    async with closing_members() as opened:
        ana = await connected(shared, room["id"], token, opened)
        await ana.send({"type": "send", "content": content, "client_msg_id": "inv"})
        error = await ana.wait_for(lambda f: f["type"] == "error")
        assert (error["code"], error["client_msg_id"]) == ("invalid_argument", "inv")
    # Emoji joined with ZWJ are content, not invisible.
    reply = await api.http.post(
        f"/api/rooms/{room['id']}/messages", json={"content": "👩\u200d💻"}, headers=auth(token)
    )
    assert reply.status_code == 201, reply.text
    assert (await api.history(token, room["id"]))["messages"][-1]["content"] == "👩\u200d💻"


@pytest.mark.parametrize("name", DISGUISED_NAMES, ids=["rlo", "isolate", "zwsp", "lrm", "shy"])
async def test_names_with_format_characters_are_refused(shared: Stack, api: Api, name: str) -> None:
    assert_refused(await api.http.post("/api/session", json={"name": name}), name)
    _, token = await api.register()
    reply = await api.http.post("/api/rooms", json={"name": name}, headers=auth(token))
    assert_refused(reply, name)
    body = {"name": "R", "personas": [persona(name=name)]}
    assert_refused(await api.http.post("/api/rooms", json=body, headers=auth(token)), name)
    assert_refused(
        await api.http.post("/api/tokens", json={"name": name}, headers=auth(token)), name
    )
    # An emoji sequence is a fine name.
    user, _ = await api.session("👩\u200d💻 Ana")
    assert user["name"] == "👩\u200d💻 Ana"


# --- strict types ---------------------------------------------------------------------------


async def test_strings_are_not_coerced_to_booleans_or_numbers(shared: Stack, api: Api) -> None:
    _, token = await api.register()
    loose: list[dict[str, Any]] = [
        {"name": "R", "allow_guests": "yes"},
        {"name": "R", "allow_guests": 1},
        {"name": "R", "personas": [persona(max_tokens=1.5)]},
        {"name": "R", "personas": [persona(max_tokens="64")]},
        {"name": "R", "personas": [persona(temperature="0.5")]},
        {"name": "R", "personas": [persona(muted="true")]},
    ]
    for body in loose:
        assert_refused(await api.http.post("/api/rooms", json=body, headers=auth(token)), body)
    assert_refused(
        await api.http.post(
            "/api/tokens", json={"name": "t", "expires_in_days": "3"}, headers=auth(token)
        ),
        "expires_in_days",
    )
    # A JSON integer is a number: temperature 1 is 1.0.
    body = {"name": "R", "allow_guests": True, "personas": [persona(temperature=1)]}
    reply = await api.http.post("/api/rooms", json=body, headers=auth(token))
    assert reply.status_code == 201, reply.text
    assert reply.json()["personas"][0]["temperature"] == 1.0
    room_id = reply.json()["id"]
    reply = await api.http.patch(
        f"/api/rooms/{room_id}", json={"autopilot": {"max_turns": "5"}}, headers=auth(token)
    )
    assert_refused(reply, "max_turns")


# --- model ids against the registry ---------------------------------------------------------


async def test_unknown_model_ids_are_refused_naming_the_model(shared: Stack, api: Api) -> None:
    _, token = await api.register()
    body = {"name": "R", "personas": [persona(model="no-such-model")]}
    reply = await api.http.post("/api/rooms", json=body, headers=auth(token))
    assert_refused(reply, body)
    message = reply.json()["error"]["message"]
    assert "no-such-model" in message and "/api/models" in message
    room = await api.create_room(token, personas=[persona()])
    reply = await api.http.patch(
        f"/api/rooms/{room['id']}",
        json={"personas": [persona(), persona(handle="beta", model="nope")]},
        headers=auth(token),
    )
    assert_refused(reply, "patch personas")
    assert "nope" in reply.json()["error"]["message"]
    reply = await api.http.patch(
        f"/api/rooms/{room['id']}",
        json={"autopilot": {"summary_model": "nope"}},
        headers=auth(token),
    )
    assert_refused(reply, "summary_model")
    assert "nope" in reply.json()["error"]["message"]
    # Refused as a whole: an owner field in the same PATCH is not changed either.
    reply = await api.http.patch(
        f"/api/rooms/{room['id']}",
        json={"name": "Renamed", "autopilot": {"summary_model": "nope"}},
        headers=auth(token),
    )
    assert_refused(reply, "name with summary_model")
    fetched = (await api.http.get(f"/api/rooms/{room['id']}", headers=auth(token))).json()
    assert fetched["name"] == room["name"]
    async with closing_members() as opened:
        ana = await connected(shared, room["id"], token, opened)
        await ana.send({"type": "autopilot", "summary_model": "nope"})
        error = await ana.wait_for(lambda f: f["type"] == "error")
        assert error["code"] == "invalid_argument" and "nope" in error["message"]
    reply = await api.http.patch(
        f"/api/rooms/{room['id']}",
        json={"autopilot": {"summary_model": MODEL}},
        headers=auth(token),
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["autopilot"]["summary_model"] == MODEL
    fetched = (await api.http.get(f"/api/rooms/{room['id']}", headers=auth(token))).json()
    assert [p["model"] for p in fetched["personas"]] == [MODEL]


# --- hello --------------------------------------------------------------------------------


@pytest.mark.parametrize("last_seq", [-1, "abc", 1.5], ids=["negative", "string", "float"])
async def test_a_hello_with_a_bad_last_seq_is_an_invalid_frame(
    shared: Stack, api: Api, last_seq: Any
) -> None:
    _, token = await api.session("Ana")
    room = await api.create_room(token)
    async with websockets.connect(shared.ws_url(room["id"])) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token, "last_seq": last_seq}))
        error = json.loads(await ws.recv())
        assert (error["type"], error["code"]) == ("error", "invalid_frame")
        assert "last_seq" in error["message"]
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
    assert ws.close_code == 4400
