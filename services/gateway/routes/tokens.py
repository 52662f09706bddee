"""Personal API tokens for REST and CLI clients: create (shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from services.common.pb import account_pb2 as apb
from services.gateway.convert import token_json
from services.gateway.deps import GatewayDep, RegisteredUser
from services.gateway.schemas import NewTokenOut, TokenIn, TokenList
from services.gateway.ws.protocol import CLOSE_POLICY

router = APIRouter(prefix="/api/tokens", tags=["tokens"])


@router.post("", status_code=201, response_model=NewTokenOut)
async def create_token(body: TokenIn, user: RegisteredUser, gateway: GatewayDep) -> dict[str, Any]:
    """A new token; its secret is in this answer only (the server keeps a hash)."""
    reply = await gateway.accounts.CreateToken(
        apb.CreateTokenRequest(
            actor_id=user.id, name=body.name, expires_in_days=body.expires_in_days or 0
        ),
        timeout=gateway.timeout,
    )
    out = token_json(reply.token)
    del out["last_used_at"]
    return {**out, "token": reply.secret}


@router.get("", response_model=TokenList)
async def list_tokens(user: RegisteredUser, gateway: GatewayDep) -> dict[str, Any]:
    """Your tokens, without their secrets."""
    reply = await gateway.accounts.ListTokens(
        apb.ListTokensRequest(actor_id=user.id), timeout=gateway.timeout
    )
    return {"tokens": [token_json(t) for t in reply.tokens]}


@router.delete("/{token_id}", status_code=204)
async def revoke_token(token_id: str, user: RegisteredUser, gateway: GatewayDep) -> Response:
    """Revoke a token at once: requests with it fail and its sockets close (1008)."""
    await gateway.accounts.RevokeToken(
        apb.RevokeTokenRequest(actor_id=user.id, token_id=token_id), timeout=gateway.timeout
    )
    gateway.sockets.close_credential(token_id, CLOSE_POLICY, "Token revoked.")
    return Response(status_code=204)
