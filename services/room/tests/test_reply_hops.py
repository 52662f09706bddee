"""What a mention costs before its reply's first token: one call to the LLM node, one room read."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.pb import llm_pb2
from services.common.pb import room_pb2 as pb
from services.llm_node.backends.fake import Step
from services.room.orchestrator.context import PER_MESSAGE_OVERHEAD
from services.room.orchestrator.turns import Orchestrator, TurnLimits
from services.room.quota import Quotas
from services.room.store.sql.usage import UsageRepository
from services.room.tests.conftest import FakeClock, World, attach
from tests.support.llm_node import LlmNode, RecordingServicer, fake_model, llm_node

pytestmark = pytest.mark.unit

COMPLETE = pb.MESSAGE_STATUS_COMPLETE
FINAL = (COMPLETE, pb.MESSAGE_STATUS_ERROR, pb.MESSAGE_STATUS_INTERRUPTED)


class OlderNode(RecordingServicer):
    """A node from before CountTokens said the context window."""

    async def CountTokens(
        self, request: llm_pb2.CountTokensRequest, context: grpc.aio.ServicerContext
    ) -> llm_pb2.CountTokensResponse:
        reply = await super().CountTokens(request, context)
        reply.ClearField("context_window")
        return reply


async def answered(
    world: World,
    engine: AsyncEngine,
    clock: FakeClock,
    llm: LlmNode,
    reads: list[str],
    *,
    room_daily_tokens: int = 100_000,
    asks: tuple[str, ...] = ("@bot hello?",),
) -> pb.Message:
    """Ask @bot (with quotas on, as the service runs) each of `asks` in turn, and return its
    last finished reply."""
    quotas = Quotas(
        UsageRepository(engine),
        user_daily_tokens=0,
        room_daily_tokens=room_daily_tokens,
        clock=clock,
    )
    orchestrator = Orchestrator(world.timeline, llm.stub, TurnLimits(), quotas)
    world.rooms.replies = orchestrator
    alice = await world.user("alice")
    room = await world.rooms.create(alice, "Room", [pb.Persona(handle="bot", model="m")])
    stream = await attach(world, room.id)  # a member watching (its snapshot is not the mention's)
    repo = world.timeline.repo
    get_room = repo.get_room

    async def counted_get_room(room_id: str) -> Any:
        reads.append(room_id)
        return await get_room(room_id)

    repo.get_room = counted_get_room  # type: ignore[method-assign]
    try:
        for ask in asks:
            await world.rooms.post(room.id, alice, ask, "", "")
            reply = await ended_reply(stream)
        return reply
    finally:
        repo.get_room = get_room  # type: ignore[method-assign]
        await orchestrator.close()


async def ended_reply(stream: Any) -> pb.Message:
    """The next reply of @bot's to reach `stream` in a final state."""
    async with asyncio.timeout(10):
        while True:
            event = await stream.queue.get()
            assert isinstance(event, pb.SessionEvent)
            message = event.message
            if message.author.handle == "bot" and message.status in FINAL:
                return message


async def test_a_mention_makes_one_preparatory_call_and_reads_the_room_once(
    world: World, engine: AsyncEngine, clock: FakeClock
) -> None:
    reads: list[str] = []
    async with llm_node(fake_model("m", context_window=4096)) as llm:
        reply = await answered(world, engine, clock, llm, reads)
    assert reply.status == pb.MESSAGE_STATUS_COMPLETE
    assert llm.calls == ["CountTokens", "Generate"]
    assert len(reads) == 1


async def test_a_node_that_does_not_say_the_window_is_asked_for_it(
    world: World, engine: AsyncEngine, clock: FakeClock
) -> None:
    reads: list[str] = []
    async with llm_node(fake_model("m", context_window=4096), servicer=OlderNode) as llm:
        reply = await answered(world, engine, clock, llm, reads)
    assert reply.status == pb.MESSAGE_STATUS_COMPLETE
    assert llm.calls == ["CountTokens", "ListModels", "Generate"]


async def test_a_later_mention_counts_only_new_texts_and_reads_no_transcript(
    world: World, engine: AsyncEngine, clock: FakeClock
) -> None:
    quotas = Quotas(
        UsageRepository(engine), user_daily_tokens=0, room_daily_tokens=100_000, clock=clock
    )
    async with llm_node(fake_model("m", context_window=4096)) as llm:
        orchestrator = Orchestrator(world.timeline, llm.stub, TurnLimits(), quotas)
        world.rooms.replies = orchestrator
        alice = await world.user("alice")
        room = await world.rooms.create(alice, "Room", [pb.Persona(handle="bot", model="m")])
        stream = await attach(world, room.id)
        for text in ("@bot hello?", "@bot and once more?"):
            await world.rooms.post(room.id, alice, text, "", "")
            async with asyncio.timeout(10):  # until the bot's reply to it is complete
                while True:
                    event = await stream.queue.get()
                    assert isinstance(event, pb.SessionEvent)
                    message = event.message
                    if message.author.handle == "bot" and message.status == COMPLETE:
                        break
        await orchestrator.close()

    first, second = llm.servicer.counted
    assert any("hello?" in t for t in first) and any("once more?" in t for t in second)
    assert not set(first) & set(second)  # nothing counted twice
    assert llm.calls.count("CountTokens") == 2 and "ListModels" not in llm.calls
    assert world.timeline.recent.reads == 1  # the transcript came from memory the second time


async def test_with_no_quota_a_short_room_goes_to_the_model_uncounted_once_the_window_is_known(
    world: World, engine: AsyncEngine, clock: FakeClock
) -> None:
    reads: list[str] = []
    async with llm_node(fake_model("m", context_window=4096)) as llm:
        asks = ("@bot hello?", "@bot and again?")
        reply = await answered(world, engine, clock, llm, reads, room_daily_tokens=0, asks=asks)
        second = llm.fake("m").requests[-1]
    assert reply.status == COMPLETE
    # The first count says the window; then the room is surely shorter than it: no count.
    assert llm.calls == ["CountTokens", "Generate", "Generate"]
    contents = [t.content for t in second.messages]
    assert "alice: @bot hello?" in contents and contents[-1] == "alice: @bot and again?"


async def test_with_no_quota_a_reply_cut_short_still_records_its_prompt(
    world: World, engine: AsyncEngine, clock: FakeClock
) -> None:
    failing = Step(text="one two three four", error="the provider fell over", after=2)
    async with llm_node(fake_model("m", failing, context_window=4096)) as llm:
        reply = await answered(world, engine, clock, llm, [], room_daily_tokens=0)
        (request,) = llm.fake("m").requests
    assert reply.status == pb.MESSAGE_STATUS_ERROR and reply.content == "one two"
    # As with a quota: the prompt as counted (the fake counts words), then a token per chunk.
    prompt = sum(len(turn.content.split()) + PER_MESSAGE_OVERHEAD for turn in request.messages)
    quotas = Quotas(UsageRepository(engine), user_daily_tokens=0, room_daily_tokens=0, clock=clock)
    assert await quotas.used("room", reply.room_id) == prompt + 2
