"""The autopilot loop with a real store and hub and a stand-in orchestrator: one loop per room."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.errors import InvalidArgument
from services.common.pb import room_pb2 as pb
from services.room.convert import message_pb
from services.room.events import PresenceChanged
from services.room.hub import Conn, GatewayStream, RoomHub
from services.room.orchestrator.autopilot import Autopilot
from services.room.orchestrator.autopilot_settings import AutopilotConfig, validate_patch
from services.room.store.records import AuthorRecord, PersonaRecord, RoomRecord
from services.room.store.sql.repository import RoomRepository
from services.room.timeline import Timeline

pytestmark = pytest.mark.unit

ANA = pb.User(id="u1", name="Ana")
NO_PAUSE = AutopilotConfig(delay_base_s=0, delay_per_char_s=0, delay_max_s=0, seed=1)


def persona(handle: str) -> PersonaRecord:
    return PersonaRecord(
        handle=handle, name=handle.capitalize(), model="m", system_prompt="", temperature=0.7,
        max_tokens=16,
    )  # fmt: skip


class FakeOrchestrator:
    """Takes a turn by storing a finished AI message once `release` is set; counts overlaps."""

    def __init__(self, repo: RoomRepository) -> None:
        self.repo = repo
        self.on_settled = None
        self.running = 0
        self.most = 0
        self.turns: list[str] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.changed = asyncio.Event()

    def busy(self, room_id: str) -> bool:
        return self.running > 0

    async def take_turn(
        self, room_id: str, handle: str, trigger_id: str | None, *, if_last_seq: int
    ) -> pb.Message | None:
        self.running += 1
        self.most = max(self.most, self.running)
        self.started.set()
        self.changed.set()
        try:
            await self.release.wait()
            author = AuthorRecord(f"persona:{handle}", handle, "ai", handle)
            record = await self.repo.start_ai_message(room_id, author, reply_to=trigger_id)
            record = await self.repo.finish_message(
                record.id,
                content="Indeed.",
                status="complete",
                prompt_tokens=3,
                completion_tokens=2,
            )
            self.turns.append(handle)
            return message_pb(record)
        finally:
            self.running -= 1
            self.changed.set()

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait until `condition()` holds, checking after each change."""
        async with asyncio.timeout(10):
            while not condition():
                self.changed.clear()
                await self.changed.wait()


@pytest.fixture
async def room(engine: AsyncEngine) -> AsyncIterator[tuple[RoomRepository, RoomHub, RoomRecord]]:
    """A room with two personas, a message to answer, and Ana online."""
    repo = RoomRepository(engine)
    hub = RoomHub(typing_ttl_s=5)
    record = await repo.create_room("Lab", ANA.id, [persona("alpha"), persona("beta")])
    await repo.post_message(
        record.id,
        AuthorRecord(ANA.id, ANA.name, "human"),
        "Debate tabs versus spaces.",
        client_msg_id=None,
        reply_to=None,
    )
    hub.join(GatewayStream(record.id, "gw", 100), "c1", Conn(user=ANA, role="owner"))
    yield repo, hub, record


def loops(room_id: str) -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == f"autopilot-{room_id}"]


def autopilot(repo: RoomRepository, hub: RoomHub, fake: FakeOrchestrator) -> Autopilot:
    pilot = Autopilot(Timeline(repo, hub), fake, NO_PAUSE)  # type: ignore[arg-type]
    hub.events.subscribe(PresenceChanged, pilot.on_room_stirred)  # as server.py wires it
    return pilot


async def ended(room_id: str) -> None:
    """Wait for the room's loop to end."""
    await asyncio.wait_for(asyncio.gather(*loops(room_id)), 10)


async def test_two_enables_start_one_loop_and_turns_never_overlap(
    room: tuple[RoomRepository, RoomHub, RoomRecord],
) -> None:
    repo, hub, record = room
    fake = FakeOrchestrator(repo)
    pilot = autopilot(repo, hub, fake)
    on = pb.AutopilotPatch(enabled=True, max_turns=4)
    await asyncio.gather(pilot.update(record.id, ANA, on), pilot.update(record.id, ANA, on))
    await asyncio.wait_for(fake.started.wait(), 10)
    assert len(loops(record.id)) == 1
    await pilot.update(record.id, ANA, pb.AutopilotPatch(enabled=True, strategy="round_robin"))
    assert len(loops(record.id)) == 1

    fake.release.set()
    await ended(record.id)
    assert fake.most == 1
    assert len(fake.turns) == 4
    stored = (await repo.get_room(record.id)).autopilot
    assert (stored.enabled, stored.stopped_reason, stored.turns) == (False, "max_turns", 4)
    assert stored.tokens_used == 4 * 5
    await pilot.close()


async def test_a_restart_resumes_the_one_loop_where_it_was(
    room: tuple[RoomRepository, RoomHub, RoomRecord],
) -> None:
    repo, hub, record = room
    first = FakeOrchestrator(repo)
    pilot = autopilot(repo, hub, first)
    await pilot.update(record.id, ANA, pb.AutopilotPatch(enabled=True, max_turns=3))
    first.release.set()
    await first.until(lambda: len(first.turns) == 1)
    first.release.clear()
    await first.until(lambda: first.running == 1)  # the second turn is under way
    await pilot.close()  # the room service stops
    assert not loops(record.id)
    assert (await repo.get_room(record.id)).autopilot.enabled

    second = FakeOrchestrator(repo)
    restarted = autopilot(repo, hub, second)
    assert await restarted.resume() == 1
    assert await restarted.resume() == 1
    await asyncio.wait_for(second.started.wait(), 10)
    assert len(loops(record.id)) == 1
    second.release.set()
    await ended(record.id)
    assert len(first.turns) + len(second.turns) == 3  # the count went on across the restart
    assert (await repo.get_room(record.id)).autopilot.stopped_reason == "max_turns"
    await restarted.close()


@pytest.mark.parametrize(
    ("patch", "mentions"),
    [
        (pb.AutopilotPatch(strategy="chaotic"), "strategy"),
        (pb.AutopilotPatch(max_turns=0), "max_turns"),
        (pb.AutopilotPatch(token_budget=-1), "token_budget"),
        (pb.AutopilotPatch(idle_timeout_s=0), "idle_timeout_s"),
        (pb.AutopilotPatch(summary_model="m" * 129), "summary_model"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(patch: pb.AutopilotPatch, mentions: str) -> None:
    with pytest.raises(InvalidArgument, match=mentions):
        validate_patch(patch)


def test_a_patch_sets_only_what_it_names() -> None:
    assert validate_patch(pb.AutopilotPatch()) == {}
    assert validate_patch(pb.AutopilotPatch(enabled=False, summary_model=" ")) == {
        "enabled": False,
        "summary_model": None,
    }
