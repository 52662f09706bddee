"""Who belongs to which room: members with roles, invites, and the rooms an account may see."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import uuid4

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.common.clock import utcnow
from services.common.errors import FailedPrecondition, NotFound, PermissionDenied
from services.room.store.records import (
    INVITE_INVALID,
    LAST_OWNER,
    MEMBER_NOT_FOUND,
    ROOM_NOT_FOUND,
    AutopilotRecord,
    InviteRecord,
    MemberRecord,
    RoomRecord,
)
from services.room.store.sql.base import Repository
from services.room.store.sql.models import Account, Invite, Room, RoomMember, RoomRemoval
from services.room.store.sql.personas import load_personas
from services.room.store.sql.rows import load_summaries, room_record

ROLE_RANK = {"viewer": 1, "member": 2, "owner": 3}
INVITE_NOT_FOUND = "Invite not found."
REMOVED = "You were removed from this room; an owner can invite you back."


class AccessRepository(Repository):
    """Rows of `room_members` and `invites`, and room listings filtered by membership."""

    def __init__(
        self, engine: AsyncEngine, autopilot_defaults: AutopilotRecord | None = None
    ) -> None:
        super().__init__(engine)
        # As RoomRepository's: the rooms read here show the same autopilot settings.
        self.autopilot_defaults = autopilot_defaults or AutopilotRecord()

    # --- reading rooms as an account ----------------------------------------------------------

    async def room_and_role(self, room_id: str, account_id: str) -> tuple[RoomRecord, str | None]:
        """A room and the account's role in it (None: not a member); NotFound if no room."""
        async with self._sessions() as session:
            room = await session.get(Room, room_id)
            if room is None:
                raise NotFound(ROOM_NOT_FOUND)
            role = await session.scalar(
                select(RoomMember.role).where(
                    RoomMember.room_id == room_id, RoomMember.account_id == account_id
                )
            )
            personas = await load_personas(session, [room_id])
            summaries = await load_summaries(session, [room_id])
        record = room_record(
            room, personas.get(room_id, ()), summaries.get(room_id), self.autopilot_defaults
        )
        return record, role

    async def visible_rooms(
        self, account_id: str, *, guest: bool, limit: int
    ) -> list[tuple[RoomRecord, str | None]]:
        """Rooms the account is in or that are open (guests: only those admitting guests)."""
        query = (
            select(Room, RoomMember.role)
            .outerjoin(
                RoomMember,
                and_(RoomMember.room_id == Room.id, RoomMember.account_id == account_id),
            )
            .where(or_(RoomMember.role.is_not(None), Room.access == "open"))
            .order_by(Room.created_at.desc(), Room.id.desc())
            .limit(limit)
        )
        if guest:
            query = query.where(Room.allow_guests.is_(True))
        async with self._sessions() as session:
            rows = [(row[0], row[1]) for row in await session.execute(query)]
            ids = [room.id for room, _ in rows]
            personas = await load_personas(session, ids)
            summaries = await load_summaries(session, ids)
        return [
            (
                room_record(
                    room, personas.get(room.id, ()), summaries.get(room.id), self.autopilot_defaults
                ),
                role,
            )
            for room, role in rows
        ]

    async def roles(self, account_id: str, room_ids: Sequence[str]) -> dict[str, str]:
        """The account's role in each of `room_ids` where it is a member."""
        query = select(RoomMember.room_id, RoomMember.role).where(
            RoomMember.account_id == account_id, RoomMember.room_id.in_(room_ids)
        )
        async with self._sessions() as session:
            return {room_id: role for room_id, role in await session.execute(query)}

    # --- members --------------------------------------------------------------------------------

    async def get_member(self, room_id: str, account_id: str) -> MemberRecord | None:
        """One member of a room, or None."""
        async with self._sessions() as session:
            return await _member(session, room_id, account_id)

    async def list_members(self, room_id: str) -> list[MemberRecord]:
        """A room's members in the order they joined."""
        query = (
            select(RoomMember, Account)
            .join(Account, Account.id == RoomMember.account_id)
            .where(RoomMember.room_id == room_id)
            .order_by(RoomMember.created_at, RoomMember.account_id)
        )
        async with self._sessions() as session:
            return [_member_record(m, a) for m, a in await session.execute(query)]

    async def ensure_member(
        self, room_id: str, account_id: str, role: str
    ) -> tuple[MemberRecord, bool]:
        """Make the account a member with `role` unless it already is one; (member, added).

        PermissionDenied for an account an owner removed (it comes back by an invite).
        """
        for _ in range(2):  # a concurrent insert (another room-service instance) wins once
            try:
                async with self._write() as session:
                    existing = await _member(session, room_id, account_id)
                    if existing is not None:
                        return existing, False
                    if await session.get(RoomRemoval, (room_id, account_id)) is not None:
                        raise PermissionDenied(REMOVED)
                    account = await session.get(Account, account_id)
                    if account is None:
                        raise NotFound(MEMBER_NOT_FOUND)
                    member = RoomMember(
                        room_id=room_id, account_id=account_id, role=role, created_at=utcnow()
                    )
                    session.add(member)
                    await session.flush()
                    return _member_record(member, account), True
            except IntegrityError:
                continue
        raise RuntimeError("membership insert kept conflicting")

    async def set_role(self, room_id: str, account_id: str, role: str) -> MemberRecord:
        """Change a member's role; the last owner cannot be demoted (FailedPrecondition)."""
        async with self._write() as session:
            await _lock_room(session, room_id)
            found = await _member_row(session, room_id, account_id)
            if found is None:
                raise NotFound(MEMBER_NOT_FOUND)
            member, account = found
            if member.role == "owner" and role != "owner":
                await _check_other_owner(session, room_id, account_id)
            member.role = role
            return _member_record(member, account)

    async def remove_member(
        self, room_id: str, account_id: str, *, removed_by: str | None = None
    ) -> MemberRecord:
        """Remove a member; the last owner cannot leave (FailedPrecondition).

        `removed_by` (an owner, not the member leaving): the removal is kept, so that joining
        an open room does not undo it; an accepted invite does.
        """
        async with self._write() as session:
            await _lock_room(session, room_id)
            found = await _member_row(session, room_id, account_id)
            if found is None:
                raise NotFound(MEMBER_NOT_FOUND)
            member, account = found
            if member.role == "owner":
                await _check_other_owner(session, room_id, account_id)
            await session.delete(member)
            if removed_by is not None:
                await session.merge(
                    RoomRemoval(
                        room_id=room_id,
                        account_id=account_id,
                        removed_by=removed_by,
                        created_at=utcnow(),
                    )
                )
            return _member_record(member, account)

    # --- invites --------------------------------------------------------------------------------

    async def create_invite(
        self,
        room_id: str,
        created_by: str,
        token_hash: str,
        *,
        role: str,
        max_uses: int | None,
        expires_at: datetime | None,
    ) -> InviteRecord:
        """Store an invite under the hash of its token."""
        invite = Invite(
            id=str(uuid4()),
            room_id=room_id,
            token_hash=token_hash,
            created_by=created_by,
            role=role,
            max_uses=max_uses,
            uses=0,
            created_at=utcnow(),
            expires_at=expires_at,
        )
        async with self._write() as session:
            session.add(invite)
        return _invite_record(invite)

    async def list_invites(self, room_id: str) -> list[InviteRecord]:
        """A room's invites, newest first (revoked and expired ones included)."""
        query = (
            select(Invite)
            .where(Invite.room_id == room_id)
            .order_by(Invite.created_at.desc(), Invite.id.desc())
        )
        async with self._sessions() as session:
            return [_invite_record(invite) for invite in await session.scalars(query)]

    async def revoke_invite(self, room_id: str, invite_id: str, now: datetime) -> InviteRecord:
        """Revoke an invite of the room (again: no change); NotFound if it has no such invite."""
        async with self._write() as session:
            invite = await session.scalar(
                select(Invite).where(Invite.id == invite_id, Invite.room_id == room_id)
            )
            if invite is None:
                raise NotFound(INVITE_NOT_FOUND)
            if invite.revoked_at is None:
                invite.revoked_at = now
            return _invite_record(invite)

    async def accept_invite(
        self, token_hash: str, account_id: str, *, guest: bool, now: datetime
    ) -> tuple[str, MemberRecord, bool]:
        """Join the invite's room with its role; (room id, member, membership changed).

        An existing member keeps the higher of its role and the invite's, and uses nothing.
        NotFound for unknown, revoked, expired or used-up invites and for guests in rooms
        that do not admit guests.
        """
        async with self._write() as session:
            invite = await session.scalar(
                select(Invite).where(Invite.token_hash == token_hash).with_for_update()
            )
            if invite is None or invite.revoked_at is not None:
                raise NotFound(INVITE_INVALID)
            if invite.expires_at is not None and invite.expires_at <= now:
                raise NotFound(INVITE_INVALID)
            room = await session.get(Room, invite.room_id)
            if room is None or (guest and not room.allow_guests):
                raise NotFound(INVITE_INVALID)
            found = await _member_row(session, invite.room_id, account_id)
            if found is not None:
                member, account = found
                if ROLE_RANK[invite.role] <= ROLE_RANK[member.role]:
                    return invite.room_id, _member_record(member, account), False
                member.role = invite.role
                return invite.room_id, _member_record(member, account), True
            if invite.max_uses is not None and invite.uses >= invite.max_uses:
                raise NotFound(INVITE_INVALID)
            joining = await session.get(Account, account_id)
            if joining is None:
                raise NotFound(INVITE_INVALID)
            invite.uses += 1
            removal = await session.get(RoomRemoval, (invite.room_id, account_id))
            if removal is not None:  # an owner's invite lifts an earlier removal
                await session.delete(removal)
            added = RoomMember(
                room_id=invite.room_id, account_id=account_id, role=invite.role, created_at=now
            )
            session.add(added)
            return invite.room_id, _member_record(added, joining), True


async def _lock_room(session: AsyncSession, room_id: str) -> None:
    # PostgreSQL: owner changes of one room queue on its row (SQLite: the single writer does).
    if await session.scalar(select(Room.id).where(Room.id == room_id).with_for_update()) is None:
        raise NotFound(ROOM_NOT_FOUND)


async def _check_other_owner(session: AsyncSession, room_id: str, account_id: str) -> None:
    other = await session.scalar(
        select(RoomMember.account_id)
        .where(
            RoomMember.room_id == room_id,
            RoomMember.role == "owner",
            RoomMember.account_id != account_id,
        )
        .limit(1)
    )
    if other is None:
        raise FailedPrecondition(LAST_OWNER)


async def _member_row(
    session: AsyncSession, room_id: str, account_id: str
) -> tuple[RoomMember, Account] | None:
    row = (
        await session.execute(
            select(RoomMember, Account)
            .join(Account, Account.id == RoomMember.account_id)
            .where(RoomMember.room_id == room_id, RoomMember.account_id == account_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def _member(session: AsyncSession, room_id: str, account_id: str) -> MemberRecord | None:
    found = await _member_row(session, room_id, account_id)
    return None if found is None else _member_record(*found)


def _member_record(member: RoomMember, account: Account) -> MemberRecord:
    return MemberRecord(
        room_id=member.room_id,
        account_id=member.account_id,
        name=account.name,
        role=member.role,
        guest=account.kind == "guest",
        joined_at=member.created_at,
    )


def _invite_record(invite: Invite) -> InviteRecord:
    return InviteRecord(
        id=invite.id,
        room_id=invite.room_id,
        created_by=invite.created_by,
        role=invite.role,
        max_uses=invite.max_uses,
        uses=invite.uses,
        created_at=invite.created_at,
        expires_at=invite.expires_at,
        revoked_at=invite.revoked_at,
    )
