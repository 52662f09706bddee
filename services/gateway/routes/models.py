"""The models personas can use, and the health of their providers (from the LLM node)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.common.pb import llm_pb2
from services.gateway.deps import CurrentUser, GatewayDep
from services.gateway.schemas import ModelList, ProviderList

router = APIRouter(prefix="/api", tags=["models"])

LLM_TIMEOUT_S = 10.0


@router.get("/models", response_model=ModelList)
async def list_models(user: CurrentUser, gateway: GatewayDep) -> dict[str, Any]:
    """Every configured model, with whether it is available and, if not, why."""
    reply = await gateway.llm.ListModels(llm_pb2.ListModelsRequest(), timeout=LLM_TIMEOUT_S)
    return {
        "models": [
            {
                "id": m.id,
                "backend": m.backend,
                "model": m.model,
                "available": m.available,
                "reason": m.reason or None,
                "context_window": m.context_window,
            }
            for m in reply.models
        ]
    }


@router.get("/providers", response_model=ProviderList)
async def list_providers(user: CurrentUser, gateway: GatewayDep) -> dict[str, Any]:
    """Which backends are configured and whether they are healthy."""
    reply = await gateway.llm.ListProviders(llm_pb2.ListProvidersRequest(), timeout=LLM_TIMEOUT_S)
    return {
        "providers": [
            {
                "backend": p.backend,
                "models": p.models,
                "available": p.available,
                "healthy": p.healthy,
                "detail": p.detail,
            }
            for p in reply.providers
        ]
    }
