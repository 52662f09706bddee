"""Room-service logic over a real database (SQLite and PostgreSQL), without gRPC."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.pb import room_pb2 as pb
from services.room.access import RoomAccess
from services.room.accounts.passwords import Passwords
from services.room.accounts.revocations import Revocations
from services.room.accounts.service import AccountPolicy, Accounts
from services.room.events import HumanMessagePosted, PresenceChanged, RoomWorkSettled
from services.room.hub import GatewayStream, RoomHub
from services.room.members import Members
from services.room.orchestrator.autopilot import Autopilot
from services.room.orchestrator.autopilot_settings import AutopilotConfig
from services.room.orchestrator.turns import Orchestrator
from services.room.rooms import Rooms
from services.room.servicer import RoomServicer
from services.room.store.records import AccountRecord
from services.room.store.sql.access import AccessRepository
from services.room.store.sql.accounts import AccountRepository
from services.room.store.sql.repository import RoomRepository
from services.room.timeline import Timeline

# Still argon2id, with the smallest cost: tests hash many passwords on a shared machine.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse battery"


class FakeClock:
    """A settable UTC clock."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def accounts(engine: AsyncEngine, clock: FakeClock) -> Accounts:
    return Accounts(
        AccountRepository(engine),
        Revocations(),
        policy=AccountPolicy(login_max_failures=3, login_failure_window_s=600),
        passwords=Passwords(FAST_HASHER),
        clock=clock,
    )


@dataclass
class World:
    """Rooms and members over one database, with accounts to act as."""

    accounts: Accounts
    hub: RoomHub
    timeline: Timeline
    rooms: Rooms
    members: Members
    posted: list[pb.Message]

    async def user(self, username: str) -> pb.User:
        grant = await self.accounts.register(username, PASSWORD)
        return actor(grant.account)

    async def guest(self, name: str = "Guest") -> pb.User:
        return actor((await self.accounts.create_guest(name)).account)


def actor(account: AccountRecord) -> pb.User:
    """The request actor for an account."""
    return pb.User(id=account.id, name=account.name)


@pytest.fixture
def world(engine: AsyncEngine, accounts: Accounts, clock: FakeClock) -> World:
    hub = RoomHub(typing_ttl_s=5, events=accounts.events)  # one bus, as in server.py
    hub.events.subscribe(HumanMessagePosted, lambda event: posted.append(event.message))
    posted: list[pb.Message] = []
    timeline = Timeline(RoomRepository(engine), hub)
    rooms = Rooms(
        timeline,
        RoomAccess(accounts.repo, AccessRepository(engine)),
        max_message_chars=1000,
    )
    return World(accounts, hub, timeline, rooms, Members(rooms, clock=clock), posted)


async def attach(world: World, room_id: str) -> GatewayStream:
    """A gateway stream on the room, past its `opened` event."""
    stream = GatewayStream(room_id, "gw", 1000)
    await world.timeline.attach(stream, lambda: world.rooms.snapshot(room_id))
    stream.queue.get_nowait()  # opened
    return stream


def drain(stream: GatewayStream) -> list[pb.SessionEvent]:
    """Every event queued on the stream so far."""
    events = []
    while not stream.queue.empty():
        event = stream.queue.get_nowait()
        assert isinstance(event, pb.SessionEvent)
        events.append(event)
    return events


class Seen:
    """Every event one gateway stream of the room got, waited on by condition."""

    timeout_s = 20.0  # per awaited condition; only reached when a test fails

    def __init__(self, stream: GatewayStream) -> None:
        self.stream = stream
        self.events: list[pb.SessionEvent] = []

    async def until(self, check: Callable[[], bool]) -> None:
        async with asyncio.timeout(self.timeout_s):
            while not check():
                event = await self.stream.queue.get()
                assert isinstance(event, pb.SessionEvent)
                self.events.append(event)


def room_servicer(world: World, orchestrator: Any) -> RoomServicer:
    """The RoomSession servicer over the world, with a stand-in orchestrator and autopilot."""
    fake = cast(Orchestrator, orchestrator)
    return RoomServicer(
        world.rooms,
        world.members,
        world.hub,
        fake,
        session_queue_size=1000,
        autopilot=stirred_autopilot(world.timeline, fake),
    )


def stirred_autopilot(timeline: Timeline, orchestrator: Any) -> Autopilot:
    """An autopilot whose loops wake on presence and settled work, as server.py wires it."""
    autopilot = Autopilot(timeline, cast(Orchestrator, orchestrator), AutopilotConfig())
    timeline.events.subscribe(PresenceChanged, autopilot.on_room_stirred)
    timeline.events.subscribe(RoomWorkSettled, autopilot.on_room_stirred)
    return autopilot
