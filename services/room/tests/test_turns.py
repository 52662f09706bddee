"""AI turns (orchestrator/turns.py): what members see when a mention asks a persona to reply,
as the replies queue, stream coalesced, are stopped, meet a quota or fail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import cast

import grpc
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.errors import SAFE_DETAILS
from services.common.pb import llm_pb2
from services.common.pb import room_pb2 as pb
from services.common.pb.llm_pb2_grpc import LlmServiceStub
from services.room.orchestrator.scheduler import SchedulerLimits
from services.room.orchestrator.turns import Orchestrator, TurnLimits
from services.room.quota import Quotas
from services.room.store.sql.usage import UsageRepository
from services.room.tests.conftest import FakeClock, Seen, World, attach, drain, room_servicer

pytestmark = pytest.mark.unit

TIMEOUT_S = 20  # per awaited condition; only reached when a test fails
Step = str | Exception
QUEUED, STREAMING = pb.MESSAGE_STATUS_QUEUED, pb.MESSAGE_STATUS_STREAMING
COMPLETE, ERROR = pb.MESSAGE_STATUS_COMPLETE, pb.MESSAGE_STATUS_ERROR
INTERRUPTED = pb.MESSAGE_STATUS_INTERRUPTED


class FakeLlm:
    """Just enough of LlmServiceStub for replies: each Generate plays the next script given.

    A script's strings stream as deltas; an exception in it is raised there, as a failing
    node's stream raises. Then the call waits for `release` (set from the start unless `held`)
    before its final chunk. Once the scripts run out, a reply says "Hi"."""

    def __init__(self, *scripts: list[Step], held: bool = False) -> None:
        self.scripts = list(scripts)
        self.requests: list[llm_pb2.GenerateRequest] = []
        self.release = asyncio.Event()
        if not held:
            self.release.set()

    async def ListModels(self, request: object, timeout: float) -> llm_pb2.ListModelsResponse:
        return llm_pb2.ListModelsResponse(models=[llm_pb2.ModelInfo(id="m", context_window=4096)])

    async def CountTokens(
        self, request: llm_pb2.CountTokensRequest, timeout: float
    ) -> llm_pb2.CountTokensResponse:
        return llm_pb2.CountTokensResponse(counts=[len(t) // 4 + 1 for t in request.texts])

    def Generate(self, request: llm_pb2.GenerateRequest, timeout: float) -> FakeLlm.Call:
        self.requests.append(request)
        return FakeLlm.Call(self._chunks(self.scripts.pop(0) if self.scripts else ["Hi"]))

    async def _chunks(self, script: list[Step]) -> AsyncIterator[llm_pb2.GenerateChunk]:
        for step in script:
            if isinstance(step, Exception):
                raise step
            yield llm_pb2.GenerateChunk(delta=llm_pb2.GenerateDelta(text=step))
        await self.release.wait()
        yield llm_pb2.GenerateChunk(
            final=llm_pb2.GenerateFinal(model="m", prompt_tokens=10, completion_tokens=5)
        )

    class Call:
        """A Generate stream, as reply.py uses one: iterated, then cancelled."""

        def __init__(self, chunks: AsyncIterator[llm_pb2.GenerateChunk]) -> None:
            self.chunks = chunks

        def __aiter__(self) -> AsyncIterator[llm_pb2.GenerateChunk]:
            return self.chunks

        def cancel(self) -> None:
            pass


class Watcher(Seen):
    """Everything one gateway stream of the room was sent, and what it shows."""

    def take(self) -> None:
        """Take in what was sent so far (a post's own announcements are sent before it returns)."""
        self.events.extend(drain(self.stream))

    def messages(self, handle: str) -> list[pb.Message]:
        """Each announcement of the persona's replies, in the order members got them."""
        return [
            e.message
            for e in self.events
            if e.HasField("message") and e.message.author.handle == handle
        ]

    def latest(self, handle: str) -> pb.Message | None:
        seen = self.messages(handle)
        return seen[-1] if seen else None

    def status(self, handle: str) -> int | None:
        latest = self.latest(handle)
        return None if latest is None else latest.status

    def ended(self, *handles: str) -> bool:
        return all(self.status(h) not in (None, QUEUED, STREAMING) for h in handles)

    def deltas(self, message_id: str) -> list[str]:
        return [e.delta.text for e in self.events if e.delta.message_id == message_id]

    def text(self, handle: str) -> str:
        """What the persona's first reply has streamed so far."""
        seen = self.messages(handle)
        return "".join(self.deltas(seen[0].id)) if seen else ""

    def starts_and_ends(self) -> list[tuple[str, int]]:
        """(persona, status) of each reply shown starting or ending, in the order shown."""
        return [
            (e.message.author.handle, e.message.status)
            for e in self.events
            if e.HasField("message")
            and e.message.author.kind == pb.AUTHOR_KIND_AI
            and e.message.status != QUEUED
        ]


def personas(*handles: str) -> list[pb.Persona]:
    return [pb.Persona(handle=h, model="m", max_tokens=50) for h in handles]


Orchestrate = Callable[..., Orchestrator]


@pytest.fixture
async def orchestrate(world: World) -> AsyncIterator[Orchestrate]:
    """Make the orchestrator answering the world's mentions, one reply at a time per room."""
    made: list[Orchestrator] = []

    def make(
        llm: FakeLlm, quotas: Quotas | None = None, delta_interval_s: float = 0
    ) -> Orchestrator:
        orchestrator = Orchestrator(
            world.timeline,
            cast(LlmServiceStub, llm),
            TurnLimits(delta_interval_s=delta_interval_s),
            quotas,
            slots=SchedulerLimits(room_slots=1),
        )
        world.rooms.replies = orchestrator
        made.append(orchestrator)
        return orchestrator

    yield make
    for orchestrator in made:
        await orchestrator.close()


# --- scheduling -------------------------------------------------------------------------------


async def test_a_mention_starts_a_reply_right_behind_it(
    world: World, orchestrate: Orchestrate
) -> None:
    llm = FakeLlm(["Hel", "lo"])
    orchestrate(llm)
    alice = await world.user("alice")
    room = await world.rooms.create(alice, "Room", personas("bot"))
    watch = Watcher(await attach(world, room.id))

    await world.rooms.post(room.id, alice, "hello everyone", "", "")  # no mention: no reply
    asked, _ = await world.rooms.post(room.id, alice, "@bot what's up?", "", "")
    await watch.until(lambda: watch.ended("bot"))

    first, final = watch.messages("bot")[0], watch.latest("bot")
    assert (first.status, first.seq, first.reply_to) == (STREAMING, asked.seq + 1, asked.id)
    assert final is not None and (final.status, final.content) == (COMPLETE, "Hello")
    assert watch.deltas(first.id) == ["Hel", "lo"]
    assert watch.starts_and_ends() == [("bot", STREAMING), ("bot", COMPLETE)]  # one reply
    assert [r.messages[-1].content for r in llm.requests] == ["alice: @bot what's up?"]
    history, _ = await world.rooms.history(alice, room.id, None, None, 50)
    assert [(m.id, m.status, m.content) for m in history[-1:]] == [(first.id, COMPLETE, "Hello")]


async def test_queued_replies_start_one_by_one_in_the_fair_order(
    world: World, orchestrate: Orchestrate
) -> None:
    llm = FakeLlm(held=True)
    orchestrate(llm)
    alice, bob = await world.user("alice"), await world.user("bob")
    room = await world.rooms.create(alice, "Room", personas("a", "b", "c", "d"))
    watch = Watcher(await attach(world, room.id))

    def places() -> dict[str, tuple[int, int]]:
        return {h: (m.status, m.queue_position) for h in "abcd" if (m := watch.latest(h))}

    await world.rooms.post(room.id, alice, "@a @b @c go", "", "")
    watch.take()
    assert places() == {"a": (STREAMING, 0), "b": (QUEUED, 1), "c": (QUEUED, 2)}
    await world.rooms.post(room.id, bob, "@d one question", "", "", role="member")
    watch.take()
    # Bob has nothing running, so his one mention goes ahead of Alice's two still waiting.
    assert places() == {"a": (STREAMING, 0), "b": (QUEUED, 2), "c": (QUEUED, 3), "d": (QUEUED, 1)}

    llm.release.set()
    await watch.until(lambda: watch.ended("a", "b", "c", "d"))
    # One slot in the room: each reply is seen ending before the next is seen starting.
    assert watch.starts_and_ends() == [
        ("a", STREAMING),
        ("a", COMPLETE),
        ("d", STREAMING),
        ("d", COMPLETE),
        ("b", STREAMING),
        ("b", COMPLETE),
        ("c", STREAMING),
        ("c", COMPLETE),
    ]
    assert [r.request_id for r in llm.requests] == [watch.messages(h)[0].id for h in "adbc"]


# --- coalescing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval_s", "deltas"),
    [
        pytest.param(0, ["Hel", "lo", " wor", "ld"], id="every-token-once-due"),
        pytest.param(60, ["Hel", "lo world"], id="the-rest-merged-at-the-end"),
    ],
)
async def test_tokens_arriving_between_sends_are_merged_into_one_delta(
    world: World, orchestrate: Orchestrate, interval_s: float, deltas: list[str]
) -> None:
    orchestrate(FakeLlm(["Hel", "lo", " wor", "ld"]), delta_interval_s=interval_s)
    alice = await world.user("alice")
    room = await world.rooms.create(alice, "Room", personas("bot"))
    watch = Watcher(await attach(world, room.id))

    await world.rooms.post(room.id, alice, "@bot greet the world", "", "")
    await watch.until(lambda: watch.ended("bot"))

    # The first token goes out at once; what comes within the interval waits for one delta.
    final = watch.latest("bot")
    assert final is not None and (final.status, final.content) == (COMPLETE, "Hello world")
    assert watch.deltas(final.id) == deltas


# --- stopping ---------------------------------------------------------------------------------


async def test_any_member_can_stop_a_streaming_reply_and_the_next_one_starts(
    world: World, orchestrate: Orchestrate
) -> None:
    llm = FakeLlm(["Partial", " answer"], ["Hi"], held=True)
    orchestrator = orchestrate(llm)
    alice, bob = await world.user("alice"), await world.user("bob")
    room = await world.rooms.create(alice, "Room", personas("a", "b"))
    _, token = await world.members.create_invite(alice, room.id, 0, 0, pb.ROOM_ROLE_MEMBER)
    await world.members.accept_invite(bob, token)
    watch = Watcher(await attach(world, room.id))
    await world.rooms.post(room.id, alice, "@a @b", "", "")
    await watch.until(lambda: watch.text("a") == "Partial answer")
    a = watch.messages("a")[0]
    # Someone arriving now is shown a's text so far and b waiting its turn.
    shown = {m.author.handle: (m.status, m.content) for m in orchestrator.streaming(room.id)}
    assert shown == {"a": (STREAMING, "Partial answer"), "b": (QUEUED, "")}

    # Bob did not ask for it, but any member may stop it.
    request = pb.InterruptMessageRequest(actor=bob, room_id=room.id, message_id=a.id)
    servicer = room_servicer(world, orchestrator)
    context = cast(grpc.aio.ServicerContext, None)
    stopped = await asyncio.wait_for(servicer.InterruptMessage(request, context), TIMEOUT_S)

    assert (stopped.status, stopped.content) == (INTERRUPTED, "Partial answer")
    llm.release.set()
    await watch.until(lambda: watch.ended("b"))
    assert watch.starts_and_ends()[-3:] == [("a", INTERRUPTED), ("b", STREAMING), ("b", COMPLETE)]
    final_b = watch.latest("b")
    assert final_b is not None and final_b.content == "Hi"
    # Stopping a reply that has ended leaves it as it ended.
    again = await asyncio.wait_for(orchestrator.stop(room.id, final_b.id), TIMEOUT_S)
    assert (again.status, again.content) == (COMPLETE, "Hi")
    history, _ = await world.rooms.history(alice, room.id, None, None, 50)
    assert [(m.author.handle, m.status, m.content) for m in history if m.author.handle] == [
        ("a", INTERRUPTED, "Partial answer"),
        ("b", COMPLETE, "Hi"),
    ]


# --- quota ------------------------------------------------------------------------------------


async def test_an_account_past_its_quota_is_refused_before_anything_is_generated(
    world: World, orchestrate: Orchestrate, engine: AsyncEngine, clock: FakeClock
) -> None:
    quotas = Quotas(
        UsageRepository(engine), user_daily_tokens=500, room_daily_tokens=0, clock=clock
    )
    llm = FakeLlm()
    orchestrate(llm, quotas)
    alice, bob = await world.user("alice"), await world.user("bob")
    room = await world.rooms.create(alice, "Room", personas("bot"))
    await quotas.settle(await quotas.reserve(alice.id, "", 500), 500)  # her day's tokens spent
    watch = Watcher(await attach(world, room.id))

    await world.rooms.post(room.id, alice, "@bot one more?", "", "")
    await watch.until(lambda: watch.ended("bot"))

    refused = watch.latest("bot")
    assert refused is not None
    assert (refused.status, refused.content, refused.error) == (
        ERROR,
        "",
        "Your daily AI token quota is used up (500 tokens); it resets at 00:00 UTC.",
    )
    assert llm.requests == []
    assert await quotas.used("user", alice.id) == 500  # the refusal cost nothing

    # The quota is hers: Bob, in the same room, is answered.
    await world.rooms.post(room.id, bob, "@bot and me?", "", "", role="member")
    await watch.until(lambda: watch.messages("bot")[-1].id != refused.id and watch.ended("bot"))
    answered = watch.latest("bot")
    assert answered is not None and (answered.status, answered.content) == (COMPLETE, "Hi")
    assert [r.messages[-1].content for r in llm.requests] == ["bob: @bot and me?"]


# --- errors -----------------------------------------------------------------------------------


def rpc_error(code: grpc.StatusCode, details: str, safe: bool = False) -> grpc.aio.AioRpcError:
    """A failed Generate stream, as the LLM node's servicer (safe details) or gRPC raises it."""
    trailing = grpc.aio.Metadata(*SAFE_DETAILS) if safe else grpc.aio.Metadata()
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), trailing, details)


@pytest.mark.parametrize(
    ("failure", "shown"),
    [
        pytest.param(
            rpc_error(grpc.StatusCode.UNAVAILABLE, "connect failed: 10.0.0.7:50051"),
            "The LLM node is unreachable.",
            id="unreachable",
        ),
        pytest.param(
            rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"),
            "The model took too long to answer.",
            id="too-slow",
        ),
        pytest.param(
            rpc_error(grpc.StatusCode.NOT_FOUND, "Model 'm' is not loaded.", safe=True),
            "Model 'm' is not loaded.",
            id="said-by-the-node",
        ),
        pytest.param(
            RuntimeError("CUDA error at 0x7f3a"), "The reply failed unexpectedly.", id="crash"
        ),
    ],
)
async def test_an_llm_error_ends_that_reply_and_the_room_goes_on(
    world: World, orchestrate: Orchestrate, failure: Exception, shown: str
) -> None:
    llm = FakeLlm(["Let me", failure])
    orchestrate(llm)
    alice = await world.user("alice")
    room = await world.rooms.create(alice, "Room", personas("a", "b"))
    watch = Watcher(await attach(world, room.id))

    await world.rooms.post(room.id, alice, "@a @b", "", "")
    await watch.until(lambda: watch.ended("a", "b"))

    failed, next_one = watch.latest("a"), watch.latest("b")
    assert failed is not None and next_one is not None
    # What it said before failing stays, with a reason safe to show (no addresses, no traces).
    assert (failed.status, failed.content, failed.error) == (ERROR, "Let me", shown)
    assert (next_one.status, next_one.content) == (COMPLETE, "Hi")

    await world.rooms.post(room.id, alice, "@a try again", "", "")
    await watch.until(lambda: watch.messages("a")[-1].id != failed.id and watch.ended("a"))
    retried = watch.latest("a")
    assert retried is not None and retried.id != failed.id
    assert (retried.status, retried.content, retried.error) == (COMPLETE, "Hi", "")
