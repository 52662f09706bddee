"""The gateway's REST API as a client sees it: sessions, rooms, messages, errors, health."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.support.client import (
    DATABASES,
    NO_LIMITS,
    Api,
    Member,
    auth,
    running_stack,
)
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=DATABASES)
async def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """One stack per database for the whole module; every test makes its own rooms and users."""
    workdir = tmp_path_factory.mktemp(request.param)
    async with running_stack(request.param, workdir, NO_LIMITS) as stack:
        yield stack


@pytest_asyncio.fixture(loop_scope="module")
async def client(shared: Stack) -> AsyncIterator[Api]:
    api = Api(shared.base_url())
    try:
        yield api
    finally:
        await api.close()


def assert_error(reply: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The reply is `status` with exactly the error shape; return its `error` object."""
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message"}, body
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, body
    return error


async def post(api: Api, token: str, room_id: str, content: str, **fields: Any) -> httpx.Response:
    return await api.http.post(
        f"/api/rooms/{room_id}/messages",
        json={"content": content, **fields},
        headers=auth(token),
    )


async def room_with_messages(api: Api, token: str, count: int) -> str:
    room = await api.create_room(token, "Pages")
    for n in range(1, count + 1):
        assert (await post(api, token, room["id"], f"m{n}")).status_code == 201
    return room["id"]


# --- session -------------------------------------------------------------------------------


async def test_session_returns_a_guest_and_a_working_token(client: Api) -> None:
    reply = await client.http.post("/api/session", json={"name": "  Zoë 🚀  "})
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["user"]["name"] == "Zoë 🚀"
    assert body["user"]["id"]
    assert (body["user"]["kind"], body["user"]["username"]) == ("guest", None)
    assert len(body["token"]) >= 32  # an opaque random secret, not a readable token
    rooms = await client.http.get("/api/rooms", headers=auth(body["token"]))
    assert rooms.status_code == 200
    me = await client.http.get("/api/me", headers=auth(body["token"]))
    assert me.json()["id"] == body["user"]["id"]


async def test_each_session_gets_its_own_user_id(client: Api) -> None:
    first, _ = await client.session("Ana")
    second, _ = await client.session("Ana")
    assert first["id"] != second["id"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 65},
        {"name": "bad\x00name"},
        {"name": "tab\tname"},
        {"name": 42},
        {},
    ],
    ids=["empty", "blank", "too-long", "nul", "tab", "not-a-string", "missing"],
)
async def test_session_rejects_a_bad_display_name(client: Api, body: dict[str, Any]) -> None:
    reply = await client.http.post("/api/session", json=body)
    assert_error(reply, 400, "invalid_argument")


async def test_session_accepts_a_name_of_exactly_64_characters(client: Api) -> None:
    user, _ = await client.session("x" * 64)
    assert user["name"] == "x" * 64


# --- authentication ------------------------------------------------------------------------


def tampered(token: str) -> str:
    """`token` with its last character changed."""
    return token[:-1] + ("A" if token[-1] != "A" else "B")


# Expired, revoked and logged-out credentials are in test_tokens.py.
BAD_TOKENS = {
    "missing": lambda token: None,
    "garbage": lambda token: "not-a-token",
    "random": lambda token: secrets.token_urlsafe(32),
    "random-api-token": lambda token: "chm_" + secrets.token_urlsafe(32),
    "tampered": tampered,
    "too-long": lambda token: token * 200,
}


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
async def test_requests_without_a_valid_token_are_401(client: Api, kind: str) -> None:
    _, real = await client.session("Ana")
    token = BAD_TOKENS[kind](real)
    headers = {} if token is None else auth(token)
    for method, path in [
        ("GET", "/api/rooms"),
        ("POST", "/api/rooms"),
        ("GET", f"/api/rooms/{uuid.uuid4()}/messages"),
    ]:
        reply = await client.http.request(method, path, headers=headers, json={"name": "x"})
        assert_error(reply, 401, "unauthenticated")
        assert reply.headers["www-authenticate"] == "Bearer"


async def test_the_token_the_bad_ones_were_made_from_is_accepted(client: Api) -> None:
    """The tokens rejected above fail for the reason named, not for how they were sent."""
    user, token = await client.session("Ana")
    room = await client.create_room(token, "My room")
    assert room["created_by"] == user["id"]


async def test_a_basic_auth_header_is_401(client: Api) -> None:
    reply = await client.http.get("/api/rooms", headers={"Authorization": "Basic YTpi"})
    assert_error(reply, 401, "unauthenticated")


# --- rooms ---------------------------------------------------------------------------------


async def test_create_list_and_get_a_room(client: Api) -> None:
    user, token = await client.session("Ana")
    reply = await client.http.post(
        "/api/rooms", json={"name": "Design review"}, headers=auth(token)
    )
    assert reply.status_code == 201, reply.text
    room = reply.json()
    assert room["name"] == "Design review"
    assert room["id"]
    assert room["created_by"] == user["id"]
    assert room["last_seq"] == 0
    assert datetime.fromisoformat(room["created_at"]).tzinfo is not None

    # Invite-only by default; a guest's own room admits guests, or its owner could not use it.
    assert (room["access"], room["allow_guests"], room["role"]) == ("invite", True, "owner")
    listed = await client.http.get("/api/rooms", headers=auth(token))
    assert room in listed.json()["rooms"]
    got = await client.http.get(f"/api/rooms/{room['id']}", headers=auth(token))
    assert got.json() == room

    # Open to guests: another guest sees it too, as a non-member.
    reply = await client.http.patch(
        f"/api/rooms/{room['id']}",
        json={"access": "open", "allow_guests": True},
        headers=auth(token),
    )
    assert reply.status_code == 200, reply.text
    room = reply.json()
    _, other = await client.session("Ben")
    listed = await client.http.get("/api/rooms", headers=auth(other))
    assert listed.status_code == 200
    assert {**room, "role": None} in listed.json()["rooms"]
    got = await client.http.get(f"/api/rooms/{room['id']}", headers=auth(other))
    assert got.status_code == 200
    assert got.json() == {**room, "role": None}


@pytest.mark.parametrize(
    "name", ["", "   ", "x" * 201, "a\nb"], ids=["empty", "blank", "long", "nl"]
)
async def test_a_bad_room_name_is_400(client: Api, name: str) -> None:
    _, token = await client.session("Ana")
    reply = await client.http.post("/api/rooms", json={"name": name}, headers=auth(token))
    assert_error(reply, 400, "invalid_argument")


async def test_an_unknown_room_is_404_everywhere(client: Api) -> None:
    _, token = await client.session("Ana")
    room_id = str(uuid.uuid4())
    headers = auth(token)
    assert_error(await client.http.get(f"/api/rooms/{room_id}", headers=headers), 404, "not_found")
    reply = await client.http.patch(f"/api/rooms/{room_id}", json={"name": "x"}, headers=headers)
    assert_error(reply, 404, "not_found")
    reply = await client.http.get(f"/api/rooms/{room_id}/messages", headers=headers)
    assert_error(reply, 404, "not_found")
    assert_error(await post(client, token, room_id, "hello"), 404, "not_found")


async def test_rename_is_visible_in_get_and_pushed_live(shared: Stack, client: Api) -> None:
    _, token = await client.session("Ana")
    _, watcher_token = await client.session("Ben")
    room = await client.create_room(token, "Old name")
    watcher = Member(shared.ws_url(room["id"]), watcher_token)
    await watcher.connect()
    try:
        reply = await client.http.patch(
            f"/api/rooms/{room['id']}", json={"name": "New name"}, headers=auth(token)
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["name"] == "New name"
        got = await client.http.get(f"/api/rooms/{room['id']}", headers=auth(watcher_token))
        assert got.json()["name"] == "New name"
        pushed = await watcher.wait_for(lambda f: f["type"] == "room")
        assert pushed["room"]["id"] == room["id"]
        assert pushed["room"]["name"] == "New name"
    finally:
        await watcher.close()


async def test_a_rename_to_a_bad_name_changes_nothing(client: Api) -> None:
    _, token = await client.session("Ana")
    room = await client.create_room(token, "Keep me")
    reply = await client.http.patch(
        f"/api/rooms/{room['id']}", json={"name": " "}, headers=auth(token)
    )
    assert_error(reply, 400, "invalid_argument")
    got = await client.http.get(f"/api/rooms/{room['id']}", headers=auth(token))
    assert got.json()["name"] == "Keep me"


# --- messages ------------------------------------------------------------------------------


async def test_post_a_message_and_members_see_it_live(shared: Stack, client: Api) -> None:
    user, token = await client.session("Ana")
    _, watcher_token = await client.session("Ben")
    room = await client.create_room(token)
    watcher = Member(shared.ws_url(room["id"]), watcher_token)
    await watcher.connect()
    try:
        reply = await post(client, token, room["id"], "hello there", client_msg_id="c1")
        assert reply.status_code == 201, reply.text
        message = reply.json()
        assert message["room_id"] == room["id"]
        assert message["seq"] == 1
        author = message["author"]
        assert (author["id"], author["name"], author["kind"]) == (user["id"], "Ana", "human")
        assert message["content"] == "hello there"
        assert message["reply_to"] is None
        assert message["status"] == "complete"
        assert datetime.fromisoformat(message["created_at"]).tzinfo is not None
        live = await watcher.wait_for(lambda f: f["type"] == "message")
        assert live["message"] == message
    finally:
        await watcher.close()
    history = await client.history(token, room["id"])
    assert (history["messages"], history["has_more"]) == ([message], False)


async def test_the_same_client_msg_id_returns_the_original_and_stores_nothing(client: Api) -> None:
    _, token = await client.session("Ana")
    room = await client.create_room(token)
    first = await post(client, token, room["id"], "original", client_msg_id="retry-me")
    assert first.status_code == 201
    again = await post(client, token, room["id"], "edited on retry", client_msg_id="retry-me")
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    history = await client.history(token, room["id"])
    assert [m["content"] for m in history["messages"]] == ["original"]
    room_now = (await client.http.get(f"/api/rooms/{room['id']}", headers=auth(token))).json()
    assert room_now["last_seq"] == 1


async def test_a_client_msg_id_is_per_user(client: Api) -> None:
    _, ana = await client.session("Ana")
    _, ben = await client.session("Ben")
    room = await client.create_room(ana)
    assert (
        await post(client, ana, room["id"], "from Ana", client_msg_id="same")
    ).status_code == 201
    reply = await post(client, ben, room["id"], "from Ben", client_msg_id="same")
    assert reply.status_code == 201
    assert reply.json()["seq"] == 2


async def test_a_reply_names_a_message_of_the_same_room(client: Api) -> None:
    _, token = await client.session("Ana")
    room = await client.create_room(token, "Here")
    parent = (await post(client, token, room["id"], "question?")).json()
    reply = await post(client, token, room["id"], "answer", reply_to=parent["id"])
    assert reply.status_code == 201
    assert reply.json()["reply_to"] == parent["id"]


@pytest.mark.parametrize("target", ["other-room", "unknown"])
async def test_a_reply_to_a_foreign_or_unknown_message_is_400_and_stores_nothing(
    client: Api, target: str
) -> None:
    _, token = await client.session("Ana")
    room = await client.create_room(token, "Here")
    elsewhere = await client.create_room(token, "Elsewhere")
    foreign = (await post(client, token, elsewhere["id"], "over there")).json()
    reply_to = foreign["id"] if target == "other-room" else str(uuid.uuid4())
    reply = await post(client, token, room["id"], "answer", reply_to=reply_to)
    assert_error(reply, 400, "invalid_argument")
    assert (await client.history(token, room["id"]))["messages"] == []
    # The failed send did not use up a seq: the next message is still the first.
    assert (await post(client, token, room["id"], "first")).json()["seq"] == 1


@pytest.mark.parametrize(
    "content", ["", "   ", "x" * 16_001, 7], ids=["empty", "blank", "too-long", "not-a-string"]
)
async def test_bad_content_is_400_and_stores_nothing(client: Api, content: Any) -> None:
    _, token = await client.session("Ana")
    room = await client.create_room(token)
    assert_error(await post(client, token, room["id"], content), 400, "invalid_argument")
    assert (await client.history(token, room["id"]))["messages"] == []


async def test_content_of_exactly_16000_characters_is_stored(client: Api) -> None:
    _, token = await client.session("Ana")
    room = await client.create_room(token)
    reply = await post(client, token, room["id"], "é" * 16_000)
    assert reply.status_code == 201
    assert (await client.history(token, room["id"]))["messages"][0]["content"] == "é" * 16_000


# --- history pages -------------------------------------------------------------------------


# Seven messages, pages of three: (query, seqs returned, has_more).
PAGES: list[tuple[dict[str, int], list[int], bool]] = [
    ({"limit": 3}, [5, 6, 7], True),
    ({"limit": 3, "before": 5}, [2, 3, 4], True),
    ({"limit": 3, "before": 4}, [1, 2, 3], False),
    ({"limit": 3, "before": 2}, [1], False),
    ({"limit": 3, "before": 1}, [], False),
    ({"limit": 3, "before": 100}, [5, 6, 7], True),
    ({"limit": 3, "after": 0}, [1, 2, 3], True),
    ({"limit": 3, "after": 3}, [4, 5, 6], True),
    ({"limit": 3, "after": 4}, [5, 6, 7], False),
    ({"limit": 3, "after": 6}, [7], False),
    ({"limit": 3, "after": 7}, [], False),
    ({"limit": 7}, [1, 2, 3, 4, 5, 6, 7], False),
    ({"limit": 6}, [2, 3, 4, 5, 6, 7], True),
    ({}, [1, 2, 3, 4, 5, 6, 7], False),
    ({"limit": 1}, [7], True),
]


@pytest.mark.parametrize(
    ("params", "seqs", "has_more"),
    PAGES,
    ids=[",".join(f"{k}={v}" for k, v in params.items()) or "defaults" for params, _, _ in PAGES],
)
async def test_history_pages(
    client: Api, seven: tuple[str, str], params: dict[str, int], seqs: list[int], has_more: bool
) -> None:
    token, room_id = seven
    page = await client.history(token, room_id, **params)
    assert [m["seq"] for m in page["messages"]] == seqs
    assert [m["content"] for m in page["messages"]] == [f"m{s}" for s in seqs]
    assert page["has_more"] is has_more


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def seven(shared: Stack) -> AsyncIterator[tuple[str, str]]:
    """A token and a room holding seven messages, m1..m7, shared by the paging tests."""
    api = Api(shared.base_url())
    try:
        _, token = await api.session("Pager")
        yield token, await room_with_messages(api, token, 7)
    finally:
        await api.close()


async def test_paging_backwards_and_forwards_visits_every_message_once(
    client: Api, seven: tuple[str, str]
) -> None:
    token, room_id = seven
    backwards: list[int] = []
    page = await client.history(token, room_id, limit=2)
    while True:
        backwards = [m["seq"] for m in page["messages"]] + backwards
        if not page["has_more"]:
            break
        page = await client.history(token, room_id, limit=2, before=backwards[0])
    assert backwards == [1, 2, 3, 4, 5, 6, 7]
    assert [m["seq"] for m in await client.all_messages(token, room_id)] == backwards


async def test_a_full_page_of_the_longest_messages_loads(client: Api) -> None:
    """70 messages of 16,000 four-byte characters: a page of over 4 MB (gRPC's default cap)."""
    _, token = await client.session("Ana")
    room = await client.create_room(token)
    longest = "🦥" * 16_000
    for _ in range(70):
        assert (await post(client, token, room["id"], longest)).status_code == 201
    page = await client.history(token, room["id"], limit=200)
    assert [m["seq"] for m in page["messages"]] == list(range(1, 71))
    assert all(m["content"] == longest for m in page["messages"])
    assert page["has_more"] is False


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 201},
        {"limit": -1},
        {"limit": "abc"},
        {"before": 3, "after": 1},
        {"before": "x"},
        {"after": -1},
    ],
    ids=["limit=0", "limit=201", "limit=-1", "limit=abc", "before+after", "before=x", "after=-1"],
)
async def test_bad_paging_parameters_are_400(
    client: Api, seven: tuple[str, str], params: dict[str, Any]
) -> None:
    token, room_id = seven
    reply = await client.http.get(
        f"/api/rooms/{room_id}/messages", params=params, headers=auth(token)
    )
    assert_error(reply, 400, "invalid_argument")


async def test_limit_200_is_allowed(client: Api, seven: tuple[str, str]) -> None:
    token, room_id = seven
    page = await client.history(token, room_id, limit=200)
    assert len(page["messages"]) == 7


# --- the rest of the surface ---------------------------------------------------------------


async def test_an_unknown_route_is_404_in_the_error_shape(client: Api) -> None:
    assert_error(await client.http.get("/api/nothing-here"), 404, "not_found")


async def test_a_wrong_method_is_405_in_the_error_shape(client: Api) -> None:
    assert_error(await client.http.delete("/api/session"), 405)


async def test_malformed_json_is_400_in_the_error_shape(client: Api) -> None:
    reply = await client.http.post(
        "/api/session", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(reply, 400, "invalid_argument")


async def test_health_and_readiness(client: Api) -> None:
    healthz = await client.http.get("/healthz")
    assert healthz.status_code == 200
    readyz = await client.http.get("/readyz")
    assert readyz.status_code == 200


async def test_openapi_lists_the_routes(client: Api) -> None:
    reply = await client.http.get("/openapi.json")
    assert reply.status_code == 200
    paths = reply.json()["paths"]
    expected = {
        "/api/session": {"post"},
        "/api/auth/register": {"post"},
        "/api/auth/login": {"post"},
        "/api/auth/logout": {"post"},
        "/api/me": {"get"},
        "/api/tokens": {"get", "post"},
        "/api/tokens/{token_id}": {"delete"},
        "/api/rooms": {"get", "post"},
        "/api/rooms/{room_id}": {"get", "patch"},
        "/api/rooms/{room_id}/messages": {"get", "post"},
        "/api/rooms/{room_id}/members": {"get"},
        "/api/rooms/{room_id}/members/{user_id}": {"patch", "delete"},
        "/api/rooms/{room_id}/invites": {"get", "post"},
        "/api/rooms/{room_id}/invites/{invite_id}": {"delete"},
        "/api/invites/{token}/accept": {"post"},
        "/api/admin/users": {"get"},
        "/api/admin/users/{user_id}": {"patch"},
        "/api/admin/rooms": {"get"},
        "/healthz": {"get"},
        "/readyz": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, sorted(paths)
        assert methods <= set(paths[path]), (path, sorted(paths[path]))


async def test_readyz_is_503_when_the_room_service_is_gone(tmp_path: Path) -> None:
    """Its own stack, since it kills the room service; on SQLite only, as no query is involved."""
    async with running_stack("sqlite", tmp_path) as stack:
        api = Api(stack.base_url())
        try:
            assert (await api.http.get("/readyz")).status_code == 200
            await stack.kill_room()
            assert_error(await api.http.get("/readyz"), 503, "unavailable")
            # Liveness is about the gateway process itself, which is still fine.
            assert (await api.http.get("/healthz")).status_code == 200
        finally:
            await api.close()
