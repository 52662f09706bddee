"""Invites: owners create, list and revoke them; anyone signed in accepts one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from services.common.pb import room_pb2 as pb
from services.gateway.convert import ROLE_VALUES, invite_json, room_json
from services.gateway.deps import CurrentUser, GatewayDep, actor
from services.gateway.schemas import InviteIn, InviteList, NewInviteOut, RoomOut

router = APIRouter(prefix="/api", tags=["invites"])

InviteToken = Annotated[str, Path(min_length=1, max_length=256)]


def invite_url(request: Request, token: str) -> str:
    """The web app's link that accepts the invite (the token stays in the URL fragment)."""
    return f"{str(request.base_url).rstrip('/')}/#/invite/{token}"


@router.post("/rooms/{room_id}/invites", status_code=201, response_model=NewInviteOut)
async def create_invite(
    room_id: str, body: InviteIn, user: CurrentUser, gateway: GatewayDep, request: Request
) -> dict[str, Any]:
    """Owners: a new invite; its token and link are in this answer only."""
    reply = await gateway.rooms.CreateInvite(
        pb.CreateInviteRequest(
            actor=actor(user),
            room_id=room_id,
            max_uses=body.max_uses or 0,
            expires_in_hours=body.expires_in_hours or 0,
            role=ROLE_VALUES[body.role],
        ),
        timeout=gateway.timeout,
    )
    return {
        **invite_json(reply.invite),
        "token": reply.token,
        "url": invite_url(request, reply.token),
    }


@router.get("/rooms/{room_id}/invites", response_model=InviteList)
async def list_invites(room_id: str, user: CurrentUser, gateway: GatewayDep) -> dict[str, Any]:
    """Owners: the room's invites, without their tokens."""
    reply = await gateway.rooms.ListInvites(
        pb.ListInvitesRequest(actor=actor(user), room_id=room_id), timeout=gateway.timeout
    )
    return {"invites": [invite_json(i) for i in reply.invites]}


@router.delete("/rooms/{room_id}/invites/{invite_id}", status_code=204)
async def revoke_invite(
    room_id: str, invite_id: str, user: CurrentUser, gateway: GatewayDep
) -> Response:
    """Owners: revoke an invite; it can no longer be accepted."""
    await gateway.rooms.RevokeInvite(
        pb.RevokeInviteRequest(actor=actor(user), room_id=room_id, invite_id=invite_id),
        timeout=gateway.timeout,
    )
    return Response(status_code=204)


@router.post("/invites/{token}/accept", response_model=RoomOut)
async def accept_invite(
    token: InviteToken, user: CurrentUser, gateway: GatewayDep
) -> dict[str, Any]:
    """Join the invite's room with its role; returns the room."""
    room = await gateway.rooms.AcceptInvite(
        pb.AcceptInviteRequest(actor=actor(user), token=token), timeout=gateway.timeout
    )
    return room_json(room)
