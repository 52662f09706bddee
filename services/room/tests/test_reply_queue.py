"""Queued replies: shown at once with their place, fair to every member, bounded per account,
stoppable while they wait, and still answered after a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest
import pytest_asyncio

from services.common.pb import room_pb2 as pb
from services.llm_node.backends.fake import Step
from services.room.orchestrator.scheduler import AiQueueFull, SchedulerLimits
from services.room.orchestrator.turns import PERSONA_GONE, Orchestrator, TurnLimits
from services.room.tests import conftest
from services.room.tests.conftest import World, attach
from tests.support.llm_node import LlmNode, fake_model, llm_node

pytestmark = pytest.mark.unit

TIMEOUT_S = 10


class HeldLlm:
    """A real LLM node whose every reply says "Hi" and then waits for `release()`."""

    def __init__(self, node: LlmNode) -> None:
        self.node, self.stub = node, node.stub

    def release(self) -> None:
        self.node.fake("m").release()

    @property
    def asked(self) -> list[str]:
        """The newest human line of each request, in order."""
        return [r.messages[-1].content for r in self.node.fake("m").requests]


StartLlm = Callable[..., Awaitable[HeldLlm]]


@pytest_asyncio.fixture
async def start_llm() -> AsyncIterator[StartLlm]:
    """Starts nodes: `await start_llm()` holds each reply after "Hi"; `held=False` does not."""
    async with AsyncExitStack() as stack:

        async def start(*, held: bool = True) -> HeldLlm:
            answer = Step(text="Hi", after=1, hold=held)
            return HeldLlm(await stack.enter_async_context(llm_node(fake_model("m", answer))))

        yield start


def orchestrated(world: World, llm: HeldLlm, **slots: int) -> Orchestrator:
    """An orchestrator answering the world's posts, with `slots` (SchedulerLimits fields)."""
    orchestrator = Orchestrator(
        world.timeline,
        llm.stub,
        TurnLimits(delta_interval_s=0),
        slots=SchedulerLimits(**slots),
    )
    world.rooms.replies = orchestrator
    return orchestrator


class Seen(conftest.Seen):
    """What members were shown of the room's AI replies."""

    def replies(self) -> dict[str, pb.Message]:
        """Each AI reply as last announced, by persona handle."""
        latest: dict[str, pb.Message] = {}
        for event in self.events:
            if event.HasField("message") and event.message.author.kind == pb.AUTHOR_KIND_AI:
                latest[event.message.author.handle] = event.message
        return latest

    def status(self, handle: str) -> int | None:
        reply = self.replies().get(handle)
        return None if reply is None else reply.status

    def first_seen(self, handle: str) -> pb.Message:
        return next(
            e.message
            for e in self.events
            if e.HasField("message") and e.message.author.handle == handle
        )


def personas(*handles: str) -> list[pb.Persona]:
    return [pb.Persona(handle=h, model="m", max_tokens=50) for h in handles]


async def test_a_reply_behind_the_room_cap_shows_at_once_as_queued_with_its_place(
    world: World,
    start_llm: StartLlm,
) -> None:
    llm = await start_llm()
    orchestrator = orchestrated(world, llm, room_slots=1)
    alice = await world.user("alice")
    room = await world.rooms.create(alice, "Room", personas("a", "b", "c"))
    seen = Seen(await attach(world, room.id))

    await world.rooms.post(room.id, alice, "@a @b @c go", "", "")
    await seen.until(lambda: len(seen.replies()) == 3)
    assert seen.first_seen("a").status == pb.MESSAGE_STATUS_STREAMING
    queued = [seen.first_seen(h) for h in ("b", "c")]
    assert [(m.status, m.queue_position) for m in queued] == [
        (pb.MESSAGE_STATUS_QUEUED, 1),
        (pb.MESSAGE_STATUS_QUEUED, 2),
    ]
    # Everyone joining now is told of them too, with their places.
    snapshot = {m.author.handle: m for m in orchestrator.streaming(room.id)}
    assert (snapshot["b"].queue_position, snapshot["c"].queue_position) == (1, 2)

    llm.release()
    await seen.until(lambda: all(seen.status(h) == pb.MESSAGE_STATUS_COMPLETE for h in "abc"))
    # c moved up to first in line while b was answering.
    assert any(
        e.message.author.handle == "c" and e.message.queue_position == 1
        for e in seen.events
        if e.HasField("message")
    )
    await orchestrator.close()


async def test_a_mentions_reply_is_stored_before_anyone_else_can_take_the_room(
    world: World,
    start_llm: StartLlm,
) -> None:
    """Whoever takes the room's lock once the message is out (an autopilot turn deciding who
    speaks next) finds the mention's reply already right behind it: nothing comes between."""
    orchestrated(world, await start_llm(held=False))
    alice = await world.user("alice")
    room = await world.rooms.create(alice, "Room", personas("a"))
    seen = Seen(await attach(world, room.id))

    posting = asyncio.create_task(world.rooms.post(room.id, alice, "@a hello", "", ""))
    await seen.until(lambda: any(e.HasField("message") for e in seen.events))
    asked = seen.events[-1].message
    async with world.timeline.hold(room.id):
        last_seq = (await world.rooms.repo.get_room(room.id)).last_seq
    assert last_seq == asked.seq + 1
    await posting
    await seen.until(lambda: seen.status("a") == pb.MESSAGE_STATUS_COMPLETE)
    assert seen.first_seen("a").seq == asked.seq + 1


async def test_another_members_mention_goes_ahead_of_one_members_flood(
    world: World, start_llm: StartLlm
) -> None:
    llm = await start_llm()
    orchestrator = orchestrated(world, llm, room_slots=1)
    mallory, bob = await world.user("mallory"), await world.user("bob")
    room = await world.rooms.create(mallory, "Room", personas("p0", "p1", "p2", "p3", "p4"))
    seen = Seen(await attach(world, room.id))

    for i in range(4):
        await world.rooms.post(room.id, mallory, f"@p{i} flood {i}", "", "")
    await seen.until(lambda: len(seen.replies()) == 4)
    await world.rooms.post(room.id, bob, "@p4 just one question", "", "", role="member")
    await seen.until(lambda: "p4" in seen.replies())
    assert seen.replies()["p4"].queue_position == 1  # ahead of Mallory's three waiting

    llm.release()
    await seen.until(
        lambda: all(seen.status(f"p{i}") == pb.MESSAGE_STATUS_COMPLETE for i in range(5))
    )
    assert [line.split(": ", 1)[1] for line in llm.asked[:2]] == [
        "@p0 flood 0",
        "@p4 just one question",
    ]
    await orchestrator.close()


async def test_an_account_past_its_waiting_bound_is_refused_and_nothing_is_stored(
    world: World,
    start_llm: StartLlm,
) -> None:
    llm = await start_llm()
    orchestrator = orchestrated(world, llm, room_slots=1, account_queue=3)
    mallory, bob = await world.user("mallory"), await world.user("bob")
    room = await world.rooms.create(mallory, "Room", personas("a", "b", "c", "d"))
    await world.rooms.post(room.id, mallory, "@a @b @c", "", "")  # one runs, two wait: 3

    with pytest.raises(AiQueueFull) as refused:
        await world.rooms.post(room.id, mallory, "@d too", "", "")
    assert refused.value.message.startswith("You already have 3 AI replies waiting")
    history, _ = await world.rooms.history(mallory, room.id, None, None, 50)
    assert [m.content for m in history if m.author.kind == pb.AUTHOR_KIND_HUMAN] == ["@a @b @c"]
    # Text without a mention still goes through, and the bound is per account.
    await world.rooms.post(room.id, mallory, "no mention", "", "")
    await world.rooms.post(room.id, bob, "@d for me", "", "", role="member")
    llm.release()
    await orchestrator.close()


async def test_a_queued_reply_can_be_stopped_before_it_reaches_the_model(
    world: World, start_llm: StartLlm
) -> None:
    llm = await start_llm()
    orchestrator = orchestrated(world, llm, room_slots=1)
    alice = await world.user("alice")
    room = await world.rooms.create(alice, "Room", personas("a", "b"))
    seen = Seen(await attach(world, room.id))
    await world.rooms.post(room.id, alice, "@a @b", "", "")
    await seen.until(lambda: seen.status("b") == pb.MESSAGE_STATUS_QUEUED)

    stopped = await orchestrator.stop(room.id, seen.replies()["b"].id)

    assert (stopped.status, stopped.content) == (pb.MESSAGE_STATUS_INTERRUPTED, "")
    llm.release()
    await seen.until(lambda: seen.status("a") == pb.MESSAGE_STATUS_COMPLETE)
    assert llm.asked == ["alice: @a @b"]  # only a's reply was generated
    await orchestrator.close()


async def restarted_with_b_queued(
    world: World, start_llm: StartLlm
) -> tuple[pb.User, pb.Room, Seen, Orchestrator]:
    """Alice asked @a and @b; the service restarted while b waited: a new orchestrator, not
    yet resumed."""
    before = orchestrated(world, await start_llm(), room_slots=1)
    alice = await world.user("alice")
    room = await world.rooms.create(alice, "Room", personas("a", "b"))
    seen = Seen(await attach(world, room.id))
    await world.rooms.post(room.id, alice, "@a @b", "", "")
    await seen.until(lambda: seen.status("b") == pb.MESSAGE_STATUS_QUEUED)
    await before.close()  # b stays queued for the next start
    await world.rooms.repo.interrupt_streaming()
    after = orchestrated(world, await start_llm(held=False), room_slots=1)
    return alice, room, seen, after


async def test_a_reply_stopped_before_its_turn_first_ran_ends_and_frees_its_place(
    world: World, start_llm: StartLlm
) -> None:
    alice, room, seen, after = await restarted_with_b_queued(world, start_llm)

    assert await after.resume() == 1
    # Stopped in the same step as the resume: the turn's task exists but has not run yet.
    b = seen.replies()["b"].id
    assert after.request_stop(room.id, b)
    stopped = await asyncio.wait_for(after.stop(room.id, b), TIMEOUT_S)

    assert stopped.status == pb.MESSAGE_STATUS_INTERRUPTED
    assert after.streaming(room.id) == []  # nobody joining is shown it as still going
    await world.rooms.post(room.id, alice, "@b again", "", "")  # its place in the room is free
    await seen.until(lambda: seen.status("b") == pb.MESSAGE_STATUS_COMPLETE)
    await after.close()


async def test_a_reply_whose_turn_fails_before_generating_ends_as_an_error(
    world: World, start_llm: StartLlm
) -> None:
    alice, room, seen, after = await restarted_with_b_queued(world, start_llm)
    repo = world.timeline.repo
    get_room, reads = repo.get_room, 0

    async def failing_once(room_id: str) -> Any:
        nonlocal reads
        reads += 1
        if reads == 2:  # the turn's own read of the room, after resume's
            raise RuntimeError("database is locked")
        return await get_room(room_id)

    repo.get_room = failing_once  # type: ignore[method-assign]
    try:
        assert await after.resume() == 1
        await seen.until(lambda: seen.status("b") == pb.MESSAGE_STATUS_ERROR)
    finally:
        repo.get_room = get_room  # type: ignore[method-assign]

    assert seen.replies()["b"].error == "The reply failed unexpectedly."
    assert after.streaming(room.id) == []
    await world.rooms.post(room.id, alice, "@b again", "", "")  # its place in the room is free
    await seen.until(lambda: seen.status("b") == pb.MESSAGE_STATUS_COMPLETE)
    await after.close()


async def test_queued_replies_are_answered_after_a_restart(
    world: World, start_llm: StartLlm
) -> None:
    before = orchestrated(world, await start_llm(), room_slots=1)
    alice = await world.user("alice")
    room = await world.rooms.create(alice, "Room", personas("a", "b", "c"))
    seen = Seen(await attach(world, room.id))
    await world.rooms.post(room.id, alice, "@a @b @c", "", "")
    await seen.until(
        lambda: len(seen.replies()) == 3 and any(e.HasField("delta") for e in seen.events)
    )

    await before.close()  # the room service stops mid-reply: a is cut off, b and c still wait
    await world.rooms.repo.interrupt_streaming()  # as the next start does
    after = orchestrated(world, await start_llm(held=False))
    assert await after.resume() == 2
    await seen.until(lambda: all(seen.status(h) == pb.MESSAGE_STATUS_COMPLETE for h in ("b", "c")))
    history, _ = await world.rooms.history(alice, room.id, None, None, 50)
    states = {m.author.handle: (m.status, m.content) for m in history if m.author.handle}
    assert states["b"] == states["c"] == (pb.MESSAGE_STATUS_COMPLETE, "Hi")
    assert states["a"] == (pb.MESSAGE_STATUS_INTERRUPTED, "Hi")  # what it had said is kept
    await after.close()


async def test_a_persona_removed_while_its_reply_waits_says_so(
    world: World, start_llm: StartLlm
) -> None:
    llm = await start_llm()
    orchestrator = orchestrated(world, llm, room_slots=1)
    alice = await world.user("alice")
    room = await world.rooms.create(alice, "Room", personas("a", "b"))
    seen = Seen(await attach(world, room.id))
    await world.rooms.post(room.id, alice, "@a @b", "", "")
    await seen.until(lambda: seen.status("b") == pb.MESSAGE_STATUS_QUEUED)
    await world.rooms.update(alice, room.id, None, personas("a"))

    llm.release()
    await seen.until(lambda: seen.status("b") == pb.MESSAGE_STATUS_ERROR)
    assert seen.replies()["b"].error == PERSONA_GONE.format(handle="b")
    await orchestrator.close()
