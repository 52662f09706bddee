"""A gateway's one RoomSession stream for a room, shared by all its local sockets.

Each room event arrives once, is encoded to JSON once, and the same text is
queued on every local socket. The stream reconnects by itself (ws/stream.py); on
reconnect it re-announces its members, re-sends unacknowledged sends (idempotent by
client_msg_id, a bounded number of times: ws/pending.py) and backfills any messages it
missed (ws/history.py), so sockets lose nothing; a gap in seqs on the live stream is
backfilled too. A socket is welcomed only once the room service has confirmed its join
(`joined`, ws/joins.py); after a reconnect it is shown nothing from the new stream (backfill
included) until its re-join is confirmed, and a refused one closes it 4403. The backfill is
read as a local user who may still read the room, never taken for the room being gone.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable

from services.common.ids import new_id
from services.common.pb import room_pb2 as pb
from services.common.pb.room_pb2_grpc import RoomServiceStub
from services.gateway.convert import autopilot_status_json, message_json, room_json, user_json
from services.gateway.ws.connection import Connection
from services.gateway.ws.history import RoomHistory, read_as_any
from services.gateway.ws.joins import JoinRefused, PendingJoins
from services.gateway.ws.pending import MAX_PENDING_SENDS, PendingSends
from services.gateway.ws.protocol import (
    CLOSE_NO_ACCESS,
    NO_ACCESS_REASON,
    close_for,
    encode,
    error_frame,
)
from services.gateway.ws.speech import SpeechRelay, SpokenSentence, deliver
from services.gateway.ws.stream import RoomStream

__all__ = ["JoinRefused", "RoomLink"]

logger = logging.getLogger(__name__)

SEND_FAILED_MESSAGE = "The room service could not take this message; send it again."
IN_FLIGHT = (pb.MESSAGE_STATUS_QUEUED, pb.MESSAGE_STATUS_STREAMING)  # replies whose state moves


class RoomLink(RoomStream):
    """One room's stream to the room service and the local sockets it serves."""

    def __init__(
        self,
        room_id: str,
        stub: RoomServiceStub,
        *,
        gateway_id: str,
        call_timeout_s: float,
        on_closed: Callable[[RoomLink], None],
    ) -> None:
        super().__init__(room_id, stub, gateway_id=gateway_id)
        self.call_timeout_s = call_timeout_s
        self.on_closed = on_closed
        self.conns: dict[str, Connection] = {}
        self.participants: dict[str, pb.User] = {}
        self.room: pb.Room | None = None
        self.last_seq = 0
        self.streaming: dict[str, pb.Message] = {}  # AI replies queued or streaming, text so far
        self.autopilot_status = pb.AutopilotStatus(state="off")  # what the autopilot does now
        self.speech = SpeechRelay()  # the replies being spoken, sentences so far (ws/speech.py)
        self.ready = asyncio.Event()
        self.history = RoomHistory(room_id, stub, call_timeout_s=call_timeout_s)
        self._pending = PendingSends()
        self._joins = PendingJoins()  # sockets whose join is unconfirmed

    # --- local sockets -------------------------------------------------------------

    def add(self, conn: Connection) -> tuple[int, list[pb.Message]]:
        """Register a socket. Every message above the returned seq, and every delta, will be
        pushed to it; the returned replies in progress carry their text up to this moment."""
        self.conns[conn.id] = conn
        self._joins.expect(conn.id)
        self._request(pb.SessionRequest(join=pb.MemberJoin(conn_id=conn.id, user=conn.pb_user)))
        return self.last_seq, [_copy(m) for m in self.streaming.values()]

    def speaking(self) -> list[SpokenSentence]:
        """The speech so far of the replies being spoken. Taken right after `add` (no await
        between), every later sentence is pushed to the socket and none of these is."""
        return self.speech.so_far()

    async def joined(self, conn: Connection) -> int:
        """Wait until the room service has checked and committed the socket's join; its role.

        JoinRefused when it said no. A join cut by a reconnect is confirmed on the next stream.
        """
        return await self._joins.role(conn)

    def remove(self, conn: Connection) -> None:
        """Unregister a socket and drop its unanswered sends; the last one closes the stream."""
        if self.conns.pop(conn.id, None) is None:
            return
        self._joins.drop(conn.id)
        self._pending.drop_conn(conn.id)
        self._request(pb.SessionRequest(leave=pb.MemberLeave(conn_id=conn.id)))
        if not self.conns:
            self.on_closed(self)
            self._stop()

    def participants_with(self, user: pb.User) -> list[pb.User]:
        """Who is online, as this gateway knows it, including `user`.

        The room service's presence events, and every local socket at once: a member who joined
        here a moment ago is online before the room service's announcement comes back.
        """
        people = dict(self.participants)
        for conn in self.conns.values():
            people.setdefault(conn.user.id, conn.pb_user)
        people.setdefault(user.id, user)
        return list(people.values())

    def send(
        self, conn: Connection, content: str, client_msg_id: str | None, reply_to: str | None
    ) -> str:
        """Forward a send; it is retried across reconnects until the room service answers."""
        cmid = client_msg_id or f"gw-{new_id()}"
        if len(self._pending) >= MAX_PENDING_SENDS:
            conn.push(
                error_frame(
                    "unavailable",
                    "Too many sends in flight; try again shortly.",
                    client_msg_id=cmid,
                )
            )
            return cmid
        send = pb.SendMessage(
            conn_id=conn.id,
            author=conn.pb_user,
            content=content,
            client_msg_id=cmid,
            reply_to=reply_to or "",
        )
        self._pending.add(send)
        self._request(pb.SessionRequest(send=send))
        return cmid

    def interrupt(self, conn: Connection, message_id: str) -> None:
        """Ask the room service to stop a streaming reply."""
        self._request(
            pb.SessionRequest(interrupt=pb.InterruptReply(conn_id=conn.id, message_id=message_id))
        )

    def autopilot(self, conn: Connection, patch: pb.AutopilotPatch) -> None:
        """Forward a change to the room's autopilot; the room frame that follows confirms it."""
        self._request(
            pb.SessionRequest(autopilot=pb.AutopilotRequest(conn_id=conn.id, patch=patch))
        )

    def typing(self, conn: Connection, active: bool) -> None:
        """Forward a typing start/stop."""
        self._request(pb.SessionRequest(typing=pb.SetTyping(conn_id=conn.id, active=active)))

    def close_user(self, user_id: str, reason: str) -> None:
        """Close one account's sockets in this room (4403): it was removed."""
        for conn in list(self.conns.values()):
            if conn.user.id == user_id:
                conn.close(CLOSE_NO_ACCESS, reason)

    # --- history -------------------------------------------------------------------

    def readers(self) -> list[pb.User]:
        """The accounts the stream's own catch-up reads may be made as: its open sockets' users.

        The room service checks every read against its actor; one may have lost access since
        its socket joined, so a read refused to one is made as the next (ws/history.py).
        """
        users = {c.user.id: c.pb_user for c in self.conns.values() if c.close_code is None}
        return list(users.values())

    async def history_after(self, after: int, upto: int, actor: pb.User) -> list[pb.Message]:
        """Messages with after < seq <= upto, oldest first, read as `actor`."""
        return await self.history.after(after, upto, actor)

    async def replies_up_to(self, seq: int, actor: pb.User) -> list[pb.Message]:
        """The AI replies among the newest page of messages up to `seq`, in their current state."""
        return await self.history.replies_up_to(seq, actor)

    # --- the stream (ws/stream.py reconnects it) -----------------------------------

    def opening_requests(self) -> list[pb.SessionRequest]:
        """Members, then unacknowledged sends: what a new stream must know."""
        joins = [
            pb.SessionRequest(join=pb.MemberJoin(conn_id=c.id, user=c.pb_user))
            for c in self.conns.values()
        ]
        return [*joins, *(pb.SessionRequest(send=send) for send in self._pending.all())]

    def stream_lost(self) -> None:
        """An opened stream ended: sends that went unanswered too often fail, to their socket."""
        for send in self._pending.stream_ended():
            logger.warning(
                "send given up after repeated stream failures", extra={"room_id": self.room_id}
            )
            conn = self.conns.get(send.conn_id)
            if conn is not None:
                frame = error_frame(
                    "unavailable", SEND_FAILED_MESSAGE, client_msg_id=send.client_msg_id
                )
                conn.push(frame)

    def room_gone(self) -> None:
        """The room was deleted (or never was): every socket closes 4403."""
        for conn in list(self.conns.values()):
            conn.close(CLOSE_NO_ACCESS, NO_ACCESS_REASON)

    async def on_event(self, event: pb.SessionEvent) -> None:
        """Apply one room event and push it to the sockets it concerns."""
        kind = event.WhichOneof("kind")
        if kind == "delta":
            self._on_delta(event.delta)
        elif kind == "message":
            await self._on_message(event.message)
        elif kind == "send_result":
            self._on_send_result(event.send_result)
        elif kind == "presence":
            self._on_presence(event.presence)
        elif kind == "typing":
            frame = encode("typing", user=user_json(event.typing.user), active=event.typing.active)
            for conn in list(self.conns.values()):
                if conn.user.id != event.typing.user.id:
                    conn.push(frame)
        elif kind == "room_updated":
            self.room = event.room_updated.room
            for conn in list(self.conns.values()):  # each with its own role
                conn.push(encode("room", room=room_json(self.room, conn.role)))
        elif kind == "autopilot_status":
            if event.autopilot_status != self.autopilot_status:  # a new stream repeats it
                self.autopilot_status = event.autopilot_status
                status = autopilot_status_json(self.autopilot_status)
                self._broadcast(encode("autopilot_status", **status))
        elif kind == "speech":
            spoken = self.speech.add(event.speech)
            if spoken is not None:
                await deliver([spoken], list(self.conns.values()))
        elif kind == "opened":
            await self._on_opened(event.opened)
        elif kind == "joined":
            self._on_joined(event.joined)
        elif kind == "error":
            self._on_error(event.error)
        elif kind == "member_removed":
            self.close_user(event.member_removed.user_id, "Removed from the room.")
        elif kind == "member_updated":
            member = event.member_updated.member
            for conn in list(self.conns.values()):
                if conn.user.id == member.user.id:
                    conn.role = member.role

    def _on_joined(self, joined: pb.MemberJoined) -> None:
        conn = self.conns.get(joined.conn_id)
        if conn is None:
            return
        conn.role = joined.role  # as checked now (also on a re-join after a reconnect)
        self._joins.confirmed(joined.conn_id, joined.role)
        conn.release()

    def _on_error(self, error: pb.RequestError) -> None:
        target = self.conns.get(error.conn_id)
        if target is None:
            return
        # A socket's first answer on a stream is its join's: a first join (awaited by its
        # route) or a re-join after a reconnect (held). Refused, the socket sees nothing more,
        # viewer or not: it may no longer read the room.
        first_join = self._joins.refused(error.conn_id, error.code, error.message)
        if first_join or target.held:
            target.close(*close_for(error.code))
        else:
            target.push(error_frame(error.code, error.message))

    async def _on_opened(self, opened: pb.SessionOpened) -> None:
        # Every socket's join goes out again on this stream; until the room service confirms
        # it, the socket is shown nothing from the stream (its user may have been removed).
        for conn in self.conns.values():
            conn.hold()
        if self.ready.is_set():
            await self._catch_up(opened.room.last_seq)
            self._resync_presence(opened.participants)
            await self._settle_replies({m.id for m in opened.streaming})
            # Sentences spoken while the stream was down, after the text they belong to.
            await deliver(self.speech.reopened(opened.speaking), list(self.conns.values()))
        else:
            self.speech.reopened(opened.speaking)
        for message in opened.streaming:
            self.streaming[message.id] = _copy(message)
        self.room = opened.room
        self.last_seq = max(self.last_seq, opened.room.last_seq)
        if not self.ready.is_set():
            self.participants = {u.id: u for u in opened.participants}
        self._opened()
        self.ready.set()
        logger.info("room stream open", extra={"room_id": self.room_id, "last_seq": self.last_seq})

    async def _settle_replies(self, still_streaming: set[str]) -> None:
        """Replies that ended while the stream was down: push their final state."""
        for message in [m for m in self.streaming.values() if m.id not in still_streaming]:
            finals = await read_as_any(
                self.readers(), functools.partial(self.history.current, message)
            )
            self.streaming.pop(message.id, None)
            for final in finals:
                self._broadcast(encode("message", message=message_json(final)))

    def _on_delta(self, delta: pb.MessageDelta) -> None:
        message = self.streaming.get(delta.message_id)
        if message is not None:
            message.content += delta.text
        self._broadcast(encode("delta", message_id=delta.message_id, text=delta.text))

    async def _catch_up(self, upto: int) -> None:
        """Push messages this gateway missed while its stream was down."""
        missed = await read_as_any(
            self.readers(), functools.partial(self.history.after, self.last_seq, upto)
        )
        for message in missed:
            self._push_message(message)

    def _resync_presence(self, online: list[pb.User]) -> None:
        local = {conn.user.id for conn in self.conns.values()}
        fresh = {u.id: u for u in online}
        for user_id, user in list(self.participants.items()):
            if user_id not in fresh and user_id not in local:
                self._on_presence(pb.PresenceEvent(user=user, online=False))
        for user_id, user in fresh.items():
            if user_id not in self.participants:
                self._on_presence(pb.PresenceEvent(user=user, online=True))

    async def _on_message(self, message: pb.Message) -> None:
        # A message re-sent with a new status has an old seq; only new ones can reveal a gap.
        if self.ready.is_set() and message.seq > self.last_seq + 1:
            await self._catch_up(message.seq - 1)  # never let a gap through
        self._push_message(message)

    def _push_message(self, message: pb.Message) -> None:
        self.last_seq = max(self.last_seq, message.seq)
        if message.status in IN_FLIGHT:
            self.streaming[message.id] = _copy(message)
        else:
            self.streaming.pop(message.id, None)
        self._broadcast(encode("message", message=message_json(message)))

    def _on_send_result(self, result: pb.SendResult) -> None:
        self._pending.answered(result.conn_id, result.client_msg_id)
        conn = self.conns.get(result.conn_id)
        if conn is None:
            return
        if result.error_code:
            conn.push(
                error_frame(
                    result.error_code, result.error_message, client_msg_id=result.client_msg_id
                )
            )
        else:
            conn.push(
                encode(
                    "ack",
                    client_msg_id=result.client_msg_id,
                    message_id=result.message.id,
                    seq=result.message.seq,
                    duplicate=result.duplicate,
                )
            )

    def _on_presence(self, presence: pb.PresenceEvent) -> None:
        if presence.online:
            self.participants[presence.user.id] = presence.user
        else:
            self.participants.pop(presence.user.id, None)
        self._broadcast(encode("presence", user=user_json(presence.user), online=presence.online))

    def _broadcast(self, frame: str) -> None:
        data = frame.encode()  # once for every socket written to at once
        for conn in list(self.conns.values()):
            conn.push(frame, data)


def _copy(message: pb.Message) -> pb.Message:
    copy = pb.Message()
    copy.CopyFrom(message)
    return copy
