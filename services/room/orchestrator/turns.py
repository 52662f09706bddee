"""AI turns: a mention starts a persona's reply, streamed to the room and stoppable by anyone.

A reply is an ordinary message: stored with status "streaming" when it starts (so it
gets its seq and everyone sees "thinking"), then coalesced `delta` events, then the
message again in its final state. The database is written at the start, every few
seconds as a checkpoint, and at the end — never per token.

Every reply is checked against the daily token quotas first (quota.py): the asker's (the
account whose message mentioned the persona) and the room's. An autopilot turn has no asker,
so it counts against the room's quota only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc

from services.common.errors import NotFound, is_safe
from services.common.pb import llm_pb2
from services.common.pb import room_pb2 as pb
from services.common.pb.llm_pb2_grpc import LlmServiceStub
from services.room.convert import message_pb
from services.room.hub import RoomHub
from services.room.orchestrator.coalesce import DeltaCoalescer
from services.room.orchestrator.context import PER_MESSAGE_OVERHEAD, Turn
from services.room.orchestrator.mentions import mentioned
from services.room.orchestrator.summary import Summarizer, SummaryConfig, is_command
from services.room.quota import QuotaExceeded, Quotas, Reservation
from services.room.store.records import AuthorRecord, PersonaRecord, RoomRecord
from services.room.store.repository import RoomRepository

logger = logging.getLogger(__name__)

MODEL_INFO_TTL_S = 30.0
T = TypeVar("T")


@dataclass(frozen=True)
class TurnLimits:
    """How replies are paced and bounded."""

    room_concurrency: int = 2
    global_concurrency: int = 8
    delta_interval_s: float = 0.05
    checkpoint_interval_s: float = 3.0
    context_messages: int = 500
    timeout_s: float = 600.0


@dataclass(eq=False)
class _Turn:
    room_id: str
    persona: PersonaRecord
    message: pb.Message
    asker_id: str  # the account whose message asked for this reply (its quota pays); "" = none
    sent: list[str] = field(default_factory=list)  # text already sent to the room as deltas
    task: asyncio.Task[None] | None = None
    stop_requested: bool = False
    finishing: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)
    final: pb.Message | None = None

    def snapshot(self) -> pb.Message:
        message = pb.Message()
        message.CopyFrom(self.message)
        message.content = "".join(self.sent)
        return message


def persona_author(persona: PersonaRecord) -> AuthorRecord:
    """How a persona appears as a message author."""
    return AuthorRecord(
        id=f"persona:{persona.handle}", name=persona.name, kind="ai", handle=persona.handle
    )


def failure_reason(exc: grpc.aio.AioRpcError) -> str:
    """A readable reason for a failed generation, safe to show the room."""
    code = exc.code()
    if is_safe(exc) and exc.details():
        return exc.details() or ""
    if code == grpc.StatusCode.UNAVAILABLE:
        return "The LLM node is unreachable."
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return "The model took too long to answer."
    return "The model failed to answer."


def _tokens_used(
    final: llm_pb2.GenerateFinal | None, prompt_estimate: int, received: list[str]
) -> int:
    """What a reply costs: its final usage; cut short, its prompt and one token per chunk."""
    if final is not None:
        return final.prompt_tokens + final.completion_tokens
    return prompt_estimate + len(received) if received else 0


class Orchestrator:
    """Starts, streams, stops and finishes persona replies."""

    def __init__(
        self,
        repo: RoomRepository,
        hub: RoomHub,
        llm: LlmServiceStub,
        limits: TurnLimits,
        quotas: Quotas | None = None,
        summary: SummaryConfig | None = None,
    ) -> None:
        self.repo = repo
        self.hub = hub
        self.llm = llm
        self.limits = limits
        self.quotas = quotas
        self.summarizer = Summarizer(
            repo,
            hub,
            llm,
            summary or SummaryConfig(),
            window=self._context_window,
            count=self._count_tokens,
            quotas=quotas,
        )
        self._turns: dict[str, _Turn] = {}  # message id -> streaming reply
        self._tasks: set[asyncio.Task[Any]] = set()
        self._busy: Counter[str] = Counter()  # room -> its replies and summaries, queued or running
        self.on_settled: Callable[[str], None] | None = None  # called when a room's work all ended
        self._persona_locks: defaultdict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)
        self._room_slots: dict[str, asyncio.Semaphore] = {}
        self._global_slots = asyncio.Semaphore(limits.global_concurrency)
        self._windows: dict[str, tuple[float, int]] = {}

    # --- starting replies ----------------------------------------------------------

    def on_human_message(self, message: pb.Message) -> None:
        """A human message was committed: the personas it mentions will answer (or, for
        `/summary`, the summarizer)."""
        if is_command(message.content):
            self.spawn(message.room_id, self.summarizer.answer_command(message))
        elif "@" in message.content:
            self.spawn(message.room_id, self._answer_mentions(message))

    def spawn(self, room_id: str, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run work for a room in the background; the room is `busy` until it ends."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        self._busy[room_id] += 1
        task.add_done_callback(lambda done: self._settle(room_id, done))
        return task

    def _settle(self, room_id: str, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._busy[room_id] -= 1
        if self._busy[room_id] <= 0:
            del self._busy[room_id]
            if self.on_settled is not None:
                self.on_settled(room_id)

    def busy(self, room_id: str) -> bool:
        """Whether replies or a summary are queued or running in the room."""
        return self._busy[room_id] > 0

    async def take_turn(
        self, room_id: str, handle: str, trigger_id: str | None, *, if_last_seq: int
    ) -> pb.Message | None:
        """An autopilot turn: the persona's reply in its final state; None if it did not start
        because the persona is gone or a message came after `if_last_seq`.

        No person asked for it, so it counts against the room's token quota only."""
        task = self.spawn(room_id, self._reply(room_id, handle, trigger_id, "", if_last_seq))
        return await asyncio.shield(task)  # Stop on the reply must not cancel the autopilot

    async def _answer_mentions(self, message: pb.Message) -> None:
        try:
            room = await self.repo.get_room(message.room_id)
        except Exception:
            logger.exception("cannot read room for mentions", extra={"room_id": message.room_id})
            return
        handles = mentioned(message.content, [p.handle for p in room.personas])
        for handle in handles:
            self.spawn(
                message.room_id,
                self._reply(message.room_id, handle, message.id, message.author.id),
            )

    async def _reply(
        self,
        room_id: str,
        handle: str,
        trigger_id: str | None,
        asker_id: str,
        if_last_seq: int | None = None,
    ) -> pb.Message | None:
        """One persona's reply, after its turn comes (one at a time per persona, capped per room);
        its final state."""
        slots = self._room_slots.setdefault(
            room_id, asyncio.Semaphore(self.limits.room_concurrency)
        )
        async with self._persona_locks[(room_id, handle)], slots, self._global_slots:
            room = await self.repo.get_room(room_id)
            persona = next((p for p in room.personas if p.handle == handle), None)
            if persona is None:
                return None  # removed while waiting
            async with self.hub.lock(room_id):
                if if_last_seq is not None and (
                    (await self.repo.get_room(room_id)).last_seq != if_last_seq
                ):
                    return None  # someone spoke meanwhile: the caller decides again
                record = await self.repo.start_ai_message(
                    room_id, persona_author(persona), reply_to=trigger_id
                )
                turn = _Turn(room_id, persona, message_pb(record), asker_id)
                self._turns[record.id] = turn
                self.hub.broadcast(room_id, pb.SessionEvent(message=turn.message))
            turn.task = asyncio.current_task()  # type: ignore[assignment]
            try:
                await self._generate(turn, room)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception(
                    "reply crashed", extra={"room_id": room_id, "message_id": record.id}
                )
            finally:
                self._turns.pop(record.id, None)
                turn.done.set()
            return turn.final

    # --- one reply -----------------------------------------------------------------

    async def _generate(self, turn: _Turn, room: RoomRecord) -> None:
        persona, message = turn.persona, turn.message
        coalescer = DeltaCoalescer(
            lambda text: self._send_delta(turn, text), self.limits.delta_interval_s
        )
        final: llm_pb2.GenerateFinal | None = None
        status, error = "complete", None
        call = None
        shutting_down = False
        received: list[str] = []
        reservation: Reservation | None = None
        prompt_estimate = 0
        try:
            transcript = await self.repo.recent_messages(
                turn.room_id, upto_seq=message.seq - 1, limit=self.limits.context_messages
            )
            counted: dict[str, int] = {}

            async def count_tokens(model_id: str, texts: list[str]) -> list[int]:
                counts = await self._count_tokens(model_id, texts)
                counted.update(zip(texts, counts, strict=True))
                return counts

            turns = await self.summarizer.context(persona, room, transcript, count=count_tokens)
            if self.quotas is not None:
                prompt_estimate = await self._prompt_estimate(persona.model, turns, counted)
                reservation = await self.quotas.reserve(
                    turn.asker_id, turn.room_id, prompt_estimate + persona.max_tokens
                )
            call = self.llm.Generate(
                llm_pb2.GenerateRequest(
                    request_id=message.id,
                    model_id=persona.model,
                    messages=[
                        llm_pb2.ChatMessage(role=t.role, content=t.content, name=t.name)
                        for t in turns
                    ],
                    temperature=persona.temperature,
                    max_tokens=persona.max_tokens,
                ),
                timeout=self.limits.timeout_s,
            )
            last_checkpoint = time.monotonic()
            async for chunk in call:
                if chunk.HasField("delta"):
                    received.append(chunk.delta.text)
                    coalescer.add(chunk.delta.text)
                    if time.monotonic() - last_checkpoint >= self.limits.checkpoint_interval_s:
                        await self.repo.checkpoint_message(message.id, "".join(received))
                        last_checkpoint = time.monotonic()
                elif chunk.HasField("final"):
                    final = chunk.final
        except asyncio.CancelledError:
            status = "interrupted"
            shutting_down = not turn.stop_requested
        except grpc.aio.AioRpcError as exc:
            status, error = "error", failure_reason(exc)
        except QuotaExceeded as exc:
            status, error = "error", exc.message
        except Exception:
            logger.exception(
                "reply failed", extra={"room_id": turn.room_id, "message_id": message.id}
            )
            status, error = "error", "The reply failed unexpectedly."
        finally:
            if call is not None:
                call.cancel()  # Stop reaches the LLM node, which aborts the backend
            coalescer.flush()
        # Shielded: the final state is stored and announced even if we are being cancelled again.
        turn.finishing = True
        if reservation is not None:
            # Recorded before the reply shows as finished, so what follows it sees the usage.
            used = _tokens_used(final, prompt_estimate, received)
            await asyncio.shield(self._record_usage(reservation, used, turn))
        await asyncio.shield(self._finish(turn, "".join(received), status, final, error))
        if shutting_down:
            raise asyncio.CancelledError

    async def _prompt_estimate(
        self, model_id: str, turns: list[Turn], counted: dict[str, int]
    ) -> int:
        """Tokens of a context, from the counts made while building it (the rest counted now)."""
        missing = list({t.content for t in turns if t.content not in counted})
        if missing:
            counted.update(zip(missing, await self._count_tokens(model_id, missing), strict=True))
        return sum(counted[t.content] + PER_MESSAGE_OVERHEAD for t in turns)

    async def _record_usage(self, reservation: Reservation, used: int, turn: _Turn) -> None:
        assert self.quotas is not None
        try:
            await self.quotas.settle(reservation, used)
        except Exception:  # the reply still ends; only its count is lost
            logger.exception(
                "recording AI usage failed",
                extra={"room_id": turn.room_id, "message_id": turn.message.id},
            )

    def _send_delta(self, turn: _Turn, text: str) -> None:
        turn.sent.append(text)
        delta = pb.MessageDelta(message_id=turn.message.id, text=text)
        self.hub.broadcast(turn.room_id, pb.SessionEvent(delta=delta))

    async def _finish(
        self,
        turn: _Turn,
        content: str,
        status: str,
        final: llm_pb2.GenerateFinal | None,
        error: str | None,
    ) -> None:
        async with self.hub.lock(turn.room_id):
            record = await self.repo.finish_message(
                turn.message.id,
                content=content,
                status=status,
                model=(final.model if final else None) or turn.persona.model,
                prompt_tokens=final.prompt_tokens if final else None,
                completion_tokens=final.completion_tokens if final else None,
                ttft_ms=final.time_to_first_token_ms if final else None,
                total_ms=final.total_ms if final else None,
                error=error,
            )
            self._turns.pop(turn.message.id, None)
            turn.final = message_pb(record)
            self.hub.broadcast(turn.room_id, pb.SessionEvent(message=turn.final))
        turn.done.set()
        logger.info(
            "reply finished",
            extra={"room_id": turn.room_id, "message_id": turn.message.id, "status": status},
        )

    async def _context_window(self, model_id: str) -> int:
        cached = self._windows.get(model_id)
        if cached and time.monotonic() - cached[0] < MODEL_INFO_TTL_S:
            return cached[1]
        reply = await self.llm.ListModels(llm_pb2.ListModelsRequest(), timeout=10)
        for info in reply.models:
            self._windows[info.id] = (time.monotonic(), info.context_window or 8192)
        return self._windows.get(model_id, (0.0, 8192))[1]

    async def _count_tokens(self, model_id: str, texts: list[str]) -> list[int]:
        reply = await self.llm.CountTokens(
            llm_pb2.CountTokensRequest(model_id=model_id, texts=texts), timeout=30
        )
        return list(reply.counts)

    # --- stopping ------------------------------------------------------------------

    def request_stop(self, room_id: str, message_id: str) -> bool:
        """Stop a streaming reply; False if it is not streaming in that room."""
        turn = self._turns.get(message_id)
        if turn is None or turn.room_id != room_id or turn.task is None:
            return False
        turn.stop_requested = True
        if not turn.finishing:
            turn.task.cancel()
        return True

    async def stop(self, room_id: str, message_id: str) -> pb.Message:
        """Stop a reply and return it once it is interrupted (or as it already ended)."""
        turn = self._turns.get(message_id)
        if self.request_stop(room_id, message_id) and turn is not None:
            await turn.done.wait()
        record = await self.repo.get_message(room_id, message_id)
        if record.author.kind != "ai":
            raise NotFound("Only AI replies can be stopped.")
        return message_pb(record)

    def streaming(self, room_id: str) -> list[pb.Message]:
        """Replies streaming in a room, with the text sent so far."""
        return [t.snapshot() for t in self._turns.values() if t.room_id == room_id]

    async def close(self) -> None:
        """Shutdown: every running reply ends as interrupted."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
