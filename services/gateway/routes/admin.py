"""Admins: list accounts and rooms, disable an account."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.common.pb import account_pb2 as apb
from services.common.pb import room_pb2 as pb
from services.gateway.convert import admin_account_json, room_json
from services.gateway.deps import AdminUser, GatewayDep, actor
from services.gateway.schemas import AdminUserList, AdminUserOut, AdminUserPatch, RoomList
from services.gateway.ws.protocol import CLOSE_POLICY

router = APIRouter(prefix="/api/admin", tags=["admin"])


@router.get("/users", response_model=AdminUserList)
async def list_users(user: AdminUser, gateway: GatewayDep) -> dict[str, Any]:
    """Every account, guests included."""
    reply = await gateway.accounts.ListAccounts(
        apb.ListAccountsRequest(actor_id=user.id), timeout=gateway.timeout
    )
    return {"users": [admin_account_json(a) for a in reply.accounts]}


@router.patch("/users/{user_id}", response_model=AdminUserOut)
async def update_user(
    user_id: str, body: AdminUserPatch, user: AdminUser, gateway: GatewayDep
) -> dict[str, Any]:
    """Disable (or re-enable) an account: its credentials fail and its sockets close (1008)."""
    account = await gateway.accounts.SetAccountDisabled(
        apb.SetAccountDisabledRequest(actor_id=user.id, account_id=user_id, disabled=body.disabled),
        timeout=gateway.timeout,
    )
    if account.disabled:
        gateway.sockets.close_account(account.id, CLOSE_POLICY, "Account disabled.")
    return admin_account_json(account)


@router.get("/rooms", response_model=RoomList)
async def list_all_rooms(user: AdminUser, gateway: GatewayDep) -> dict[str, Any]:
    """Every room (names and settings only: admins read no one's messages)."""
    reply = await gateway.rooms.ListRooms(
        pb.ListRoomsRequest(actor=actor(user), all_rooms=True), timeout=gateway.timeout
    )
    return {"rooms": [room_json(room) for room in reply.rooms]}
