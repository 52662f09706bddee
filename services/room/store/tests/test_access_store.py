"""The AccessStore contract: members, roles, invites and visible rooms, on every store."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from services.common.clock import utcnow
from services.common.errors import FailedPrecondition, NotFound
from services.room.store.protocol import AccessStore, RoomStore
from services.room.store.records import INVITE_INVALID, AccountRecord
from services.room.store.registry import Store

pytestmark = pytest.mark.unit


@pytest.fixture
def rooms(store: Store) -> RoomStore:
    return store.rooms


@pytest.fixture
def access(store: Store) -> AccessStore:
    return store.access


@pytest.fixture
async def people(store: Store) -> dict[str, AccountRecord]:
    repo = store.accounts
    made = {
        name: await repo.create_account(username=name, name=name.title(), kind="user")
        for name in ("alice", "bob", "carol")
    }
    made["guest"] = await repo.create_account(username=None, name="Guest", kind="guest")
    return made


async def test_creator_is_owner_and_room_has_its_access(
    rooms: RoomStore, access: AccessStore, people: dict[str, AccountRecord]
) -> None:
    alice = people["alice"]
    room = await rooms.create_room("Plans", alice.id, owner_id=alice.id)

    assert (room.access, room.allow_guests) == ("invite", False)
    [owner] = await access.list_members(room.id)
    assert (owner.account_id, owner.name, owner.role, owner.guest) == (
        alice.id,
        "Alice",
        "owner",
        False,
    )
    assert await access.room_and_role(room.id, alice.id) == (room, "owner")
    assert await access.room_and_role(room.id, people["bob"].id) == (room, None)
    with pytest.raises(NotFound):
        await access.room_and_role("missing", alice.id)


async def test_visible_rooms_are_member_rooms_and_open_ones(
    rooms: RoomStore, access: AccessStore, people: dict[str, AccountRecord]
) -> None:
    alice, bob, guest = people["alice"], people["bob"], people["guest"]
    private = await rooms.create_room("private", alice.id, owner_id=alice.id)
    open_room = await rooms.create_room("open", alice.id, access="open", owner_id=alice.id)
    await rooms.create_room("guests", alice.id, access="open", allow_guests=True, owner_id=alice.id)
    await access.ensure_member(private.id, guest.id, "member")  # allow_guests is off there

    def names(rows: list) -> list[tuple[str, str | None]]:  # type: ignore[type-arg]
        return [(room.name, role) for room, role in rows]

    assert names(await access.visible_rooms(alice.id, guest=False, limit=10)) == [
        ("guests", "owner"),
        ("open", "owner"),
        ("private", "owner"),
    ]
    assert names(await access.visible_rooms(bob.id, guest=False, limit=10)) == [
        ("guests", None),
        ("open", None),
    ]
    assert names(await access.visible_rooms(guest.id, guest=True, limit=10)) == [("guests", None)]
    assert names(await access.visible_rooms(alice.id, guest=False, limit=1)) == [
        ("guests", "owner")
    ]
    assert await access.roles(alice.id, [private.id, open_room.id]) == {
        private.id: "owner",
        open_room.id: "owner",
    }


async def test_ensure_member_adds_once(
    rooms: RoomStore, access: AccessStore, people: dict[str, AccountRecord]
) -> None:
    alice, bob = people["alice"], people["bob"]
    room = await rooms.create_room("open", alice.id, access="open", owner_id=alice.id)

    results = await asyncio.gather(
        *(access.ensure_member(room.id, bob.id, "member") for _ in range(3))
    )

    assert sorted(added for _, added in results) == [False, False, True]
    assert await access.ensure_member(room.id, alice.id, "member") == (
        await access.get_member(room.id, alice.id),
        False,
    )
    assert [m.role for m in await access.list_members(room.id)] == ["owner", "member"]


async def test_roles_change_but_the_last_owner_stays(
    rooms: RoomStore, access: AccessStore, people: dict[str, AccountRecord]
) -> None:
    alice, bob = people["alice"], people["bob"]
    room = await rooms.create_room("r", alice.id, owner_id=alice.id)
    await access.ensure_member(room.id, bob.id, "viewer")

    with pytest.raises(FailedPrecondition, match="needs an owner"):
        await access.set_role(room.id, alice.id, "member")
    with pytest.raises(FailedPrecondition):
        await access.remove_member(room.id, alice.id)
    with pytest.raises(NotFound, match="Member"):
        await access.set_role(room.id, people["carol"].id, "member")

    promoted = await access.set_role(room.id, bob.id, "owner")
    assert promoted.role == "owner"
    assert (await access.set_role(room.id, alice.id, "viewer")).role == "viewer"
    removed = await access.remove_member(room.id, alice.id)
    assert removed.account_id == alice.id
    assert await access.get_member(room.id, alice.id) is None
    with pytest.raises(NotFound):
        await access.remove_member(room.id, alice.id)


async def test_invites_are_accepted_until_used_up(
    rooms: RoomStore, access: AccessStore, people: dict[str, AccountRecord]
) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = await rooms.create_room("r", alice.id, owner_id=alice.id)
    now = utcnow()
    invite = await access.create_invite(
        room.id, alice.id, "i" * 64, role="viewer", max_uses=1, expires_at=None
    )

    room_id, member, changed = await access.accept_invite("i" * 64, bob.id, guest=False, now=now)
    assert (room_id, member.role, changed) == (room.id, "viewer", True)
    # Again by the same member: nothing changes, no use is consumed.
    assert (await access.accept_invite("i" * 64, bob.id, guest=False, now=now))[2] is False
    with pytest.raises(NotFound, match=INVITE_INVALID):
        await access.accept_invite("i" * 64, carol.id, guest=False, now=now)
    [listed] = await access.list_invites(room.id)
    assert (listed.id, listed.uses, listed.max_uses) == (invite.id, 1, 1)


async def test_invites_keep_the_higher_role(
    rooms: RoomStore, access: AccessStore, people: dict[str, AccountRecord]
) -> None:
    alice, bob = people["alice"], people["bob"]
    room = await rooms.create_room("r", alice.id, owner_id=alice.id)
    now = utcnow()
    await access.create_invite(
        room.id, alice.id, "m" * 64, role="member", max_uses=None, expires_at=None
    )
    await access.create_invite(
        room.id, alice.id, "v" * 64, role="viewer", max_uses=None, expires_at=None
    )

    await access.ensure_member(room.id, bob.id, "viewer")
    assert (await access.accept_invite("m" * 64, bob.id, guest=False, now=now))[1].role == "member"
    _, member, changed = await access.accept_invite("v" * 64, bob.id, guest=False, now=now)
    assert (member.role, changed) == ("member", False)
    _, owner, _ = await access.accept_invite("v" * 64, alice.id, guest=False, now=now)
    assert owner.role == "owner"
    assert [i.uses for i in await access.list_invites(room.id)] == [0, 0]


async def test_expired_revoked_and_guest_refused_invites(
    rooms: RoomStore, access: AccessStore, people: dict[str, AccountRecord]
) -> None:
    alice, bob, guest = people["alice"], people["bob"], people["guest"]
    room = await rooms.create_room("r", alice.id, owner_id=alice.id)
    now = utcnow()
    await access.create_invite(
        room.id, alice.id, "e" * 64, role="member", max_uses=None, expires_at=now
    )
    revoked = await access.create_invite(
        room.id, alice.id, "r" * 64, role="member", max_uses=None, expires_at=None
    )
    await access.create_invite(
        room.id, alice.id, "g" * 64, role="member", max_uses=None, expires_at=None
    )

    first = await access.revoke_invite(room.id, revoked.id, now)
    again = await access.revoke_invite(room.id, revoked.id, now + timedelta(hours=1))
    assert first.revoked_at == again.revoked_at == now
    with pytest.raises(NotFound, match="Invite not found"):
        await access.revoke_invite("other-room", revoked.id, now)
    for token, account, is_guest in (
        ("e" * 64, bob, False),
        ("r" * 64, bob, False),
        ("g" * 64, guest, True),
        ("x" * 64, bob, False),
    ):
        with pytest.raises(NotFound, match=INVITE_INVALID):
            await access.accept_invite(token, account.id, guest=is_guest, now=now)
    assert await access.get_member(room.id, bob.id) is None
