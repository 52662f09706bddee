"""A room's summary on demand: decisions and action items, posted as a system message."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.common.pb import room_pb2 as pb
from services.gateway.convert import message_json
from services.gateway.deps import CurrentUser, GatewayDep, actor
from services.gateway.schemas import MessageOut

router = APIRouter(prefix="/api/rooms/{room_id}/summary", tags=["rooms"])


@router.post("", status_code=201, response_model=MessageOut)
async def post_summary(room_id: str, user: CurrentUser, gateway: GatewayDep) -> dict[str, Any]:
    """Summarize the room (like sending `/summary`; members and owners); all see it live."""
    request = pb.SummaryPostRequest(actor=actor(user), room_id=room_id)
    message = await gateway.rooms.SummaryPost(request, timeout=gateway.settings.summary_timeout_s)
    return message_json(message)
