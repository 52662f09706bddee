"""WebSocket frames: parsing client frames and encoding server frames.

The protocol, with example frames, is in docs/websocket-protocol.md; the frames' models are in
ws/frames.py.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter, ValidationError

from services.gateway.ws.frames import CLIENT_TYPES, AnyClientFrame, ClientFrame

# Close codes (RFC 6455 §7.4 plus the application range 4000-4999).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008  # the credential was revoked, the session ended or the account disabled
CLOSE_TOO_BIG = 1009
CLOSE_SERVICE_RESTART = 1012
CLOSE_TRY_AGAIN = 1013  # fell behind, or the room service is unreachable: reconnect and resume
CLOSE_INVALID_HELLO = 4400  # a hello frame with a mistyped or out-of-range field: fix the client
CLOSE_UNAUTHENTICATED = 4401
CLOSE_NO_ACCESS = 4403  # no such room, or not allowed in it (the two are not told apart)
CLOSE_HELLO_TIMEOUT = 4408
CLOSE_TOO_MANY = 4429  # kept sending while rate-limited, or too many sockets for the account

NO_ACCESS_REASON = "Room not found or access denied."
UNAVAILABLE_REASON = "room service unavailable; reconnect"

# How a socket ends when the room service refuses it, by the refusal's code (its gRPC status as
# the code string of error frames): no such room and no access are not told apart; anything
# else (unavailable, timed out, internal) is worth a reconnect.
CLOSE_FOR_REFUSAL: dict[str, tuple[int, str]] = {
    "not_found": (CLOSE_NO_ACCESS, NO_ACCESS_REASON),
    "permission_denied": (CLOSE_NO_ACCESS, NO_ACCESS_REASON),
    "invalid_argument": (CLOSE_NO_ACCESS, NO_ACCESS_REASON),
}


def close_for(code: str) -> tuple[int, str]:
    """The close code and reason for a socket the room service refused with `code`."""
    return CLOSE_FOR_REFUSAL.get(code, (CLOSE_TRY_AGAIN, UNAVAILABLE_REASON))


_client_frame: TypeAdapter[AnyClientFrame] = TypeAdapter(ClientFrame)


class FrameError(Exception):
    """A client frame that cannot be used; answered with an `error` frame."""

    def __init__(
        self, code: str, message: str, kind: str | None = None, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.kind = kind  # the frame's type, when it named a known one
        self.field = field  # the first field found wrong


def parse_client_frame(text: str) -> AnyClientFrame:
    """Decode and validate one client frame, or raise FrameError saying what is wrong."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise FrameError("invalid_json", "Frame is not valid JSON.") from None
    if not isinstance(data, dict):
        raise FrameError("invalid_frame", "Frame must be a JSON object.")
    kind = data.get("type")
    if kind not in CLIENT_TYPES:
        raise FrameError(
            "unknown_type", f"Unknown frame type; expected one of {', '.join(CLIENT_TYPES)}."
        )
    try:
        return _client_frame.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or kind
        field = str(first["loc"][1]) if len(first["loc"]) > 1 else None
        raise FrameError(
            "invalid_frame", f"Invalid {kind} frame: {where}: {first['msg']}.", kind, field
        ) from None


def can_resume(last_seq: int | None, room_last_seq: int, window: int) -> bool:
    """Whether a client that has seen `last_seq` gets a replay (never a partial one)."""
    if last_seq is None:
        return False
    return 0 <= room_last_seq - last_seq <= window


def encode(kind: str, **fields: Any) -> str:
    """One server frame as JSON text (encoded once, written to many sockets)."""
    return json.dumps({"type": kind, **fields}, separators=(",", ":"), ensure_ascii=False)


def error_frame(code: str, message: str, **extra: Any) -> str:
    """An `error` frame."""
    return encode("error", code=code, message=message, **extra)
