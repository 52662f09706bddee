"""One reply once its turn has come: context, quota, the streamed generation, the final state.

A reply is an ordinary message. It is stored "queued" (or "streaming" when a slot is free at
once) as soon as someone asks, so everyone sees it and gets its seq; then coalesced `delta`
events, then the message again in its final state. The database is written at the start,
every few seconds as a checkpoint, and at the end — never per token.

Every reply is checked against the daily token quotas first (quota.py): the asker's (the
account whose message mentioned the persona) and the room's. An autopilot turn has no asker,
so it counts against the room's quota only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import grpc

from services.common.errors import is_safe
from services.common.pb import llm_pb2
from services.common.pb import room_pb2 as pb
from services.common.pb.llm_pb2_grpc import LlmServiceStub
from services.room.orchestrator.coalesce import DeltaCoalescer
from services.room.orchestrator.context import PER_MESSAGE_OVERHEAD, Turn
from services.room.orchestrator.scheduler import Ticket
from services.room.orchestrator.summary import Summarizer
from services.room.quota import QuotaExceeded, Quotas, Reservation
from services.room.speech.speaker import Speaker
from services.room.store.records import AuthorRecord, PersonaRecord, RoomRecord
from services.room.timeline import Timeline

logger = logging.getLogger(__name__)

MODEL_INFO_TTL_S = 30.0
MAX_COUNTS = 50_000  # (model, text) token counts kept for MODEL_INFO_TTL_S
DEFAULT_WINDOW = 8192  # a model whose window nobody said
REPLY_FAILED = "The reply failed unexpectedly."


@dataclass(frozen=True)
class TurnLimits:
    """How replies are paced and bounded (the slots themselves: scheduler.SchedulerLimits)."""

    delta_interval_s: float = 0.05
    checkpoint_interval_s: float = 3.0
    context_messages: int = 500
    timeout_s: float = 600.0


@dataclass(eq=False)
class Reply:
    """A reply in flight: queued for a slot, then streaming."""

    room_id: str
    persona: PersonaRecord
    message: pb.Message
    asker_id: str  # the account whose message asked for this reply (its quota pays); "" = none
    ticket: Ticket | None = None
    sent: list[str] = field(default_factory=list)  # text already sent to the room as deltas
    task: asyncio.Task[None] | None = None
    running: bool = False  # its task has begun: one cancelled before that runs none of its code
    stop_requested: bool = False
    finishing: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)
    final: pb.Message | None = None
    room: RoomRecord | None = None  # the room when it was queued, if it starts without waiting

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


class ModelInfo:
    """Context windows (cached briefly) and token counts, from the LLM node.

    CountTokens answers with the model's window too, so the count a reply makes before Generate
    is its only preparatory call, and asks only for texts not counted moments ago; ListModels is
    asked only when no count has said (an older node, or a model the node does not have)."""

    def __init__(self, llm: LlmServiceStub) -> None:
        self.llm = llm
        self._windows: dict[str, tuple[float, int]] = {}
        self._counts: OrderedDict[tuple[str, str], tuple[float, int]] = OrderedDict()

    async def window(self, model_id: str) -> int:
        if (known := self.known_window(model_id)) is not None:
            return known
        reply = await self.llm.ListModels(llm_pb2.ListModelsRequest(), timeout=10)
        for info in reply.models:
            self._windows[info.id] = (time.monotonic(), info.context_window or DEFAULT_WINDOW)
        return self._windows.get(model_id, (0.0, DEFAULT_WINDOW))[1]

    def known_window(self, model_id: str) -> int | None:
        """The model's window if one was learnt in the last MODEL_INFO_TTL_S, else None."""
        cached = self._windows.get(model_id)
        if cached and time.monotonic() - cached[0] < MODEL_INFO_TTL_S:
            return cached[1]
        return None

    async def count(self, model_id: str, texts: list[str]) -> list[int]:
        """Token counts of `texts`; those counted in the last MODEL_INFO_TTL_S are not asked
        again (a room's context is mostly the messages the previous reply counted)."""
        now = time.monotonic()
        known: dict[str, int] = {}
        window = self._windows.get(model_id)
        # With the window due again, count everything: the call refreshes both.
        for text in texts if window and now - window[0] < MODEL_INFO_TTL_S else ():
            cached = self._counts.get((model_id, text))
            if cached is not None and now - cached[0] < MODEL_INFO_TTL_S:
                known[text] = cached[1]
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            reply = await self.llm.CountTokens(
                llm_pb2.CountTokensRequest(model_id=model_id, texts=missing), timeout=30
            )
            if reply.context_window:
                self._windows[model_id] = (time.monotonic(), reply.context_window)
            for text, count in zip(missing, reply.counts, strict=True):
                known[text] = count
                self._counts[(model_id, text)] = (now, count)
                self._counts.move_to_end((model_id, text))
            while len(self._counts) > MAX_COUNTS:
                self._counts.popitem(last=False)
        return [known[text] for text in texts]


class ReplyWriter:
    """Generates a started reply into the room and stores how it ended."""

    def __init__(
        self,
        timeline: Timeline,
        llm: LlmServiceStub,
        limits: TurnLimits,
        summarizer: Summarizer,
        models: ModelInfo,
        quotas: Quotas | None,
        speaker: Speaker | None = None,
    ) -> None:
        self.timeline = timeline
        self.speaker = speaker  # None: replies are not spoken
        self.repo = timeline.repo
        self.llm = llm
        self.limits = limits
        self.summarizer = summarizer
        self.models = models
        self.quotas = quotas
        self.replies: dict[str, Reply] = {}  # message id -> reply queued or streaming

    async def generate(self, reply: Reply, room: RoomRecord) -> None:
        """Stream the reply's generation to the room, then store and announce its end."""
        persona, message = reply.persona, reply.message
        coalescer = DeltaCoalescer(
            lambda text: self._send_delta(reply, text), self.limits.delta_interval_s
        )
        final: llm_pb2.GenerateFinal | None = None
        status, error = "complete", None
        call = None
        shutting_down = False
        received: list[str] = []
        reservation: Reservation | None = None
        prompt_estimate: int | None = None  # counted before Generate only where a quota needs it
        turns: list[Turn] = []
        counted: dict[str, int] = {}  # token counts the context was built with, by text
        # A persona with a voice speaks each sentence as soon as it is complete.
        speech = self.speaker.start(reply.room_id, message, persona) if self.speaker else None
        try:
            transcript = await self.timeline.recent_messages(
                reply.room_id, upto_seq=message.seq - 1, limit=self.limits.context_messages
            )

            async def count_tokens(model_id: str, texts: list[str]) -> list[int]:
                counts = await self.models.count(model_id, texts)
                counted.update(zip(texts, counts, strict=True))
                return counts

            turns = await self.summarizer.context(
                persona, room, transcript, count=count_tokens, counted=counted
            )
            if self.quotas is not None:
                if self.quotas.limits_any(reply.asker_id, reply.room_id):
                    prompt_estimate = await self._prompt_estimate(persona.model, turns, counted)
                reservation = await self.quotas.reserve(
                    reply.asker_id, reply.room_id, (prompt_estimate or 0) + persona.max_tokens
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
                    # The node merges tokens into the deltas we will send: one gRPC message per
                    # frame members see, not one per token, on both sides.
                    delta_interval_ms=round(self.limits.delta_interval_s * 1000),
                ),
                timeout=self.limits.timeout_s,
            )
            last_checkpoint = time.monotonic()
            async for chunk in call:
                if chunk.HasField("delta"):
                    received.append(chunk.delta.text)
                    coalescer.add(chunk.delta.text)
                    if speech is not None:
                        speech.feed(chunk.delta.text)
                    if time.monotonic() - last_checkpoint >= self.limits.checkpoint_interval_s:
                        text = "".join(received)
                        await self.timeline.checkpoint(reply.room_id, message.id, text)
                        last_checkpoint = time.monotonic()
                elif chunk.HasField("final"):
                    final = chunk.final
        except asyncio.CancelledError:
            status = "interrupted"
            shutting_down = not reply.stop_requested
        except grpc.aio.AioRpcError as exc:
            status, error = "error", failure_reason(exc)
        except QuotaExceeded as exc:
            status, error = "error", exc.message
        except Exception:
            logger.exception(
                "reply failed", extra={"room_id": reply.room_id, "message_id": message.id}
            )
            status, error = "error", REPLY_FAILED
        finally:
            if call is not None:
                call.cancel()  # Stop reaches the LLM node, which aborts the backend
            coalescer.flush()
        # Shielded: the final state is stored and announced even if we are being cancelled again.
        reply.finishing = True
        if speech is not None and status == "interrupted":
            await asyncio.shield(speech.silence())  # nothing is heard after "interrupted"
        if reservation is not None:
            # Recorded before the reply shows as finished, so what follows it sees the usage.
            await asyncio.shield(
                self._record_usage(
                    reservation, reply, final, received, (turns, counted), prompt_estimate
                )
            )
        try:
            await asyncio.shield(self.finish(reply, "".join(received), status, final, error))
        finally:
            if speech is not None:
                speech.end(flush=status != "interrupted")
        if shutting_down:
            raise asyncio.CancelledError

    async def finish(
        self,
        reply: Reply,
        content: str,
        status: str,
        final: llm_pb2.GenerateFinal | None = None,
        error: str | None = None,
    ) -> None:
        """Store a reply's final state and tell the room."""
        async with self.timeline.hold(reply.room_id) as held:
            reply.final = await held.finish_reply(
                reply.message.id,
                content=content,
                status=status,
                model=(final.model if final else None) or reply.persona.model,
                prompt_tokens=final.prompt_tokens if final else None,
                completion_tokens=final.completion_tokens if final else None,
                ttft_ms=final.time_to_first_token_ms if final else None,
                total_ms=final.total_ms if final else None,
                error=error,
            )
            self.replies.pop(reply.message.id, None)
        reply.done.set()
        logger.info(
            "reply finished",
            extra={"room_id": reply.room_id, "message_id": reply.message.id, "status": status},
        )

    async def _prompt_estimate(
        self, model_id: str, turns: list[Turn], counted: dict[str, int]
    ) -> int:
        """Tokens of a context, from the counts made while building it (the rest counted now)."""
        missing = list({t.content for t in turns if t.content not in counted})
        if missing:
            counted.update(zip(missing, await self.models.count(model_id, missing), strict=True))
        return sum(counted[t.content] + PER_MESSAGE_OVERHEAD for t in turns)

    async def _late_estimate(self, reply: Reply, turns: list[Turn], counted: dict[str, int]) -> int:
        """A reply cut short with no quota to check before it: its prompt, counted only now
        (0 when the node cannot count it: the completion is still recorded)."""
        try:
            return await self._prompt_estimate(reply.persona.model, turns, counted)
        except grpc.aio.AioRpcError as exc:
            logger.warning(
                "prompt of a cut-short reply not counted",
                extra={"message_id": reply.message.id, "grpc_code": exc.code().name},
            )
            return 0

    async def _record_usage(
        self,
        reservation: Reservation,
        reply: Reply,
        final: llm_pb2.GenerateFinal | None,
        received: list[str],
        context: tuple[list[Turn], dict[str, int]],
        prompt_estimate: int | None,
    ) -> None:
        assert self.quotas is not None
        try:
            if final is None and received and prompt_estimate is None:
                prompt_estimate = await self._late_estimate(reply, *context)
            used = _tokens_used(final, prompt_estimate or 0, received)
            await self.quotas.settle(reservation, used)
        except Exception:  # the reply still ends; only its count is lost
            logger.exception(
                "recording AI usage failed",
                extra={"room_id": reply.room_id, "message_id": reply.message.id},
            )

    def _send_delta(self, reply: Reply, text: str) -> None:
        reply.sent.append(text)
        delta = pb.MessageDelta(message_id=reply.message.id, text=text)
        self.timeline.publish(reply.room_id, pb.SessionEvent(delta=delta))
