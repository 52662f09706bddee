"""POST /api/session: a display name in, a user id and a signed token out."""

from __future__ import annotations

from fastapi import APIRouter

from services.common.ids import new_id
from services.common.validation import clean_name
from services.gateway.auth import Identity
from services.gateway.deps import GatewayDep
from services.gateway.schemas import SessionIn, SessionOut, UserOut

router = APIRouter(prefix="/api", tags=["session"])

MAX_DISPLAY_NAME = 64


@router.post("/session", status_code=201, response_model=SessionOut)
async def create_session(body: SessionIn, gateway: GatewayDep) -> SessionOut:
    """Start a session under a display name."""
    identity = Identity(id=new_id(), name=clean_name(body.name, "Display name", MAX_DISPLAY_NAME))
    return SessionOut(
        user=UserOut(id=identity.id, name=identity.name), token=gateway.signer.issue(identity)
    )
