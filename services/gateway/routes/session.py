"""POST /api/session: a guest account under a display name, signed in at once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from services.common.pb import account_pb2 as apb
from services.common.validation import clean_name
from services.gateway.deps import GatewayDep, per_ip
from services.gateway.routes.auth import start_session
from services.gateway.schemas import SessionIn, SessionOut

router = APIRouter(prefix="/api", tags=["accounts"])

MAX_DISPLAY_NAME = 64


@router.post(
    "/session",
    status_code=201,
    response_model=SessionOut,
    dependencies=[per_ip("session")],
    responses={403: {"description": "Guests are not allowed on this server."}},
)
async def create_session(
    body: SessionIn, request: Request, response: Response, gateway: GatewayDep
) -> dict[str, Any]:
    """Start a guest session under a display name (where the server allows guests)."""
    name = clean_name(body.name, "Display name", MAX_DISPLAY_NAME)
    grant = await gateway.accounts.CreateGuest(apb.GuestRequest(name=name), timeout=gateway.timeout)
    return start_session(grant, request, response, gateway)
