"""A room's members: list, change a role, remove (or leave)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from services.common.pb import room_pb2 as pb
from services.gateway.convert import ROLE_VALUES, member_json
from services.gateway.deps import CurrentUser, GatewayDep, actor
from services.gateway.schemas import MemberList, MemberOut, MemberPatch

router = APIRouter(prefix="/api/rooms/{room_id}/members", tags=["members"])

REMOVED = "Removed from the room."


@router.get("", response_model=MemberList)
async def list_members(room_id: str, user: CurrentUser, gateway: GatewayDep) -> dict[str, Any]:
    """Who belongs to the room, with their roles."""
    reply = await gateway.rooms.ListMembers(
        pb.ListMembersRequest(actor=actor(user), room_id=room_id), timeout=gateway.timeout
    )
    return {"members": [member_json(m) for m in reply.members]}


@router.patch("/{user_id}", response_model=MemberOut)
async def update_member(
    room_id: str, user_id: str, body: MemberPatch, user: CurrentUser, gateway: GatewayDep
) -> dict[str, Any]:
    """Owners: change a member's role (the last owner cannot be demoted)."""
    member = await gateway.rooms.UpdateMember(
        pb.UpdateMemberRequest(
            actor=actor(user), room_id=room_id, user_id=user_id, role=ROLE_VALUES[body.role]
        ),
        timeout=gateway.timeout,
    )
    return member_json(member)


@router.delete("/{user_id}", status_code=204)
async def remove_member(
    room_id: str, user_id: str, user: CurrentUser, gateway: GatewayDep
) -> Response:
    """Owners remove a member; a member removes themselves to leave. Their sockets close (4403)."""
    await gateway.rooms.RemoveMember(
        pb.RemoveMemberRequest(actor=actor(user), room_id=room_id, user_id=user_id),
        timeout=gateway.timeout,
    )
    # The room service tells every gateway; this one need not wait for its own stream.
    link = gateway.hub.links.get(room_id)
    if link is not None:
        link.close_user(user_id, REMOVED)
    return Response(status_code=204)
