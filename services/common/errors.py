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
INTERNAL = (500, "internal")
INTERNAL_MESSAGE = "Internal server error."
_GENERIC_MESSAGES = {
    grpc.StatusCode.UNAVAILABLE: "The room service is unavailable; try again shortly.",
    grpc.StatusCode.DEADLINE_EXCEEDED: "The room service did not answer in time.",
}


def http_error(code: grpc.StatusCode, details: str | None) -> tuple[int, str, str]:
    """Map a gRPC status to (HTTP status, error code, client-safe message)."""
    status, name = HTTP_STATUS.get(code, INTERNAL)
    if status >= 500:
        return status, name, _GENERIC_MESSAGES.get(code, INTERNAL_MESSAGE)
    return status, name, details or name.replace("_", " ")


def error_code(code: grpc.StatusCode) -> str:
    """The string form of a gRPC status used in error frames and bodies."""
    return HTTP_STATUS.get(code, INTERNAL)[1]
