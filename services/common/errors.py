"""Typed errors and the one table that maps them across gRPC and HTTP.

Domain code raises `ChimeraError` subclasses; only servicers turn them into gRPC
status (`grpc_status`), and only the gateway turns gRPC status into HTTP (`HTTP_STATUS`).
"""

from __future__ import annotations

import grpc


class ChimeraError(Exception):
    """Base for errors whose message is safe to show a client."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    retryable: bool = False
    # The code string of error frames, where it says more than the status's (e.g. "rate_limited").
    client_code: str | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(ChimeraError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(ChimeraError):
    code = grpc.StatusCode.NOT_FOUND


class Unauthenticated(ChimeraError):
    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(ChimeraError):
    code = grpc.StatusCode.PERMISSION_DENIED


class FailedPrecondition(ChimeraError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Conflict(ChimeraError):
    code = grpc.StatusCode.ALREADY_EXISTS


class ResourceExhausted(ChimeraError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    retryable = True


class Unavailable(ChimeraError):
    code = grpc.StatusCode.UNAVAILABLE
    retryable = True


# gRPC status -> (HTTP status, error code string). Anything not listed is a 500
# whose message is generic: internals (stack traces, SQL) never reach a client.
HTTP_STATUS: dict[grpc.StatusCode, tuple[int, str]] = {
    grpc.StatusCode.INVALID_ARGUMENT: (400, "invalid_argument"),
    grpc.StatusCode.OUT_OF_RANGE: (400, "invalid_argument"),
    grpc.StatusCode.FAILED_PRECONDITION: (400, "failed_precondition"),
    grpc.StatusCode.UNAUTHENTICATED: (401, "unauthenticated"),
    grpc.StatusCode.PERMISSION_DENIED: (403, "permission_denied"),
    grpc.StatusCode.NOT_FOUND: (404, "not_found"),
    grpc.StatusCode.ALREADY_EXISTS: (409, "already_exists"),
    grpc.StatusCode.ABORTED: (409, "aborted"),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (429, "resource_exhausted"),
    grpc.StatusCode.UNAVAILABLE: (503, "unavailable"),
    grpc.StatusCode.DEADLINE_EXCEEDED: (504, "deadline_exceeded"),
}
# Servicers mark the details they write for clients with this trailing-metadata key;
# details without it come from the transport (sizes, connections) and are not shown.
SAFE_DETAILS_KEY = "chimera-safe-details"
SAFE_DETAILS = ((SAFE_DETAILS_KEY, "1"),)

INTERNAL = (500, "internal")
INTERNAL_MESSAGE = "Internal server error."
_GENERIC_MESSAGES = {
    grpc.StatusCode.UNAVAILABLE: "A Chimera service is unavailable; try again shortly.",
    grpc.StatusCode.DEADLINE_EXCEEDED: "A Chimera service did not answer in time.",
}


_GENERIC_CLIENT_MESSAGES = {
    grpc.StatusCode.RESOURCE_EXHAUSTED: "Too large or too many requests.",
}


def http_error(
    code: grpc.StatusCode, details: str | None, *, safe: bool = True
) -> tuple[int, str, str]:
    """Map a gRPC status to (HTTP status, error code, client-safe message).

    `safe` says the details were written for clients (see `is_safe`); otherwise a generic
    message for the status is used.
    """
    status, name = HTTP_STATUS.get(code, INTERNAL)
    if status >= 500:
        return status, name, _GENERIC_MESSAGES.get(code, INTERNAL_MESSAGE)
    if not safe or not details:
        details = _GENERIC_CLIENT_MESSAGES.get(code, name.replace("_", " ").capitalize() + ".")
    return status, name, details


def is_safe(error: grpc.aio.AioRpcError) -> bool:
    """Whether a failed call's details were written by a Chimera servicer for clients."""
    return any(key == SAFE_DETAILS_KEY for key, _ in (error.trailing_metadata() or ()))


async def abort(
    context: grpc.aio.ServicerContext,
    code: grpc.StatusCode,
    message: str,
    metadata: tuple[tuple[str, str], ...] = (),
) -> None:
    """End a call with a status whose message is meant for clients (and extra trailing metadata)."""
    await context.abort(code, message, trailing_metadata=SAFE_DETAILS + metadata)


def error_code(code: grpc.StatusCode) -> str:
    """The string form of a gRPC status used in error frames and bodies."""
    return HTTP_STATUS.get(code, INTERNAL)[1]


def error_name(error: ChimeraError) -> str:
    """The code string of a typed error in error frames: its own, else its status's."""
    return error.client_code or error_code(error.code)
