"""Who may do what in a room: every access rule of the room service, in one place.

- invite room: members (any role) read; everyone else gets NotFound, as for a missing room.
- open room: any registered account reads; sending (or joining live) makes it a member.
- guests count only in rooms with `allow_guests`; elsewhere the room does not exist for them.
- send and stop replies: members and owners; viewers get PermissionDenied.
- switch the autopilot or change its settings (and nothing else of the room), and post a
  summary: members and owners, as sending; viewers get PermissionDenied.
- change the room (name, personas, access, guests), its invites and others' membership:
  owners; others PermissionDenied.
- unknown and disabled accounts have no access at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.errors import NotFound, PermissionDenied
from services.common.pb import room_pb2 as pb
from services.room.store.protocol import AccessStore, AccountStore
from services.room.store.records import ROOM_NOT_FOUND, AccountRecord, MemberRecord, RoomRecord

VIEWERS_CANNOT_SEND = "Viewers cannot send messages."
VIEWERS_CANNOT_STOP = "Viewers cannot stop replies."
VIEWERS_CANNOT_PILOT = "Viewers cannot change the autopilot."
VIEWERS_CANNOT_SUMMARIZE = "Viewers cannot ask for a summary."
OWNERS_ONLY = "Only the room's owners can do that."
SENDERS = frozenset({"member", "owner"})


@dataclass(frozen=True)
class RoomView:
    """A room as one account may see it: the account, the room and its role there."""

    actor: AccountRecord
    room: RoomRecord
    role: str | None  # None: not a member (an open room)
    joined: MemberRecord | None = None  # set when this request made the actor a member


def can_read(actor: AccountRecord | None, room: RoomRecord, role: str | None) -> bool:
    """Whether `actor`, with `role` in `room`, may read it (and so know that it exists)."""
    if actor is None or actor.disabled:
        return False
    if actor.kind == "guest" and not room.allow_guests:
        return False
    return role is not None or room.access == "open"


def can_send(role: str | None) -> bool:
    """Whether a member with `role` may send messages, stop replies, switch the autopilot and
    ask for a summary."""
    return role in SENDERS


def is_owner(role: str | None) -> bool:
    """Whether `role` may change the room, its invites and its members."""
    return role == "owner"


class RoomAccess:
    """Looks up actors and memberships and applies the rules above."""

    def __init__(self, accounts: AccountStore, members: AccessStore) -> None:
        self.accounts = accounts
        self.members = members

    async def actor(self, user: pb.User) -> AccountRecord | None:
        """The account behind a request's actor; None when unknown or disabled."""
        account = await self.accounts.get_account(user.id) if user.id else None
        return None if account is None or account.disabled else account

    async def require_read(self, user: pb.User, room_id: str) -> RoomView:
        """The room as `user` sees it; NotFound when it may not read it (or there is none)."""
        actor = await self.actor(user)
        if actor is None:
            raise NotFound(ROOM_NOT_FOUND)
        room, role = await self.members.room_and_role(room_id, actor.id)
        if not can_read(actor, room, role):
            raise NotFound(ROOM_NOT_FOUND)
        return RoomView(actor, room, role)

    async def require_member(self, user: pb.User, room_id: str) -> RoomView:
        """As `require_read`; a reader of an open room who is not yet a member becomes one."""
        view = await self.require_read(user, room_id)
        if view.role is not None:
            return view
        member, added = await self.members.ensure_member(room_id, view.actor.id, "member")
        return RoomView(view.actor, view.room, member.role, member if added else None)

    async def require_send(self, user: pb.User, room_id: str) -> RoomView:
        """As `require_member`, then PermissionDenied for viewers."""
        view = await self.require_member(user, room_id)
        if not can_send(view.role):
            raise PermissionDenied(VIEWERS_CANNOT_SEND)
        return view

    async def require_owner(self, user: pb.User, room_id: str) -> RoomView:
        """As `require_read`, then PermissionDenied for anyone but an owner."""
        view = await self.require_read(user, room_id)
        if not is_owner(view.role):
            raise PermissionDenied(OWNERS_ONLY)
        return view
