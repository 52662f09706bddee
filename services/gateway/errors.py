"""The one error shape, `{"error": {"code", "message"}}`, for every failure."""

from __future__ import annotations

import logging
import math

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from services.common.errors import INTERNAL, INTERNAL_MESSAGE, ChimeraError, http_error, is_safe
from services.gateway.auth import CsrfFailed
from services.gateway.limits import RateLimited
from services.gateway.redact import redact

logger = logging.getLogger(__name__)

# When a RESOURCE_EXHAUSTED answer names no wait of its own.
DEFAULT_RETRY_AFTER_S = 60.0

_HTTP_CODES = {
    400: "invalid_argument",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    429: "rate_limited",
    503: "unavailable",
}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON response in the error shape."""
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def retry_after_s(exc: grpc.aio.AioRpcError) -> float:
    """The wait a RESOURCE_EXHAUSTED answer names in its `retry-after` trailing metadata."""
    for key, value in exc.trailing_metadata() or ():
        if key == "retry-after":
            try:
                return max(1.0, float(value))
            except (TypeError, ValueError):
                break
    return DEFAULT_RETRY_AFTER_S


def rate_limited(exc: grpc.aio.AioRpcError, default_message: str) -> RateLimited:
    """A RESOURCE_EXHAUSTED limit of the room service as the gateway's own 429 `rate_limited`."""
    message = exc.details() if is_safe(exc) and exc.details() else default_message
    return RateLimited(retry_after_s(exc), message)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return "; ".join(parts) or "Invalid request."


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception through the error shape; internals never reach a client."""

    @app.exception_handler(grpc.aio.AioRpcError)
    async def _rpc(request: Request, exc: grpc.aio.AioRpcError) -> JSONResponse:
        status, code, message = http_error(exc.code(), exc.details(), safe=is_safe(exc))
        if status >= 500:
            logger.warning(
                "room service call failed",
                extra={"grpc_code": exc.code().name, "path": redact(request.url.path)},
            )
        # RESOURCE_EXHAUSTED: a quota or limit of the room service; clients may retry later.
        headers = {"Retry-After": str(math.ceil(retry_after_s(exc)))} if status == 429 else None
        return error_response(status, code, message, headers)

    @app.exception_handler(RateLimited)
    async def _limited(request: Request, exc: RateLimited) -> JSONResponse:
        return error_response(429, "rate_limited", exc.message, {"Retry-After": exc.retry_after})

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed) -> JSONResponse:
        return error_response(403, "csrf_failed", exc.message)

    @app.exception_handler(ChimeraError)
    async def _domain(request: Request, exc: ChimeraError) -> JSONResponse:
        status, code, message = http_error(exc.code, exc.message)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return error_response(status, code, message, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "invalid_argument", _validation_message(exc))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "internal" if exc.status_code >= 500 else "error")
        message = (
            exc.detail
            if isinstance(exc.detail, str) and exc.status_code < 500
            else INTERNAL_MESSAGE
        )
        return error_response(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", extra={"path": redact(request.url.path)})
        return error_response(INTERNAL[0], INTERNAL[1], INTERNAL_MESSAGE)
