"""Room membership: members and their roles, leaving, and invites (create, list, revoke, accept)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from services.common.clock import utcnow
from services.common.errors import InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from services.common.pb import room_pb2 as pb
from services.room.access import OWNERS_ONLY, is_owner
from services.room.accounts.service import hash_secret, new_secret
from services.room.convert import ROLE_NAMES, invite_pb, member_pb, room_pb
from services.room.rooms import INVALID_ACTOR, Rooms
from services.room.store.records import INVITE_INVALID, MEMBER_NOT_FOUND

logger = logging.getLogger(__name__)

MAX_INVITE_USES = 10_000
MAX_INVITE_HOURS = 8_760
MAX_INVITE_TOKEN = 512
INVITE_ROLES = frozenset({"member", "viewer"})


class Members:
    """Member and invite operations of a room, on top of `Rooms` (its access rules and hub)."""

    def __init__(self, rooms: Rooms, clock: Callable[[], datetime] = utcnow) -> None:
        self.rooms = rooms
        self.access = rooms.access
        self.repo = rooms.access.members
        self.clock = clock

    async def list_members(self, actor: pb.User, room_id: str) -> list[pb.RoomMember]:
        """A room's members (anyone who may read the room)."""
        await self.access.require_read(actor, room_id)
        return [member_pb(m) for m in await self.repo.list_members(room_id)]

    async def update(self, actor: pb.User, room_id: str, user_id: str, role: int) -> pb.RoomMember:
        """Change a member's role (owners only; the last owner stays an owner)."""
        await self.access.require_owner(actor, room_id)
        name = ROLE_NAMES.get(role)
        if name is None:
            raise InvalidArgument("role must be owner, member or viewer.")
        async with self.rooms.timeline.hold(
            room_id
        ):  # no join caches a role between write and update
            member = await self.repo.set_role(room_id, user_id, name)
            self.rooms.announce_member(member)
        logger.info("member role changed", extra={"room_id": room_id, "role": name})
        return member_pb(member)

    async def remove(self, actor: pb.User, room_id: str, user_id: str) -> None:
        """Remove a member (owners), or leave (anyone, for themselves); sockets close at once."""
        leaving = user_id == actor.id
        view = await self.access.require_read(actor, room_id)
        if leaving and view.role is None:
            raise NotFound(MEMBER_NOT_FOUND)
        if not leaving and not is_owner(view.role):
            raise PermissionDenied(OWNERS_ONLY)
        async with self.rooms.timeline.hold(room_id):
            await self.repo.remove_member(
                room_id, user_id, removed_by=None if leaving else actor.id
            )
            reason = "You left the room." if leaving else "You were removed from the room."
            self.rooms.remove_connections(room_id, user_id, reason)
        logger.info("member removed", extra={"room_id": room_id, "left": leaving})

    # --- invites --------------------------------------------------------------------------------

    async def create_invite(
        self, actor: pb.User, room_id: str, max_uses: int, expires_in_hours: int, role: int
    ) -> tuple[pb.Invite, str]:
        """A new invite (owners only) and its token, shown once."""
        view = await self.access.require_owner(actor, room_id)
        role_name = "member" if role == pb.ROOM_ROLE_UNSPECIFIED else ROLE_NAMES.get(role)
        if role_name not in INVITE_ROLES:
            raise InvalidArgument("An invite grants the role member or viewer.")
        if not 0 <= max_uses <= MAX_INVITE_USES:
            raise InvalidArgument(
                f"max_uses must be between 1 and {MAX_INVITE_USES} (or 0 for unlimited)."
            )
        if not 0 <= expires_in_hours <= MAX_INVITE_HOURS:
            raise InvalidArgument(
                f"expires_in_hours must be between 1 and {MAX_INVITE_HOURS} (or 0 for never)."
            )
        token = new_secret()
        expires_at = self.clock() + timedelta(hours=expires_in_hours) if expires_in_hours else None
        invite = await self.repo.create_invite(
            room_id,
            view.actor.id,
            hash_secret(token),
            role=role_name,
            max_uses=max_uses or None,
            expires_at=expires_at,
        )
        return invite_pb(invite), token

    async def list_invites(self, actor: pb.User, room_id: str) -> list[pb.Invite]:
        """A room's invites, newest first (owners only)."""
        await self.access.require_owner(actor, room_id)
        return [invite_pb(invite) for invite in await self.repo.list_invites(room_id)]

    async def revoke_invite(self, actor: pb.User, room_id: str, invite_id: str) -> None:
        """Revoke an invite of the room (owners only)."""
        await self.access.require_owner(actor, room_id)
        await self.repo.revoke_invite(room_id, invite_id, self.clock())

    async def accept_invite(self, actor: pb.User, token: str) -> pb.Room:
        """Join the invite's room with its role (keeping a higher one); the room, with the role."""
        account = await self.access.actor(actor)
        if account is None:
            raise Unauthenticated(INVALID_ACTOR)
        if not token or len(token) > MAX_INVITE_TOKEN:
            raise NotFound(INVITE_INVALID)
        room_id, member, changed = await self.repo.accept_invite(
            hash_secret(token), account.id, guest=account.kind == "guest", now=self.clock()
        )
        if changed:
            async with self.rooms.timeline.hold(room_id):
                self.rooms.announce_member(member)
        view = await self.access.require_read(actor, room_id)
        return room_pb(view.room, view.role)
