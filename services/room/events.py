"""What happens in a room, as typed events, and the subscribers that react to it.

The part of the room service where something happens emits an event (a person posted, a room's
AI work settled, presence changed, a room changed, an account was disabled) and does not know
who listens. Who reacts is registered in one place, where the service is wired
(`server.subscribe`), so reading that function tells every reaction there is.

Subscribers run at once, in the order they were registered, inside `emit`; they must not block
(a reaction that needs I/O starts a task of its own). One that raises is logged and the others
still run: a broken reaction never fails the write that caused it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from services.common.pb import room_pb2 as pb

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HumanMessagePosted:
    """A person's message was committed and published (not a duplicate)."""

    message: pb.Message


@dataclass(frozen=True)
class RoomWorkSettled:
    """Every AI reply and summary queued or running in the room has ended."""

    room_id: str


@dataclass(frozen=True)
class PresenceChanged:
    """Someone in the room came, went, started or stopped typing."""

    room_id: str


@dataclass(frozen=True)
class RoomChanged:
    """The room's settings (name, personas, access) changed."""

    room_id: str


@dataclass(frozen=True)
class AccountDisabled:
    """An account was disabled: its connections must go from every room."""

    account_id: str


RoomEvent = HumanMessagePosted | RoomWorkSettled | PresenceChanged | RoomChanged | AccountDisabled
E = TypeVar("E", bound=RoomEvent)


class RoomEvents:
    """The room service's in-process events: subscribe by event type, emit to its subscribers."""

    def __init__(self) -> None:
        self._subscribers: defaultdict[type[Any], list[Callable[[Any], None]]] = defaultdict(list)

    def subscribe(self, kind: type[E], handler: Callable[[E], None]) -> None:
        """Call `handler` with every event of type `kind`, after those registered before it."""
        self._subscribers[kind].append(handler)

    def emit(self, event: RoomEvent) -> None:
        """Tell the event's subscribers, in order; one that raises does not stop the rest."""
        for handler in self._subscribers.get(type(event), ()):
            try:
                handler(event)
            except Exception:
                logger.exception(
                    "room event subscriber failed", extra={"event": type(event).__name__}
                )
