"""Fan-out inside the room service: gateway streams per room, presence and typing.

Each gateway holds one RoomSession stream per room; an event is queued once per
stream, never once per member. Presence, typing and each connection's role live only
here, in memory; the role is checked against the database when a connection joins and
kept current by the operations that change roles, so a frame needs no query.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from services.common.pb import room_pb2 as pb
from services.room.events import PresenceChanged, RoomEvents

logger = logging.getLogger(__name__)


class StreamClosed(Exception):
    """Sentinel payload: end the stream with this status."""

    def __init__(self, code: str, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


@dataclass(eq=False)
class Conn:
    """A joined connection: who it is and what it may do in the room."""

    user: pb.User
    role: str  # "owner" | "member" | "viewer"
    guest: bool = False


@dataclass(eq=False)
class GatewayStream:
    """One RoomSession stream: its outbound queue and the members it carries."""

    room_id: str
    gateway_id: str
    max_queue: int
    queue: asyncio.Queue[pb.SessionEvent | StreamClosed] = field(init=False)
    members: dict[str, Conn] = field(default_factory=dict)
    busy: asyncio.Lock = field(default_factory=asyncio.Lock)
    closed: bool = False
    detached: bool = False  # taken out of the room: it carries nobody any more

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue()

    def send(self, event: pb.SessionEvent) -> None:
        """Queue an event; a stream too far behind is cut so its gateway resyncs."""
        if self.closed:
            return
        if self.queue.qsize() >= self.max_queue:
            logger.warning("gateway stream lagging; closing it", extra={"room_id": self.room_id})
            self.close("resource_exhausted", "stream fell too far behind; reconnect")
            return
        self.queue.put_nowait(event)

    def close(self, code: str, details: str) -> None:
        """End the stream after what is already queued."""
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(StreamClosed(code, details))


@dataclass(eq=False)
class _RoomState:
    streams: set[GatewayStream] = field(default_factory=set)
    # user id -> (user, open connections across every gateway)
    online: dict[str, tuple[pb.User, int]] = field(default_factory=dict)
    typing: dict[str, asyncio.TimerHandle] = field(default_factory=dict)


class RoomHub:
    """Every room's live streams, online members and typing timers."""

    def __init__(self, typing_ttl_s: float, events: RoomEvents | None = None) -> None:
        self._rooms: dict[str, _RoomState] = {}
        self._typing_ttl_s = typing_ttl_s
        self.events = events or RoomEvents()

    def _state(self, room_id: str) -> _RoomState:
        state = self._rooms.get(room_id)
        if state is None:
            state = self._rooms[room_id] = _RoomState()
        return state

    def _discard_if_idle(self, room_id: str) -> None:
        state = self._rooms.get(room_id)
        if state and not state.streams and not state.online:
            del self._rooms[room_id]

    def broadcast(self, room_id: str, event: pb.SessionEvent) -> None:
        """Queue `event` once on every stream of the room."""
        state = self._rooms.get(room_id)
        if state:
            for stream in state.streams:
                stream.send(event)

    def open(
        self,
        stream: GatewayStream,
        room: pb.Room,
        streaming: Callable[[], list[pb.Message]] = list,
        speaking: Callable[[], list[pb.SpeechEvent]] = list,
    ) -> None:
        """Add a stream; its first event is the room, who is online, replies in progress and
        the speech so far of replies still being spoken.

        Called by `Timeline.attach` with the room held, so nothing is broadcast between the
        read of `room` and the stream joining the fan-out.
        """
        state = self._state(stream.room_id)
        participants = [user for user, _ in state.online.values()]
        opened = pb.SessionOpened(
            room=room, participants=participants, streaming=streaming(), speaking=speaking()
        )
        stream.send(pb.SessionEvent(opened=opened))
        state.streams.add(stream)

    def detach(self, stream: GatewayStream) -> bool:
        """Remove a stream and every member it carried; False if it was already detached.

        A detached stream is closed: a join still in flight on it adds nobody.
        """
        if stream.detached:
            return False
        stream.detached = stream.closed = True
        for conn_id in list(stream.members):
            self.leave(stream, conn_id)
        state = self._rooms.get(stream.room_id)
        if state:
            state.streams.discard(stream)
        self._discard_if_idle(stream.room_id)
        return True

    def join(self, stream: GatewayStream, conn_id: str, conn: Conn) -> None:
        """A member connected; the first connection of a user makes them online.

        Not on a stream that has ended: its members would be online with nobody to take them off.
        """
        if stream.detached or conn_id in stream.members:
            return
        stream.members[conn_id] = conn
        user = conn.user
        state = self._state(stream.room_id)
        known, count = state.online.get(user.id, (user, 0))
        state.online[user.id] = (known, count + 1)
        if count == 0:
            self.broadcast(
                stream.room_id, pb.SessionEvent(presence=pb.PresenceEvent(user=user, online=True))
            )
            self._changed(stream.room_id)

    def leave(self, stream: GatewayStream, conn_id: str) -> None:
        """A member disconnected; the last connection of a user makes them offline."""
        conn = stream.members.pop(conn_id, None)
        state = self._rooms.get(stream.room_id)
        if conn is None or state is None or conn.user.id not in state.online:
            return
        user = conn.user
        known, count = state.online[user.id]
        if count > 1:
            state.online[user.id] = (known, count - 1)
            return
        del state.online[user.id]
        self.set_typing(stream.room_id, user, False)
        self.broadcast(
            stream.room_id, pb.SessionEvent(presence=pb.PresenceEvent(user=user, online=False))
        )
        self._discard_if_idle(stream.room_id)
        self._changed(stream.room_id)

    def set_typing(self, room_id: str, user: pb.User, active: bool) -> None:
        """Start or stop a typing indicator; an active one expires by itself."""
        state = self._rooms.get(room_id)
        if state is None:
            return
        timer = state.typing.pop(user.id, None)
        if timer is not None:
            timer.cancel()
        if active:
            loop = asyncio.get_running_loop()
            state.typing[user.id] = loop.call_later(
                self._typing_ttl_s, self.set_typing, room_id, user, False
            )
        if active or timer is not None:
            # Announce a start always (it refreshes clients' own timers); a stop only if one was running.
            self.broadcast(
                room_id, pb.SessionEvent(typing=pb.TypingEvent(user=user, active=active))
            )
            self._changed(room_id)

    def online_count(self, room_id: str) -> int:
        """How many people are online in the room, on any gateway."""
        state = self._rooms.get(room_id)
        return len(state.online) if state else 0

    def anyone_typing(self, room_id: str) -> bool:
        """Whether someone in the room is typing now."""
        state = self._rooms.get(room_id)
        return bool(state and state.typing)

    def _changed(self, room_id: str) -> None:
        self.events.emit(PresenceChanged(room_id))

    def set_role(self, room_id: str, user_id: str, role: str) -> None:
        """A member's role changed: their connections may do what the new role allows at once."""
        for conn in self._conns(room_id, user_id):
            conn.role = role

    def remove_user(self, room_id: str, user_id: str) -> None:
        """Forget every connection of a user in a room (removed, or no longer allowed in)."""
        state = self._rooms.get(room_id)
        for stream in list(state.streams) if state else ():
            for conn_id in [c for c, conn in stream.members.items() if conn.user.id == user_id]:
                self.leave(stream, conn_id)

    def guests(self, room_id: str) -> set[str]:
        """Ids of the guests connected to a room."""
        state = self._rooms.get(room_id)
        streams = state.streams if state else ()
        return {c.user.id for s in streams for c in s.members.values() if c.guest}

    def remove_everywhere(self, user_id: str) -> None:
        """Forget a user's connections in every room (the account was disabled)."""
        for room_id in list(self._rooms):
            self.remove_user(room_id, user_id)

    def _conns(self, room_id: str, user_id: str) -> list[Conn]:
        state = self._rooms.get(room_id)
        streams = state.streams if state else ()
        return [c for s in streams for c in s.members.values() if c.user.id == user_id]

    def streams(self) -> list[GatewayStream]:
        """Every open stream, for shutdown."""
        return [s for state in self._rooms.values() for s in state.streams]
