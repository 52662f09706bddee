"""Room events: subscribers by event type, in registration order, each one isolated."""

from __future__ import annotations

import logging

import pytest

from services.room.events import PresenceChanged, RoomChanged, RoomEvents

pytestmark = pytest.mark.unit


def test_each_event_reaches_its_types_subscribers_in_the_order_they_subscribed() -> None:
    events = RoomEvents()
    seen: list[str] = []
    events.subscribe(RoomChanged, lambda e: seen.append(f"first {e.room_id}"))
    events.subscribe(PresenceChanged, lambda e: seen.append(f"presence {e.room_id}"))
    events.subscribe(RoomChanged, lambda e: seen.append(f"second {e.room_id}"))

    events.emit(RoomChanged("r1"))

    assert seen == ["first r1", "second r1"]


def test_a_failing_subscriber_is_logged_and_the_others_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = RoomEvents()
    seen: list[str] = []

    def broken(event: RoomChanged) -> None:
        raise RuntimeError("boom")

    events.subscribe(RoomChanged, broken)
    events.subscribe(RoomChanged, lambda e: seen.append(e.room_id))

    with caplog.at_level(logging.ERROR):
        events.emit(RoomChanged("r1"))

    assert seen == ["r1"]
    assert "room event subscriber failed" in caplog.text


def test_an_event_nobody_subscribed_to_is_dropped_quietly() -> None:
    RoomEvents().emit(PresenceChanged("r1"))
