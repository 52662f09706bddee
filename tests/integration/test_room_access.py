"""Who may see and use a room: invites, members and roles, open rooms, guests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.support.client import (
    NO_LIMITS,
    Api,
    Member,
    auth,
    expire,
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

ROOM_NOT_FOUND = {"code": "not_found", "message": "Room not found."}
INVITE_INVALID = {"code": "not_found", "message": "Invite not found or no longer valid."}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with running_stack("sqlite", tmp_path_factory.mktemp("access"), NO_LIMITS) as stack:
        yield stack


api = api_fixture()
members = members_fixture()


async def cannot_see(api: Api, stack: Stack, room_id: str, token: str) -> None:
    """The room is as invisible to `token` as a room that does not exist."""
    headers = auth(token)
    for reply in (
        await api.http.get(f"/api/rooms/{room_id}", headers=headers),
        await api.http.get(f"/api/rooms/{room_id}/messages", headers=headers),
        await api.http.get(f"/api/rooms/{room_id}/members", headers=headers),
        await api.http.post(
            f"/api/rooms/{room_id}/messages", json={"content": "hi"}, headers=headers
        ),
    ):
        assert error(reply, 404) == ROOM_NOT_FOUND
    listed = (await api.http.get("/api/rooms", headers=headers)).json()["rooms"]
    assert room_id not in [r["id"] for r in listed]
    assert await hello_close_code(stack, room_id, token) == 4403


async def roles(api: Api, token: str, room_id: str) -> dict[str, str]:
    reply = await api.http.get(f"/api/rooms/{room_id}/members", headers=auth(token))
    assert reply.status_code == 200, reply.text
    return {m["user"]["id"]: m["role"] for m in reply.json()["members"]}


# --- invite-only rooms ---------------------------------------------------------------------


async def test_an_invite_lets_a_stranger_into_an_invite_only_room(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    owner, owner_token = await api.register()
    ben, ben_token = await api.register()
    room = await api.create_private_room(owner_token, "Secret plans")
    assert (room["access"], room["allow_guests"], room["role"]) == ("invite", False, "owner")
    await cannot_see(api, shared, room["id"], ben_token)

    invite = await api.invite(owner_token, room["id"])
    assert invite["url"] == f"{shared.base_url()}/#/invite/{invite['token']}"
    assert (invite["role"], invite["max_uses"], invite["uses"], invite["expires_at"]) == (
        "member",
        None,
        0,
        None,
    )
    accepted = await api.accept(ben_token, invite["token"])
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["id"], accepted.json()["role"]) == (room["id"], "member")

    listed = (await api.http.get("/api/rooms", headers=auth(ben_token))).json()["rooms"]
    assert [r["id"] for r in listed] == [room["id"]]
    assert await roles(api, ben_token, room["id"]) == {owner["id"]: "owner", ben["id"]: "member"}
    socket = await connected(shared, room["id"], ben_token, members)
    assert socket.welcome is not None and socket.welcome["room"]["role"] == "member"
    await socket.send({"type": "send", "content": "in at last", "client_msg_id": "c1"})
    await socket.wait_for(lambda f: f["type"] == "ack")

    # Accepting again as a member uses nothing up.
    assert (await api.accept(ben_token, invite["token"])).status_code == 200
    invites = await api.http.get(f"/api/rooms/{room['id']}/invites", headers=auth(owner_token))
    assert [(i["id"], i["uses"]) for i in invites.json()["invites"]] == [(invite["id"], 1)]
    assert invite["token"] not in invites.text


async def test_an_invite_stops_working_when_used_up_expired_or_revoked(
    shared: Stack, api: Api
) -> None:
    _, owner_token = await api.register()
    room = await api.create_private_room(owner_token)
    tokens = [(await api.register())[1] for _ in range(4)]

    once = await api.invite(owner_token, room["id"], max_uses=1)
    assert (await api.accept(tokens[0], once["token"])).status_code == 200
    assert error(await api.accept(tokens[1], once["token"]), 404) == INVITE_INVALID

    expiring = await api.invite(owner_token, room["id"], expires_in_hours=1)
    await expire(shared, "invites", expiring["id"])
    assert error(await api.accept(tokens[1], expiring["token"]), 404) == INVITE_INVALID

    revoked = await api.invite(owner_token, room["id"])
    reply = await api.http.delete(
        f"/api/rooms/{room['id']}/invites/{revoked['id']}", headers=auth(owner_token)
    )
    assert reply.status_code == 204
    assert error(await api.accept(tokens[2], revoked["token"]), 404) == INVITE_INVALID

    assert error(await api.accept(tokens[3], "not-an-invite"), 404) == INVITE_INVALID
    for token in tokens[1:]:
        await cannot_see(api, shared, room["id"], token)


async def test_only_owners_manage_invites(api: Api) -> None:
    _, owner_token = await api.register()
    _, member_token = await api.register()
    room = await api.create_private_room(owner_token)
    await api.add_member(owner_token, room["id"], member_token)
    invite = await api.invite(owner_token, room["id"])
    base = f"/api/rooms/{room['id']}/invites"
    for reply in (
        await api.http.post(base, json={}, headers=auth(member_token)),
        await api.http.get(base, headers=auth(member_token)),
        await api.http.delete(f"{base}/{invite['id']}", headers=auth(member_token)),
    ):
        assert error(reply, 403)["code"] == "permission_denied"


# --- members and roles ---------------------------------------------------------------------


async def test_a_viewer_reads_but_cannot_send_or_stop(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    _, owner_token = await api.register()
    viewer, viewer_token = await api.register()
    room = await api.create_private_room(owner_token)
    joined = await api.add_member(owner_token, room["id"], viewer_token, role="viewer")
    assert joined["role"] == "viewer"

    owner_socket = await connected(shared, room["id"], owner_token, members)
    socket = await connected(shared, room["id"], viewer_token, members)
    assert socket.welcome is not None and socket.welcome["room"]["role"] == "viewer"
    await socket.send({"type": "send", "content": "may I?", "client_msg_id": "v1"})
    refused = await socket.wait_for(lambda f: f["type"] == "error")
    assert (refused["code"], refused["client_msg_id"]) == ("permission_denied", "v1")
    start = len(socket.frames)
    await socket.send({"type": "interrupt", "message_id": "anything"})
    stopped = await socket.wait_for(lambda f: f["type"] == "error", start=start)
    assert stopped["code"] == "permission_denied"

    posted = await api.http.post(
        f"/api/rooms/{room['id']}/messages", json={"content": "rest"}, headers=auth(viewer_token)
    )
    assert error(posted, 403)["code"] == "permission_denied"

    # Still connected, and reading.
    await owner_socket.send({"type": "send", "content": "for everyone", "client_msg_id": "o1"})
    seen = await socket.wait_for(lambda f: f["type"] == "message")
    assert seen["message"]["content"] == "for everyone"
    history = await api.history(viewer_token, room["id"])
    assert [m["content"] for m in history["messages"]] == ["for everyone"]
    assert viewer["id"] not in {m["author"]["id"] for m in history["messages"]}


async def test_owners_change_roles_and_members_may_not(api: Api) -> None:
    owner, owner_token = await api.register()
    ana, ana_token = await api.register()
    ben, ben_token = await api.register()
    room = await api.create_private_room(owner_token)
    await api.add_member(owner_token, room["id"], ana_token)
    await api.add_member(owner_token, room["id"], ben_token)
    path = f"/api/rooms/{room['id']}/members"

    reply = await api.http.patch(
        f"{path}/{ana['id']}", json={"role": "viewer"}, headers=auth(owner_token)
    )
    assert reply.status_code == 200, reply.text
    assert (reply.json()["user"]["id"], reply.json()["role"]) == (ana["id"], "viewer")
    refused = await api.http.patch(
        f"{path}/{ana['id']}", json={"role": "owner"}, headers=auth(ben_token)
    )
    assert error(refused, 403)["code"] == "permission_denied"
    refused = await api.http.delete(f"{path}/{ana['id']}", headers=auth(ben_token))
    assert error(refused, 403)["code"] == "permission_denied"
    bad = await api.http.patch(
        f"{path}/{ana['id']}", json={"role": "king"}, headers=auth(owner_token)
    )
    assert error(bad, 400)["code"] == "invalid_argument"
    assert await roles(api, owner_token, room["id"]) == {
        owner["id"]: "owner",
        ana["id"]: "viewer",
        ben["id"]: "member",
    }

    # The last owner can neither leave nor be demoted.
    last = await api.http.delete(f"{path}/{owner['id']}", headers=auth(owner_token))
    assert error(last, 400)["code"] == "failed_precondition"
    demoted = await api.http.patch(
        f"{path}/{owner['id']}", json={"role": "member"}, headers=auth(owner_token)
    )
    assert error(demoted, 400)["code"] == "failed_precondition"


async def test_removing_a_member_closes_their_socket_4403_at_once(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    _, owner_token = await api.register()
    ana, ana_token = await api.register()
    ben, ben_token = await api.register()
    room = await api.create_private_room(owner_token)
    await api.add_member(owner_token, room["id"], ana_token)
    await api.add_member(owner_token, room["id"], ben_token)
    ana_socket = await connected(shared, room["id"], ana_token, members)
    ben_socket = await connected(shared, room["id"], ben_token, members)

    reply = await api.http.delete(
        f"/api/rooms/{room['id']}/members/{ana['id']}", headers=auth(owner_token)
    )
    assert reply.status_code == 204
    assert await ana_socket.wait_closed() == 4403
    await cannot_see(api, shared, room["id"], ana_token)
    # Ben stays and leaves by himself.
    await ben_socket.send({"type": "ping"})
    await ben_socket.wait_for(lambda f: f["type"] == "pong")
    reply = await api.http.delete(
        f"/api/rooms/{room['id']}/members/{ben['id']}", headers=auth(ben_token)
    )
    assert reply.status_code == 204
    assert await ben_socket.wait_closed() == 4403
    await cannot_see(api, shared, room["id"], ben_token)


# --- open rooms and guests -----------------------------------------------------------------


async def test_any_account_may_join_an_open_room_and_becomes_a_member(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    owner, owner_token = await api.register()
    ana, ana_token = await api.register()
    room = await api.create_room(owner_token, "Lobby", allow_guests=False)
    seen = await api.http.get(f"/api/rooms/{room['id']}", headers=auth(ana_token))
    assert seen.status_code == 200
    assert (seen.json()["access"], seen.json()["role"]) == ("open", None)
    listed = (await api.http.get("/api/rooms", headers=auth(ana_token))).json()["rooms"]
    assert room["id"] in [r["id"] for r in listed]

    socket = await connected(shared, room["id"], ana_token, members)
    assert socket.welcome is not None and socket.welcome["room"]["role"] == "member"
    assert await roles(api, owner_token, room["id"]) == {owner["id"]: "owner", ana["id"]: "member"}


async def test_guests_only_where_the_room_allows_them(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    _, owner_token = await api.register()
    _, guest_token = await api.session("Gus")
    closed_to_guests = await api.create_room(owner_token, "Accounts only", allow_guests=False)
    await cannot_see(api, shared, closed_to_guests["id"], guest_token)
    private = await api.create_private_room(owner_token)
    invite = await api.invite(owner_token, private["id"])
    assert error(await api.accept(guest_token, invite["token"]), 404) == INVITE_INVALID

    welcoming = await api.create_room(owner_token, "Everyone", allow_guests=True)
    socket = await connected(shared, welcoming["id"], guest_token, members)
    assert socket.welcome is not None and socket.welcome["room"]["role"] == "member"
    guests = await api.http.get(f"/api/rooms/{welcoming['id']}/members", headers=auth(owner_token))
    assert [m["guest"] for m in guests.json()["members"] if m["role"] == "member"] == [True]


async def test_the_room_list_shows_only_rooms_one_may_see(api: Api) -> None:
    _, ana_token = await api.register()
    _, ben_token = await api.register()
    mine = await api.create_private_room(ana_token, "Ana's")
    theirs = await api.create_private_room(ben_token, "Ben's")
    public = await api.create_room(ben_token, "Public")
    listed = (await api.http.get("/api/rooms", headers=auth(ana_token))).json()["rooms"]
    ids = [r["id"] for r in listed]
    assert mine["id"] in ids and public["id"] in ids and theirs["id"] not in ids
    roles_seen = {r["id"]: r["role"] for r in listed}
    assert (roles_seen[mine["id"]], roles_seen[public["id"]]) == ("owner", None)


async def test_only_owners_change_a_room(api: Api) -> None:
    _, owner_token = await api.register()
    _, member_token = await api.register()
    room = await api.create_room(owner_token, "Mine")
    await api.add_member(owner_token, room["id"], member_token)
    for body in ({"name": "Taken over"}, {"access": "invite"}, {"allow_guests": False}):
        reply = await api.http.patch(
            f"/api/rooms/{room['id']}", json=body, headers=auth(member_token)
        )
        assert error(reply, 403)["code"] == "permission_denied"
    reply = await api.http.patch(
        f"/api/rooms/{room['id']}", json={"access": "invite"}, headers=auth(owner_token)
    )
    assert reply.status_code == 200 and reply.json()["access"] == "invite"
