"""The one gRPC-status-to-HTTP table."""

from __future__ import annotations

import grpc
import pytest

from services.common.errors import (
    INTERNAL_MESSAGE,
    InvalidArgument,
    NotFound,
    error_code,
    http_error,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("code", "status", "name"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, 400, "invalid_argument"),
        (grpc.StatusCode.UNAUTHENTICATED, 401, "unauthenticated"),
        (grpc.StatusCode.PERMISSION_DENIED, 403, "permission_denied"),
        (grpc.StatusCode.NOT_FOUND, 404, "not_found"),
        (grpc.StatusCode.ALREADY_EXISTS, 409, "already_exists"),
        (grpc.StatusCode.ABORTED, 409, "aborted"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 429, "resource_exhausted"),
        (grpc.StatusCode.UNAVAILABLE, 503, "unavailable"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 504, "deadline_exceeded"),
        (grpc.StatusCode.INTERNAL, 500, "internal"),
        (grpc.StatusCode.UNKNOWN, 500, "internal"),
        (grpc.StatusCode.DATA_LOSS, 500, "internal"),
    ],
)
def test_grpc_status_maps_to_http(code: grpc.StatusCode, status: int, name: str) -> None:
    assert http_error(code, "details")[:2] == (status, name)
    assert error_code(code) == name


def test_client_errors_keep_their_message() -> None:
    assert http_error(grpc.StatusCode.NOT_FOUND, "Room not found.")[2] == "Room not found."


@pytest.mark.parametrize("code", [grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN])
def test_server_errors_never_leak_details(code: grpc.StatusCode) -> None:
    secret = 'Traceback ... sqlalchemy.exc.IntegrityError: INSERT INTO "messages"'
    status, _, message = http_error(code, secret)
    assert status == 500 and message == INTERNAL_MESSAGE


def test_typed_errors_carry_their_status() -> None:
    assert InvalidArgument("x").code == grpc.StatusCode.INVALID_ARGUMENT
    assert NotFound("y").code == grpc.StatusCode.NOT_FOUND
    assert NotFound("y").message == "y"
