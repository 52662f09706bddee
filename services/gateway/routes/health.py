"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

import grpc
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.gateway.deps import GatewayDep
from services.gateway.errors import error_response

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, Any]:
    """The gateway process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "The room service is not serving."}})
async def readyz(gateway: GatewayDep) -> JSONResponse:
    """The room service is reachable and serving."""
    stub = health_pb2_grpc.HealthStub(gateway.channel)
    try:
        reply = await stub.Check(
            health_pb2.HealthCheckRequest(service="chimera.v1.RoomService"), timeout=2
        )
    except grpc.aio.AioRpcError:
        return error_response(503, "unavailable", "The room service is not reachable.")
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        return error_response(503, "unavailable", "The room service is not serving.")
    return JSONResponse({"status": "ready"})
