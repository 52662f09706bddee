"""A room's messages: keyset pages of history, and posting."""

from __future__ import annotations

from typing import Annotated, Any

import grpc
from fastapi import APIRouter, Query, Response

from services.common.errors import InvalidArgument
from services.common.ids import new_id
from services.common.pb import room_pb2 as pb
from services.gateway.convert import message_json
from services.gateway.deps import CurrentUser, GatewayDep, actor
from services.gateway.errors import rate_limited
from services.gateway.schemas import MessageIn, MessageOut, MessagePage

router = APIRouter(prefix="/api/rooms/{room_id}/messages", tags=["messages"])

SEQ = Query(ge=0, le=2**63 - 1)
TOO_MANY_POSTS = "Too many messages in this room; slow down."


@router.get("", response_model=MessagePage)
async def list_messages(
    room_id: str,
    user: CurrentUser,
    gateway: GatewayDep,
    before: Annotated[int | None, SEQ] = None,
    after: Annotated[int | None, SEQ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """No cursor: the newest page. `before`: the newest `limit` below it. `after`: the oldest above it."""
    if before is not None and after is not None:
        raise InvalidArgument("Give at most one of before and after.")
    request = pb.LoadHistoryRequest(room_id=room_id, limit=limit, actor=actor(user))
    if before is not None:
        request.before_seq = before
    if after is not None:
        request.after_seq = after
    page = await gateway.rooms.LoadHistory(request, timeout=gateway.timeout)
    return {"messages": [message_json(m) for m in page.messages], "has_more": page.has_more}


@router.post(
    "",
    status_code=201,
    response_model=MessageOut,
    responses={
        200: {"model": MessageOut, "description": "Duplicate client_msg_id: the original message."},
        429: {"description": "Posting too fast in this room (see Retry-After)."},
    },
)
async def post_message(
    room_id: str, body: MessageIn, user: CurrentUser, gateway: GatewayDep, response: Response
) -> dict[str, Any]:
    """Post a message; WebSocket members see it live. Idempotent by client_msg_id."""
    # A generated key makes the call safe to retry even when the client gave none.
    request = pb.PostMessageRequest(
        room_id=room_id,
        author=actor(user),
        content=body.content,
        client_msg_id=body.client_msg_id or f"rest-{new_id()}",
        reply_to=body.reply_to or "",
    )
    try:
        reply = await gateway.rooms.PostMessage(request, timeout=gateway.timeout)
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:  # the account's posting rate
            raise rate_limited(exc, TOO_MANY_POSTS) from None
        raise
    if reply.duplicate:
        response.status_code = 200
    return message_json(reply.message)


@router.post("/{message_id}/interrupt", response_model=MessageOut)
async def interrupt_message(
    room_id: str, message_id: str, user: CurrentUser, gateway: GatewayDep
) -> dict[str, Any]:
    """Stop a streaming AI reply (members and owners); returns it with its partial text."""
    request = pb.InterruptMessageRequest(actor=actor(user), room_id=room_id, message_id=message_id)
    message = await gateway.rooms.InterruptMessage(request, timeout=gateway.timeout)
    return message_json(message)
