"""The rolling room summary, and `/summary`.

When a persona's context cannot hold the whole transcript, the messages it drops are folded into
the room's summary by the summarizer model, which gets the summary so far and only the messages
not yet in it, never the whole transcript. A fold keeps some slack (`keep_ratio`), so it happens
now and then rather than on every turn. Contexts that drop messages carry the summary in the
system prompt, ahead of the recent messages.

The summarizer's tokens count against the daily quotas (quota.py): a `/summary` or SummaryPost
against the asking account's and the room's, a fold (no one asked for it) the room's only.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from uuid import uuid4

import grpc

from services.common.errors import (
    ChimeraError,
    FailedPrecondition,
    NotFound,
    Unavailable,
    is_safe,
)
from services.common.pb import llm_pb2
from services.common.pb import room_pb2 as pb
from services.common.pb.llm_pb2_grpc import LlmServiceStub
from services.room.orchestrator.context import (
    PER_MESSAGE_OVERHEAD,
    Turn,
    as_turn,
    first_fitting,
    fits_uncounted,
    system_prompt,
)
from services.room.orchestrator.system import SUMMARY, post_system_message
from services.room.quota import Quotas, Reservation
from services.room.store.records import MessageRecord, PersonaRecord, RoomRecord, SummaryRecord
from services.room.timeline import Timeline

logger = logging.getLogger(__name__)

COMMAND = "/summary"
FOLD_PROMPT = (
    "You keep the running summary of a group chat between people and AI personas. You get the "
    "summary so far and the messages that came after it. Reply with the updated summary only: "
    "the summary so far, extended with what the new messages add. Keep who said what, "
    "decisions, open questions and action items; drop small talk. Be brief."
)
REPORT_PROMPT = (
    "Summarize this group chat for someone who missed it. Reply in Markdown with three short "
    "sections: **Summary**, **Decisions** and **Action items** (with owners where known). "
    "Write 'None.' under a section with nothing in it."
)
SUMMARY_HEADING = "Summary of the earlier conversation in this room (those messages are not shown):"
NOTHING_YET = "Nothing to summarize yet."

Window = Callable[[str], Awaitable[int]]
Count = Callable[[str, list[str]], Awaitable[list[int]]]


@dataclass(frozen=True)
class SummaryConfig:
    """Which model summarizes, and how much."""

    model: str = ""  # default summarizer; "" = the model of the room's first persona
    max_tokens: int = 400  # longest rolling summary
    report_max_tokens: int = 800  # longest `/summary`
    keep_ratio: float = 0.5  # after a fold, recent messages fill at most this share of the budget
    timeout_s: float = 120.0
    context_messages: int = 500  # newest messages a `/summary` reads


def is_command(content: str) -> bool:
    """Whether a message is the `/summary` command."""
    return content.strip() == COMMAND


def line(message: MessageRecord) -> str:
    """A message as one line of a transcript for the summarizer."""
    return f"{message.author.name}: {message.content}"


def fold_prompt(previous: str, messages: Sequence[MessageRecord]) -> list[Turn]:
    """What the summarizer is asked to fold `messages` into `previous` (the summary so far)."""
    body = "\n".join(line(m) for m in messages)
    user = f"Summary so far:\n{previous or '(none yet)'}\n\nNew messages:\n{body}"
    return [Turn("system", FOLD_PROMPT), Turn("user", user)]


def summary_block(summary: SummaryRecord) -> str:
    """The summary as it appears at the end of a persona's system prompt."""
    return f"{SUMMARY_HEADING}\n{summary.text}"


class Summarizer:
    """Folds dropped messages into the room summary, builds contexts with it, answers `/summary`."""

    def __init__(
        self,
        timeline: Timeline,
        llm: LlmServiceStub,
        config: SummaryConfig,
        *,
        window: Window,
        count: Count,
        known_window: Callable[[str], int | None] = lambda model_id: None,
        quotas: Quotas | None = None,
    ) -> None:
        self.timeline = timeline
        self.repo = timeline.repo
        self.store = timeline.repo.autopilot
        self.llm = llm
        self.config = config
        self.window = window
        self.count = count
        self.known_window = known_window  # a window known without asking the node, or None
        self.quotas = quotas
        self._folding: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def model_for(self, room: RoomRecord) -> str:
        """The room's summarizer model; FailedPrecondition when there is none."""
        model = room.autopilot.summary_model or self.config.model
        if not model and room.personas:
            model = room.personas[0].model
        if not model:
            raise FailedPrecondition(
                "No summarizer model: add a persona, or set the room's summary_model."
            )
        return model

    # --- contexts ------------------------------------------------------------------------

    async def context(
        self,
        persona: PersonaRecord,
        room: RoomRecord,
        transcript: Sequence[MessageRecord],
        *,
        count: Count | None = None,
        counted: dict[str, int] | None = None,
    ) -> list[Turn]:
        """The persona's system prompt, then the newest messages that fit its window; if any drop,
        the room summary (extended with them first) joins the system prompt. `count` replaces the
        token counter for the persona's texts; `counted` learns what a turn made of counted
        parts costs (the system prompt with the summary), so nobody counts it again."""
        count = count or self.count
        shown = [m for m in transcript if m.content.strip() and not is_command(m.content)]
        turns = [as_turn(m, persona) for m in shown]
        base = system_prompt(persona, room.name)
        older = bool(transcript) and transcript[0].seq > 1  # beyond what was read
        known = self.known_window(persona.model)
        # A short room goes to the model whole, which needs no count (and no call) to tell.
        if not older and known and fits_uncounted(base, turns, known - persona.max_tokens):
            return [Turn("system", base), *turns]
        summary = room.summary
        counts = await count(
            persona.model,
            [base, summary_block(summary) if summary else "", *(t.content for t in turns)],
        )
        window = await self.window(persona.model)
        budget = window - persona.max_tokens - counts[0] - PER_MESSAGE_OVERHEAD
        costs = [c + PER_MESSAGE_OVERHEAD for c in counts[2:]]
        first = first_fitting(costs, budget)
        if first == 0 and not older:
            return [Turn("system", base), *turns]
        reserve = max(counts[1] if summary else 0, self.config.max_tokens) + PER_MESSAGE_OVERHEAD
        first = first_fitting(costs, budget - reserve)
        folded_upto = summary.upto_seq if summary else 0
        if any(m.seq > folded_upto for m in shown[:first]):
            keep = max(
                first, first_fitting(costs, int((budget - reserve) * self.config.keep_ratio))
            )
            summary = await self._fold(room, shown[:keep]) or summary
        if summary is None:
            return [Turn("system", base), *turns[first:]]
        block = summary_block(summary)
        cost = counts[1] if summary is room.summary else (await count(persona.model, [block]))[0]
        first = first_fitting(costs, budget - cost - PER_MESSAGE_OVERHEAD)
        system = f"{base}\n\n{block}"
        if counted is not None:
            counted[system] = counts[0] + cost
        return [Turn("system", system), *turns[first:]]

    async def _fold(self, room: RoomRecord, dropped: list[MessageRecord]) -> SummaryRecord | None:
        """Fold the messages of `dropped` not yet in the room summary into it; the new summary."""
        async with self._folding[room.id]:
            stored = (await self.repo.get_room(room.id)).summary  # another turn may have folded
            text = stored.text if stored else ""
            upto = stored.upto_seq if stored else 0
            fresh = [m for m in dropped if m.seq > upto]
            if not fresh:
                return stored
            try:
                model = self.model_for(room)
                for chunk in await self._chunks(model, text, fresh):
                    text = await self._complete(
                        model, fold_prompt(text, chunk), self.config.max_tokens, room_id=room.id
                    )
            except ChimeraError as exc:
                logger.warning(
                    "summary fold failed", extra={"room_id": room.id, "reason": exc.message}
                )
                return stored
            if not text:
                return stored
            async with self.timeline.hold(room.id) as held:
                await self.store.save_summary(room.id, text, fresh[-1].seq)
                await held.publish_room()
            logger.info("summary extended", extra={"room_id": room.id, "upto_seq": fresh[-1].seq})
            return (await self.repo.get_room(room.id)).summary

    async def _chunks(
        self, model: str, previous: str, messages: list[MessageRecord]
    ) -> list[list[MessageRecord]]:
        """`messages` split so that each fold fits the summarizer's window (oldest first)."""
        counts = await self.count(model, [FOLD_PROMPT, *(line(m) for m in messages)])
        room_left = (
            await self.window(model)
            - self.config.max_tokens  # for the summary it writes
            - self.config.max_tokens  # for the summary it reads
            - counts[0]
            - 3 * PER_MESSAGE_OVERHEAD
        )
        chunks: list[list[MessageRecord]] = [[]]
        used = 0
        for message, cost in zip(messages, counts[1:], strict=True):
            if chunks[-1] and used + cost + 1 > room_left:
                chunks.append([])
                used = 0
            chunks[-1].append(message)
            used += cost + 1
        return chunks

    # --- /summary ------------------------------------------------------------------------

    async def report(
        self, room_id: str, *, reply_to: str | None = None, asker_id: str = ""
    ) -> pb.Message:
        """Summarize the room (decisions, action items) and post it as a system message;
        `asker_id`: the account whose quota pays, with the room's."""
        room = await self.repo.get_room(room_id)
        upto = room.summary.upto_seq if room.summary else 0
        transcript = await self.repo.recent_messages(
            room_id, upto_seq=room.last_seq, limit=self.config.context_messages
        )
        shown = [
            m
            for m in transcript
            if m.seq > upto
            and m.author.kind != "system"
            and m.content.strip()
            and not is_command(m.content)
        ]
        if not shown and room.summary is None:
            return await post_system_message(
                self.timeline, room_id, SUMMARY, NOTHING_YET, reply_to=reply_to
            )
        model = self.model_for(room)
        earlier = (
            f"Summary of the earlier conversation:\n{room.summary.text}\n\n" if room.summary else ""
        )
        lines = [line(m) for m in shown]
        counts = await self.count(model, [REPORT_PROMPT, earlier, *lines])
        budget = (
            await self.window(model)
            - self.config.report_max_tokens
            - counts[0]
            - counts[1]
            - 2 * PER_MESSAGE_OVERHEAD
        )
        first = first_fitting([c + 1 for c in counts[2:]], budget)
        user = earlier + "Messages:\n" + "\n".join(lines[first:])
        text = await self._complete(
            model,
            [Turn("system", REPORT_PROMPT), Turn("user", user)],
            self.config.report_max_tokens,
            room_id=room_id,
            asker_id=asker_id,
        )
        if not text:
            raise Unavailable("The summarizer model returned no text.")
        return await post_system_message(self.timeline, room_id, SUMMARY, text, reply_to=reply_to)

    async def post(
        self, room_id: str, *, reply_to: str | None = None, asker_id: str = ""
    ) -> pb.Message:
        """Post the room's summary, or a system message saying why there is none."""
        try:
            return await self.report(room_id, reply_to=reply_to, asker_id=asker_id)
        except NotFound:
            raise
        except ChimeraError as exc:
            reason = exc.message
        except Exception:
            logger.exception("summary failed", extra={"room_id": room_id})
            reason = "it failed unexpectedly."
        return await post_system_message(
            self.timeline, room_id, SUMMARY, f"No summary: {reason}", reply_to=reply_to
        )

    async def answer_command(self, message: pb.Message) -> None:
        """A member sent `/summary`: the summary (or why not) answers it."""
        await self.post(message.room_id, reply_to=message.id, asker_id=message.author.id)

    # --- the model -----------------------------------------------------------------------

    async def _complete(
        self, model: str, turns: list[Turn], max_tokens: int, *, room_id: str, asker_id: str = ""
    ) -> str:
        """The summarizer's whole answer; Unavailable with a readable reason when it fails,
        QuotaExceeded when it would pass a daily token quota."""
        if self.quotas is None:
            return await self._generate(model, turns, max_tokens)
        counts = await self.count(model, [t.content for t in turns])
        estimate = sum(counts) + PER_MESSAGE_OVERHEAD * len(turns)
        reservation = await self.quotas.reserve(asker_id, room_id, estimate + max_tokens)
        used: list[int] = []
        try:
            return await self._generate(model, turns, max_tokens, used)
        finally:
            await asyncio.shield(self._record_usage(reservation, sum(used)))

    async def _record_usage(self, reservation: Reservation, used: int) -> None:
        assert self.quotas is not None
        try:
            await self.quotas.settle(reservation, used)
        except Exception:  # the summary still counts; only its usage is lost
            logger.exception("recording AI usage failed", extra={"room_id": reservation.room_id})

    async def _generate(
        self, model: str, turns: list[Turn], max_tokens: int, used: list[int] | None = None
    ) -> str:
        """Generate with the summarizer model; its final usage lands in `used`."""
        call = self.llm.Generate(
            llm_pb2.GenerateRequest(
                request_id=f"summary-{uuid4()}",
                model_id=model,
                messages=[llm_pb2.ChatMessage(role=t.role, content=t.content) for t in turns],
                temperature=0.2,
                max_tokens=max_tokens,
            ),
            timeout=self.config.timeout_s,
        )
        parts: list[str] = []
        try:
            async for chunk in call:
                if chunk.HasField("delta"):
                    parts.append(chunk.delta.text)
                elif chunk.HasField("final") and used is not None:
                    used.append(chunk.final.prompt_tokens + chunk.final.completion_tokens)
        except grpc.aio.AioRpcError as exc:
            detail = exc.details() if is_safe(exc) and exc.details() else "it failed to answer"
            raise Unavailable(f"The summarizer model ({model}): {detail}") from None
        finally:
            call.cancel()
        return "".join(parts).strip()
