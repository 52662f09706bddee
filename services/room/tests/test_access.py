"""Every access rule of the room service, through Rooms and Members, on a real database."""

from __future__ import annotations

import pytest

from services.common.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from services.common.pb import room_pb2 as pb
from services.room.access import OWNERS_ONLY, VIEWERS_CANNOT_SEND
from services.room.store.records import INVITE_INVALID, LAST_OWNER, ROOM_NOT_FOUND
from services.room.tests.conftest import FakeClock, World, attach, drain

pytestmark = pytest.mark.unit

MISSING = "00000000-0000-0000-0000-000000000000"
OPEN, INVITE = pb.ROOM_ACCESS_OPEN, pb.ROOM_ACCESS_INVITE
OWNER, MEMBER, VIEWER = pb.ROOM_ROLE_OWNER, pb.ROOM_ROLE_MEMBER, pb.ROOM_ROLE_VIEWER


async def post(world: World, actor: pb.User, room_id: str, content: str = "hi") -> pb.Message:
    message, _ = await world.rooms.post(room_id, actor, content, "", "")
    return message


async def join_with_invite(
    world: World, owner: pb.User, room_id: str, user: pb.User, role: int = MEMBER
) -> None:
    _, token = await world.members.create_invite(owner, room_id, 0, 0, role)
    await world.members.accept_invite(user, token)


async def assert_hidden(world: World, actor: pb.User, room_id: str) -> None:
    """Every read and write answers exactly as for a room that does not exist."""
    for rid in (room_id, MISSING):
        calls = [
            world.rooms.get(actor, rid),
            world.rooms.history(actor, rid, None, None, 10),
            world.rooms.post(rid, actor, "hi", "", ""),
            world.rooms.update(actor, rid, "renamed"),
            world.members.list_members(actor, rid),
            world.members.remove(actor, rid, actor.id),
            world.members.create_invite(actor, rid, 0, 0, MEMBER),
            world.members.list_invites(actor, rid),
        ]
        for call in calls:
            with pytest.raises(NotFound) as raised:
                await call
            assert raised.value.message == ROOM_NOT_FOUND


# --- creating and listing -------------------------------------------------------------------------


async def test_creator_owns_the_room(world: World) -> None:
    alice = await world.user("alice")

    room = await world.rooms.create(alice, "Plans")

    assert (room.role, room.access, room.allow_guests) == (OWNER, INVITE, False)
    assert (await world.rooms.get(alice, room.id)).role == OWNER
    [member] = await world.members.list_members(alice, room.id)
    assert (member.user.id, member.role, member.guest) == (alice.id, OWNER, False)


async def test_a_guests_room_admits_guests(world: World) -> None:
    guest = await world.guest()
    room = await world.rooms.create(guest, "Guest room")
    assert room.allow_guests and room.role == OWNER
    assert await post(world, guest, room.id)
    with pytest.raises(InvalidArgument, match="guest"):
        await world.rooms.update(guest, room.id, None, allow_guests=False)


async def test_unknown_and_disabled_actors_have_no_access(world: World) -> None:
    alice = await world.user("alice")
    room = await world.rooms.create(alice, "Open", access=OPEN)
    stranger = pb.User(id="not-an-account", name="Mallory")

    with pytest.raises(Unauthenticated):
        await world.rooms.create(stranger, "Mine")
    await assert_hidden(world, stranger, room.id)
    assert await world.rooms.list_rooms(stranger, 0) == []

    await world.accounts.disable_by_username("alice", True)
    await assert_hidden(world, alice, room.id)


async def test_rooms_are_listed_only_where_visible(world: World) -> None:
    alice, bob = await world.user("alice"), await world.user("bob")
    guest = await world.guest()
    private = await world.rooms.create(alice, "private")
    open_room = await world.rooms.create(alice, "open", access=OPEN)
    guests = await world.rooms.create(alice, "guests", access=OPEN, allow_guests=True)

    def listed(rooms: list[pb.Room]) -> list[tuple[str, int]]:
        return [(room.id, room.role) for room in rooms]

    assert listed(await world.rooms.list_rooms(alice, 0)) == [
        (guests.id, OWNER),
        (open_room.id, OWNER),
        (private.id, OWNER),
    ]
    assert listed(await world.rooms.list_rooms(bob, 0)) == [
        (guests.id, pb.ROOM_ROLE_UNSPECIFIED),
        (open_room.id, pb.ROOM_ROLE_UNSPECIFIED),
    ]
    assert listed(await world.rooms.list_rooms(guest, 0)) == [(guests.id, pb.ROOM_ROLE_UNSPECIFIED)]


async def test_admins_list_every_room_but_read_only_their_own(world: World) -> None:
    alice = await world.user("alice")
    admin_account, _ = await world.accounts.make_admin("root", "correct horse battery")
    admin = pb.User(id=admin_account.id, name="root")
    private = await world.rooms.create(alice, "private")

    with pytest.raises(PermissionDenied):
        await world.rooms.list_rooms(alice, 0, all_rooms=True)
    [listed] = await world.rooms.list_rooms(admin, 0, all_rooms=True)
    assert (listed.id, listed.role) == (private.id, pb.ROOM_ROLE_UNSPECIFIED)
    assert await world.rooms.list_rooms(admin, 0) == []
    await assert_hidden(world, admin, private.id)  # no silent access to conversations


# --- invite rooms ---------------------------------------------------------------------------------


async def test_invite_rooms_are_hidden_from_non_members(world: World) -> None:
    alice, bob = await world.user("alice"), await world.user("bob")
    room = await world.rooms.create(alice, "Plans")
    await assert_hidden(world, bob, room.id)


async def test_viewers_read_but_cannot_send_or_manage(world: World) -> None:
    alice, bob = await world.user("alice"), await world.user("bob")
    room = await world.rooms.create(alice, "Plans")
    await post(world, alice, room.id, "hello")
    await join_with_invite(world, alice, room.id, bob, VIEWER)

    assert (await world.rooms.get(bob, room.id)).role == VIEWER
    messages, _ = await world.rooms.history(bob, room.id, None, None, 10)
    assert [m.content for m in messages] == ["hello"]
    with pytest.raises(PermissionDenied) as raised:
        await post(world, bob, room.id)
    assert raised.value.message == VIEWERS_CANNOT_SEND
    await assert_owner_only(world, bob, room.id, alice.id)


async def assert_owner_only(world: World, actor: pb.User, room_id: str, other_id: str) -> None:
    calls = [
        world.rooms.update(actor, room_id, "renamed"),
        world.rooms.update(actor, room_id, None, access=OPEN),
        world.members.create_invite(actor, room_id, 0, 0, MEMBER),
        world.members.list_invites(actor, room_id),
        world.members.revoke_invite(actor, room_id, MISSING),
        world.members.update(actor, room_id, other_id, VIEWER),
        world.members.update(actor, room_id, actor.id, OWNER),
        world.members.remove(actor, room_id, other_id),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied) as raised:
            await call
        assert raised.value.message == OWNERS_ONLY


async def test_members_send_but_do_not_manage(world: World) -> None:
    alice, bob = await world.user("alice"), await world.user("bob")
    room = await world.rooms.create(alice, "Plans")
    await join_with_invite(world, alice, room.id, bob)

    assert (await post(world, bob, room.id)).author.id == bob.id
    assert [m.author.id for m in world.posted] == [bob.id]
    await assert_owner_only(world, bob, room.id, alice.id)


async def test_owners_manage_the_room(world: World) -> None:
    alice, bob = await world.user("alice"), await world.user("bob")
    room = await world.rooms.create(alice, "Plans")
    await join_with_invite(world, alice, room.id, bob)

    updated = await world.rooms.update(alice, room.id, "New name", access=OPEN, allow_guests=True)
    assert (updated.name, updated.access, updated.allow_guests, updated.role) == (
        "New name",
        OPEN,
        True,
        OWNER,
    )
    assert (await world.members.update(alice, room.id, bob.id, VIEWER)).role == VIEWER
    with pytest.raises(InvalidArgument):
        await world.members.update(alice, room.id, bob.id, pb.ROOM_ROLE_UNSPECIFIED)
    with pytest.raises(NotFound, match="Member"):
        await world.members.update(alice, room.id, MISSING, MEMBER)
    await world.members.remove(alice, room.id, bob.id)
    assert [m.user.id for m in await world.members.list_members(alice, room.id)] == [alice.id]
    # bob is no longer a member, but the room is open now.
    assert (await world.rooms.get(bob, room.id)).role == pb.ROOM_ROLE_UNSPECIFIED


async def test_the_last_owner_cannot_leave_or_be_demoted(world: World) -> None:
    alice, bob = await world.user("alice"), await world.user("bob")
    room = await world.rooms.create(alice, "Plans")
    await join_with_invite(world, alice, room.id, bob)

    for call in (
        world.members.remove(alice, room.id, alice.id),
        world.members.update(alice, room.id, alice.id, MEMBER),
    ):
        with pytest.raises(FailedPrecondition) as raised:
            await call
        assert raised.value.message == LAST_OWNER

    await world.members.update(alice, room.id, bob.id, OWNER)
    await world.members.remove(alice, room.id, alice.id)  # another owner exists: may leave
    await assert_hidden(world, alice, room.id)


async def test_members_may_leave(world: World) -> None:
    alice, bob = await world.user("alice"), await world.user("bob")
    room = await world.rooms.create(alice, "Plans")
    await join_with_invite(world, alice, room.id, bob, VIEWER)

    await world.members.remove(bob, room.id, bob.id)

    await assert_hidden(world, bob, room.id)


# --- open rooms and guests ------------------------------------------------------------------------


async def test_open_rooms_make_senders_members(world: World) -> None:
    alice, bob = await world.user("alice"), await world.user("bob")
    room = await world.rooms.create(alice, "Lobby", access=OPEN)
    stream = await attach(world, room.id)

    assert (await world.rooms.get(bob, room.id)).role == pb.ROOM_ROLE_UNSPECIFIED
    assert await world.rooms.history(bob, room.id, None, None, 10) == ([], False)
    await post(world, bob, room.id)

    assert (await world.rooms.get(bob, room.id)).role == MEMBER
    updated = [e.member_updated.member for e in drain(stream) if e.HasField("member_updated")]
    assert [(m.user.id, m.role) for m in updated] == [(bob.id, MEMBER)]
    # Owner-only operations stay owner-only.
    await assert_owner_only(world, bob, room.id, alice.id)


async def test_guests_only_where_guests_are_allowed(world: World) -> None:
    alice = await world.user("alice")
    guest = await world.guest()
    closed = await world.rooms.create(alice, "Members only", access=OPEN)
    welcoming = await world.rooms.create(alice, "Everyone", access=OPEN, allow_guests=True)

    await assert_hidden(world, guest, closed.id)
    assert await post(world, guest, welcoming.id)
    [_, member] = await world.members.list_members(alice, welcoming.id)
    assert (member.user.id, member.guest) == (guest.id, True)

    # Once the room stops admitting guests, even a guest member loses it.
    await world.rooms.update(alice, welcoming.id, None, allow_guests=False)
    await assert_hidden(world, guest, welcoming.id)


# --- invites --------------------------------------------------------------------------------------


async def test_invites(world: World, clock: FakeClock) -> None:
    alice, bob, carol, dave = [await world.user(n) for n in ("alice", "bob", "carol", "dave")]
    room = await world.rooms.create(alice, "Plans")

    invite, token = await world.members.create_invite(alice, room.id, 2, 24, VIEWER)
    assert (invite.role, invite.max_uses, invite.uses) == (VIEWER, 2, 0)
    assert invite.expires_at_ms == int((clock.now.timestamp() + 24 * 3600) * 1000)
    assert len(token) >= 43

    joined = await world.members.accept_invite(bob, token)
    assert (joined.id, joined.role) == (room.id, VIEWER)
    assert (await world.members.accept_invite(bob, token)).role == VIEWER  # no use consumed
    assert (await world.members.accept_invite(alice, token)).role == OWNER  # keeps the higher
    await world.members.accept_invite(carol, token)
    with pytest.raises(NotFound) as raised:
        await world.members.accept_invite(dave, token)  # used up
    assert raised.value.message == INVITE_INVALID
    [listed] = await world.members.list_invites(alice, room.id)
    assert (listed.uses, listed.revoked) == (2, False)


async def test_expired_and_revoked_invites(world: World, clock: FakeClock) -> None:
    alice, bob = await world.user("alice"), await world.user("bob")
    room = await world.rooms.create(alice, "Plans")
    _, expiring = await world.members.create_invite(alice, room.id, 0, 1, MEMBER)
    revoked, revoked_token = await world.members.create_invite(alice, room.id, 0, 0, MEMBER)

    await world.members.revoke_invite(alice, room.id, revoked.id)
    clock.advance(hours=1)
    for token in (expiring, revoked_token, "made-up", ""):
        with pytest.raises(NotFound) as raised:
            await world.members.accept_invite(bob, token)
        assert raised.value.message == INVITE_INVALID
    await assert_hidden(world, bob, room.id)
    assert [i.revoked for i in await world.members.list_invites(alice, room.id)] == [True, False]


async def test_guests_accept_invites_only_where_guests_are_allowed(world: World) -> None:
    alice = await world.user("alice")
    guest = await world.guest()
    room = await world.rooms.create(alice, "Plans")
    _, token = await world.members.create_invite(alice, room.id, 0, 0, MEMBER)

    with pytest.raises(NotFound, match=INVITE_INVALID):
        await world.members.accept_invite(guest, token)
    await world.rooms.update(alice, room.id, None, allow_guests=True)
    assert (await world.members.accept_invite(guest, token)).role == MEMBER


@pytest.mark.parametrize(
    ("max_uses", "hours", "role", "message"),
    [
        (-1, 0, MEMBER, "max_uses"),
        (10_001, 0, MEMBER, "max_uses"),
        (0, -1, MEMBER, "expires_in_hours"),
        (0, 8761, MEMBER, "expires_in_hours"),
        (0, 0, OWNER, "role"),
    ],
)
async def test_invite_validation(
    world: World, max_uses: int, hours: int, role: int, message: str
) -> None:
    alice = await world.user("alice")
    room = await world.rooms.create(alice, "Plans")
    with pytest.raises(InvalidArgument, match=message):
        await world.members.create_invite(alice, room.id, max_uses, hours, role)
