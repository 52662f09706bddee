"""WebSocket /ws/room/{room_id}: hello, welcome and replay, then live frames both ways."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import grpc
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from services.common.errors import ChimeraError, error_code
from services.common.pb import room_pb2 as pb
from services.gateway.auth import SESSION_COOKIE, Identity, Via
from services.gateway.convert import autopilot_status_json, message_json, room_json, user_json
from services.gateway.deps import Gateway, actor, authenticate, get_gateway
from services.gateway.limits import FrameLimiter
from services.gateway.ws.connection import Connection
from services.gateway.ws.frames import (
    AudioFrame,
    AutopilotFrame,
    HelloFrame,
    InterruptFrame,
    PingFrame,
    SendFrame,
    TypingFrame,
)
from services.gateway.ws.link import JoinRefused, RoomLink
from services.gateway.ws.origin import origin_allowed
from services.gateway.ws.protocol import (
    CLOSE_HELLO_TIMEOUT,
    CLOSE_INVALID_HELLO,
    CLOSE_NO_ACCESS,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    CLOSE_TOO_MANY,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHENTICATED,
    UNAVAILABLE_REASON,
    FrameError,
    can_resume,
    close_for,
    encode,
    error_frame,
    parse_client_frame,
)
from services.gateway.ws.speech import frames_for, unheard

logger = logging.getLogger(__name__)

router = APIRouter()

VIEWER_MESSAGE = "Viewers cannot send messages."
VIEWER_STOP_MESSAGE = "Viewers cannot stop replies."
VIEWER_AUTOPILOT_MESSAGE = "Viewers cannot change the autopilot."


VIA_BEARER: Via = "bearer"


class _Closed(Exception):
    """Close the socket with this code before it joins the room."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def _receive_text(websocket: WebSocket, max_bytes: int) -> str | None:
    """The next text frame; None for a binary frame; WebSocketDisconnect when gone."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text: str | None = message.get("text")
    if text is None:
        return None
    if len(text) > max_bytes // 4 and len(text.encode()) > max_bytes:
        raise _Closed(CLOSE_TOO_BIG, "frame too large")
    return text


async def _hello(websocket: WebSocket, gateway: Gateway) -> tuple[HelloFrame, Identity, str]:
    """The hello frame, the account its token (or the session cookie) stands for, and the token."""
    settings = gateway.settings
    try:
        async with asyncio.timeout(settings.hello_timeout_s):
            text = await _receive_text(websocket, settings.max_frame_bytes)
    except TimeoutError:
        raise _Closed(CLOSE_HELLO_TIMEOUT, "no hello in time") from None
    try:
        frame = parse_client_frame(text) if text is not None else None
    except FrameError as exc:
        if exc.kind != "hello" or exc.field in (None, "token"):
            raise _Closed(CLOSE_UNAUTHENTICATED, "first frame must be hello") from None
        # A hello with a bad field other than its token (last_seq -1, "abc", 1.5): a client bug,
        # not a credential problem, so it is told what is wrong rather than to sign in again.
        with contextlib.suppress(Exception):
            await websocket.send_text(error_frame(exc.code, exc.message))
        raise _Closed(CLOSE_INVALID_HELLO, "invalid hello frame") from None
    if not isinstance(frame, HelloFrame):
        raise _Closed(CLOSE_UNAUTHENTICATED, "first frame must be hello")
    token, via = frame.token, VIA_BEARER
    if not token:  # the web app: the browser sent the session cookie with the upgrade
        token, via = websocket.cookies.get(SESSION_COOKIE, ""), "cookie"
    try:
        return frame, await authenticate(gateway, token, via), token
    except ChimeraError as exc:
        raise _Closed(CLOSE_UNAUTHENTICATED, exc.message) from None
    except grpc.aio.AioRpcError:
        raise _Closed(CLOSE_TRY_AGAIN, UNAVAILABLE_REASON) from None


async def _role(gateway: Gateway, room_id: str, user: Identity) -> int:
    """The caller's role in the room as it is now; 4403 when it is missing or not theirs to see."""
    try:
        room: pb.Room = await gateway.rooms.GetRoom(
            pb.GetRoomRequest(room_id=room_id, actor=actor(user)), timeout=gateway.timeout
        )
    except grpc.aio.AioRpcError as exc:
        raise _Closed(*close_for(error_code(exc.code()))) from None
    # Unspecified for an open room's reader who is not yet a member: the join that makes them one
    # confirms the role (link.joined), and welcome waits for it.
    return room.role


async def _join(gateway: Gateway, link: RoomLink, conn: Connection, hello: HelloFrame) -> None:
    """Register the socket and wait until the room service has confirmed its join (with its
    role), then send welcome and (on resume) every message it missed."""
    try:
        async with asyncio.timeout(gateway.settings.room_timeout_s):
            await link.ready.wait()
            # From here on, every message above `upto` is pushed to conn (queued until welcome).
            upto, in_progress = link.add(conn)
            spoken = link.speaking()
            conn.role = await link.joined(conn)
    except TimeoutError:
        raise _Closed(CLOSE_TRY_AGAIN, UNAVAILABLE_REASON) from None
    except JoinRefused as refused:
        raise _Closed(*close_for(refused.code)) from None
    replay: list[pb.Message] = []
    resumed = can_resume(hello.last_seq, upto, gateway.settings.resume_window)
    seen = hello.last_seq or 0
    try:
        if resumed and seen:
            # AI replies the client already knew may have ended (or moved on) while it was
            # away; their current state comes first so none is left "thinking".
            streaming = {m.id for m in in_progress}
            replies = await link.replies_up_to(seen, conn.pb_user)
            replay = [m for m in replies if m.id not in streaming]
        if resumed and seen != upto:
            replay += await link.history_after(seen, upto, conn.pb_user)
    except grpc.aio.AioRpcError as exc:  # removed meanwhile: 4403, as a refused join is
        raise _Closed(*close_for(error_code(exc.code()))) from None
    room = link.room or pb.Room()
    welcome = encode(
        "welcome",
        room=room_json(room, conn.role),
        user={"id": conn.user.id, "name": conn.user.name},
        participants=[user_json(u) for u in link.participants_with(conn.pb_user)],
        last_seq=upto,
        resumed=resumed,
        autopilot_status=autopilot_status_json(link.autopilot_status),
    )
    # Replies still streaming follow the replay with their text so far, then the speech so far
    # of those being spoken; their deltas and sentences come next.
    frames = [
        welcome,
        *(encode("message", message=message_json(m)) for m in [*replay, *in_progress]),
        *await frames_for(unheard(spoken, hello.last_speech), conn.audio),
    ]
    conn.start(frames)


def _handle(link: RoomLink, conn: Connection, text: str | None) -> None:
    if conn.limiter is not None and not conn.limiter.allow():
        if conn.limiter.exhausted:
            conn.close(CLOSE_TOO_MANY, "Too many messages.")
        else:
            conn.push(error_frame("rate_limited", "Too many messages; slow down."))
        return
    if text is None:
        conn.push(error_frame("unsupported", "Binary frames are not supported; send JSON text."))
        return
    try:
        frame = parse_client_frame(text)
    except FrameError as exc:
        conn.push(error_frame(exc.code, exc.message))
        return
    if isinstance(frame, PingFrame):
        conn.push(encode("pong"))
    elif isinstance(frame, HelloFrame):
        conn.push(error_frame("invalid_frame", "Already said hello."))
    elif isinstance(frame, AudioFrame):  # viewers may listen too
        conn.audio = None if frame.format == "off" else frame.format
    elif conn.viewer:
        # The room service refuses these too; answering here keeps a reader's socket open.
        if isinstance(frame, SendFrame):
            extra = {"client_msg_id": frame.client_msg_id} if frame.client_msg_id else {}
            conn.push(error_frame("permission_denied", VIEWER_MESSAGE, **extra))
        elif isinstance(frame, InterruptFrame):
            conn.push(error_frame("permission_denied", VIEWER_STOP_MESSAGE))
        elif isinstance(frame, AutopilotFrame):
            conn.push(error_frame("permission_denied", VIEWER_AUTOPILOT_MESSAGE))
    elif isinstance(frame, SendFrame):
        link.send(conn, frame.content, frame.client_msg_id, frame.reply_to)
    elif isinstance(frame, TypingFrame):
        link.typing(conn, frame.active)
    elif isinstance(frame, InterruptFrame):
        link.interrupt(conn, frame.message_id)
    elif isinstance(frame, AutopilotFrame):
        link.autopilot(conn, pb.AutopilotPatch(**frame.patch()))


async def _read_frames(
    websocket: WebSocket, link: RoomLink, conn: Connection, max_bytes: int
) -> None:
    """Handle the client's frames until it leaves or the server closes the socket.

    The wait also ends when the server closes the socket (a slow reader that never answers the
    close handshake), so the member leaves the room at once instead of when TCP gives up.
    """
    closed = asyncio.ensure_future(conn.closed.wait())
    try:
        while conn.close_code is None:
            receive = asyncio.ensure_future(_receive_text(websocket, max_bytes))
            await asyncio.wait({receive, closed}, return_when=asyncio.FIRST_COMPLETED)
            if not receive.done():
                receive.cancel()
                await asyncio.gather(receive, return_exceptions=True)
                return
            _handle(link, conn, receive.result())
    finally:
        closed.cancel()


@router.websocket("/ws/room/{room_id}")
async def room_socket(websocket: WebSocket, room_id: str) -> None:
    """A member's live connection to one room (docs/websocket-protocol.md)."""
    gateway = get_gateway(websocket)
    settings = gateway.settings
    if not origin_allowed(websocket.headers, settings.origins()):
        await websocket.close(CLOSE_NO_ACCESS, "Origin not allowed.")  # before accept: HTTP 403
        return
    await websocket.accept()
    conn: Connection | None = None
    link: RoomLink | None = None
    registered = False
    try:
        hello, user, token = await _hello(websocket, gateway)
        limiter = FrameLimiter(settings.ws_rate, settings.ws_burst, settings.ws_max_strikes)
        conn = Connection(
            websocket,
            user,
            room_id,
            settings.socket_queue_size,
            token=token,
            limiter=limiter,
            audio=hello.audio,
        )
        if gateway.sockets.revoked(user.credential_id):
            raise _Closed(CLOSE_POLICY, "Signed out or credential revoked.")
        if not gateway.sockets.add(conn):
            raise _Closed(CLOSE_TOO_MANY, "Too many connections.")
        registered = True
        conn.role = await _role(gateway, room_id, user)
        if conn.close_code is None:  # else revoked meanwhile
            link = gateway.hub.link(room_id)
            await _join(gateway, link, conn, hello)
            await _read_frames(websocket, link, conn, settings.max_frame_bytes)
    except _Closed as closed:
        if conn is not None and conn.close_code is None:
            conn.close(closed.code, closed.reason)
        elif conn is None:
            with contextlib.suppress(Exception):
                await websocket.close(closed.code, closed.reason)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the peer went away (RuntimeError: Starlette's "not connected")
    finally:
        if registered and conn is not None:
            gateway.sockets.remove(conn)
        if link is not None and conn is not None:
            link.remove(conn)
        if conn is not None:
            if conn.close_code is not None:
                await conn.closed.wait()
            await conn.stop()
        if websocket.application_state == WebSocketState.CONNECTED and (
            conn is None or conn.close_code is None
        ):
            with contextlib.suppress(Exception):
                await websocket.close()
