"""Daily AI token quotas: the counters, and replies refused before they are generated."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.pb import room_pb2 as pb
from services.llm_node.backends.fake import Step
from services.room.orchestrator.turns import Orchestrator, TurnLimits
from services.room.quota import QuotaExceeded, Quotas
from services.room.store.sql.usage import UsageRepository
from services.room.tests.conftest import FakeClock, World, attach, drain
from tests.support.llm_node import LlmNode, fake_model, llm_node

pytestmark = pytest.mark.unit

ROOM_REFUSAL = (
    "Daily AI token quota for this room is used up (1,000 tokens); it resets at 00:00 UTC."
)
USER_REFUSAL = "Your daily AI token quota is used up (500 tokens); it resets at 00:00 UTC."


@pytest.fixture
def quotas(engine: AsyncEngine, clock: FakeClock) -> Quotas:
    return Quotas(
        UsageRepository(engine), user_daily_tokens=500, room_daily_tokens=1000, clock=clock
    )


async def test_reserve_then_settle_records_both_counters(quotas: Quotas) -> None:
    reservation = await quotas.reserve("alice", "room", 400)
    await quotas.settle(reservation, 120)

    assert await quotas.used("user", "alice") == 120
    assert await quotas.used("room", "room") == 120
    assert quotas._reserved == {}


async def test_refusals_name_the_quota(quotas: Quotas) -> None:
    with pytest.raises(QuotaExceeded) as raised:
        await quotas.reserve("alice", "room", 501)
    assert raised.value.message == USER_REFUSAL

    for user in ("bob", "carol"):
        await quotas.settle(await quotas.reserve(user, "room", 450), 450)
    with pytest.raises(QuotaExceeded) as raised:
        await quotas.reserve("dave", "room", 101)
    assert raised.value.message == ROOM_REFUSAL
    assert await quotas.reserve("dave", "room", 100)


async def test_reservations_in_flight_count(quotas: Quotas) -> None:
    first = await quotas.reserve("alice", "room", 300)
    with pytest.raises(QuotaExceeded):
        await quotas.reserve("alice", "room", 300)  # 300 are still set aside
    await quotas.settle(first, 50)
    assert await quotas.reserve("alice", "room", 300)


async def test_quotas_reset_on_the_next_utc_day(quotas: Quotas, clock: FakeClock) -> None:
    clock.now = clock.now.replace(hour=23, minute=59)
    await quotas.settle(await quotas.reserve("alice", "room", 500), 500)
    with pytest.raises(QuotaExceeded):
        await quotas.reserve("alice", "room", 1)

    clock.advance(minutes=1)

    assert quotas.day() == "2026-11-22"
    assert await quotas.used("user", "alice") == 0
    assert await quotas.reserve("alice", "room", 500)


async def test_zero_means_unlimited(engine: AsyncEngine, clock: FakeClock) -> None:
    quotas = Quotas(UsageRepository(engine), user_daily_tokens=0, room_daily_tokens=0, clock=clock)
    reservation = await quotas.reserve("alice", "room", 10**9)
    await quotas.settle(reservation, 10**9)
    assert await quotas.used("room", "room") == 10**9  # still counted


# --- replies ----------------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def node() -> AsyncIterator[LlmNode]:
    """An LLM node whose model "m" answers "Hello there", reporting 150 + 50 tokens used."""
    answer = Step(text="Hello there", prompt_tokens=150, completion_tokens=50)
    async with llm_node(fake_model("m", answer, context_window=4096)) as node:
        yield node


def metered(
    world: World, engine: AsyncEngine, clock: FakeClock, node: LlmNode, user_daily_tokens: int
) -> tuple[Quotas, Orchestrator]:
    """An orchestrator on `node` whose replies count against a room quota of 1,000 tokens."""
    quotas = Quotas(
        UsageRepository(engine),
        user_daily_tokens=user_daily_tokens,
        room_daily_tokens=1000,
        clock=clock,
    )
    orchestrator = Orchestrator(world.timeline, node.stub, TurnLimits(), quotas)
    world.rooms.replies = orchestrator  # mentions in posts are answered
    return quotas, orchestrator


async def reply_to(
    world: World, orchestrator: Orchestrator, room_id: str, user: pb.User
) -> pb.Message:
    """Ask @bot in the room and wait for its reply to end."""
    stream = await attach(world, room_id)
    await world.rooms.post(room_id, user, "@bot hello?", "", "")
    async with asyncio.timeout(10):
        while True:
            for event in drain(stream):
                if (
                    event.HasField("message")
                    and event.message.author.handle == "bot"
                    and event.message.status
                    not in (pb.MESSAGE_STATUS_QUEUED, pb.MESSAGE_STATUS_STREAMING)
                ):
                    world.hub.detach(stream)
                    return event.message
            await asyncio.sleep(0.01)


async def test_replies_are_refused_once_the_quota_would_pass(
    world: World, engine: AsyncEngine, clock: FakeClock, node: LlmNode
) -> None:
    quotas, orchestrator = metered(world, engine, clock, node, user_daily_tokens=0)
    alice = await world.user("alice")
    bot = pb.Persona(handle="bot", model="m", max_tokens=800)
    room = await world.rooms.create(alice, "Room", [bot])

    first = await reply_to(world, orchestrator, room.id, alice)
    assert (first.status, first.content) == (pb.MESSAGE_STATUS_COMPLETE, "Hello there")
    assert await quotas.used("room", room.id) == 200  # the final usage: 150 + 50
    assert await quotas.used("user", alice.id) == 200

    # 200 used; the next reply may need its prompt + max_tokens (800): over 1000.
    refused = await reply_to(world, orchestrator, room.id, alice)

    assert (refused.status, refused.error, refused.content) == (
        pb.MESSAGE_STATUS_ERROR,
        ROOM_REFUSAL,
        "",
    )
    assert len(node.fake("m").requests) == 1  # the refused reply never reached the model
    assert await quotas.used("room", room.id) == 200

    clock.advance(days=1)
    assert (await reply_to(world, orchestrator, room.id, alice)).status == (
        pb.MESSAGE_STATUS_COMPLETE
    )
    await orchestrator.close()


async def test_autopilot_turns_count_against_the_room_only(
    world: World, engine: AsyncEngine, clock: FakeClock, node: LlmNode
) -> None:
    quotas, orchestrator = metered(world, engine, clock, node, user_daily_tokens=500)
    alice = await world.user("alice")
    bot = pb.Persona(handle="bot", model="m", max_tokens=500)
    room = await world.rooms.create(alice, "Room", [bot])
    message, _ = await world.rooms.post(room.id, alice, "Debate tabs versus spaces.", "", "")

    # Nobody asked for an autopilot turn: alice's quota (500) is not touched, the room's is.
    for _ in range(3):
        last = (await world.rooms.repo.get_room(room.id)).last_seq
        turn = await orchestrator.take_turn(room.id, "bot", message.id, if_last_seq=last)
        assert turn is not None and turn.status == pb.MESSAGE_STATUS_COMPLETE
    assert await quotas.used("room", room.id) == 600
    assert await quotas.used("user", alice.id) == 0
    assert await quotas.used("user", "") == 0

    # 600 used; the next turn may need its prompt + max_tokens (500): over the room's 1000.
    last = (await world.rooms.repo.get_room(room.id)).last_seq
    refused = await orchestrator.take_turn(room.id, "bot", message.id, if_last_seq=last)
    assert refused is not None
    assert (refused.status, refused.error) == (pb.MESSAGE_STATUS_ERROR, ROOM_REFUSAL)
    await orchestrator.close()


async def test_summaries_count_against_the_asker_and_the_room(
    world: World, engine: AsyncEngine, clock: FakeClock, node: LlmNode
) -> None:
    quotas, orchestrator = metered(world, engine, clock, node, user_daily_tokens=0)
    alice = await world.user("alice")
    room = await world.rooms.create(alice, "Room", [pb.Persona(handle="bot", model="m")])
    await world.rooms.post(room.id, alice, "We ship on Friday.", "", "")

    posted = await orchestrator.summarizer.post(room.id, asker_id=alice.id)

    assert (posted.author.kind, posted.content) == (pb.AUTHOR_KIND_SYSTEM, "Hello there")
    assert await quotas.used("user", alice.id) == 200
    assert await quotas.used("room", room.id) == 200

    # 200 used; a summary may need its prompt + 800 (report_max_tokens): over 1000.
    refused = await orchestrator.summarizer.post(room.id, asker_id=alice.id)
    assert refused.content == f"No summary: {ROOM_REFUSAL}"
    assert len(node.fake("m").requests) == 1
    await orchestrator.close()
