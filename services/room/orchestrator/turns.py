"""AI turns: a mention queues a persona's reply that every member sees at once; the fair
scheduler (scheduler.py) starts it; it streams to the room (reply.py); anyone can stop it.

A mention is admitted before its message is stored: past an account's bound on waiting
replies the post is refused (`AiQueueFull`) and nothing is stored. Each admitted mention is
stored as a "queued" reply right after the message, with its place in the room's line
(`queue_position`, re-announced as it moves), and becomes "streaming" when a slot is free.
Queued replies are rows like any other, so a restart resumes them (`resume`); one cut off
mid-stream is marked interrupted with the reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from services.common.errors import NotFound
from services.common.pb import room_pb2 as pb
from services.common.pb.llm_pb2_grpc import LlmServiceStub
from services.room.convert import message_pb
from services.room.events import HumanMessagePosted, RoomWorkSettled
from services.room.orchestrator.mentions import mentioned
from services.room.orchestrator.reply import (
    REPLY_FAILED,
    ModelInfo,
    Reply,
    ReplyWriter,
    TurnLimits,
    persona_author,
)
from services.room.orchestrator.scheduler import FairScheduler, SchedulerLimits, Ticket
from services.room.orchestrator.summary import Summarizer, SummaryConfig, is_command
from services.room.quota import Quotas
from services.room.speech.speaker import Speaker
from services.room.store.records import MessageRecord, PersonaRecord, RoomRecord
from services.room.timeline import Answers, QueuedReply, Timeline

__all__ = ["Admission", "Orchestrator", "TurnLimits", "persona_author"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
PERSONA_GONE = "@{handle} left the room before its turn came."


@dataclass(eq=False)
class Admission:
    """Places held for one post's mentions until its replies are queued (or it is not stored)."""

    account_id: str
    handles: tuple[str, ...]
    scheduler: FairScheduler | None = None
    held: bool = field(default=True)
    room: RoomRecord | None = None  # as read to find the handles: the replies reuse it

    def release(self) -> None:
        if self.held and self.scheduler is not None:
            self.scheduler.unreserve(self.account_id, len(self.handles))
        self.held = False


@dataclass(frozen=True)
class _Planned:
    persona: PersonaRecord
    ticket: Ticket
    reply: QueuedReply


class _MentionReplies:
    """One post's replies: places in line taken in the hold, the replies tracked once stored."""

    def __init__(self, orchestrator: Orchestrator, admission: Admission, asker_id: str) -> None:
        self.orchestrator = orchestrator
        self.admission = admission
        self.asker_id = asker_id
        self.planned: list[_Planned] = []

    def plan(self) -> list[QueuedReply]:
        # The room as admit read it, just before this hold: only the lock's holder changes it.
        room = self.admission.room
        assert room is not None  # admit read it to find the handles
        personas = {p.handle: p for p in room.personas}
        for handle in self.admission.handles:
            if (persona := personas.get(handle)) is not None:
                self.planned.append(self.orchestrator._enqueue(room, persona, self.asker_id))
        return [planned.reply for planned in self.planned]

    def stored(self, replies: list[pb.Message]) -> None:
        room = self.admission.room
        assert room is not None
        for planned, message in zip(self.planned, replies, strict=True):
            # A reply that starts at once goes on with this room; one that waits reads it again.
            started_with = room if planned.reply.status == "streaming" else None
            self.orchestrator._track(
                Reply(
                    room.id,
                    planned.persona,
                    message,
                    self.asker_id,
                    planned.ticket,
                    room=started_with,
                )
            )
        self._done()

    def abandon(self) -> None:
        for planned in self.planned:
            self.orchestrator.scheduler.release(planned.ticket)
        self._done()

    def _done(self) -> None:
        self.planned = []
        self.admission.release()
        self.orchestrator._announce()


class Orchestrator:
    """Queues, starts, streams, stops and finishes persona replies."""

    def __init__(
        self,
        timeline: Timeline,
        llm: LlmServiceStub,
        limits: TurnLimits,
        quotas: Quotas | None = None,
        summary: SummaryConfig | None = None,
        slots: SchedulerLimits | None = None,
        speaker: Speaker | None = None,
    ) -> None:
        self.timeline = timeline
        self.repo = timeline.repo
        self.models = ModelInfo(llm)
        self.summarizer = Summarizer(
            timeline,
            llm,
            summary or SummaryConfig(),
            window=self.models.window,
            count=self.models.count,
            known_window=self.models.known_window,
            quotas=quotas,
        )
        self.writer = ReplyWriter(
            timeline, llm, limits, self.summarizer, self.models, quotas, speaker
        )
        self.scheduler = FairScheduler(slots or SchedulerLimits())
        self._waiting: dict[Ticket, Reply] = {}  # announced queued replies, by ticket
        self._tasks: set[asyncio.Task[Any]] = set()
        self._busy: Counter[str] = Counter()  # room -> its replies and summaries, queued or running

    # --- asking for replies --------------------------------------------------------

    async def admit(self, room_id: str, account_id: str, content: str) -> Admission:
        """Hold places for the replies a post will ask for; AiQueueFull past the account's bound."""
        if "@" not in content or is_command(content):
            return Admission(account_id, ())
        room = await self.repo.get_room(room_id)
        handles = tuple(mentioned(content, [p.handle for p in room.personas]))
        self.scheduler.reserve(account_id, len(handles))  # no await since the count: exact
        return Admission(account_id, handles, self.scheduler, room=room)

    def answers(self, admission: Admission, asker_id: str) -> Answers | None:
        """The replies a post `admit` let through asks for, stored in the post's own commit."""
        return _MentionReplies(self, admission, asker_id) if admission.handles else None

    def on_human_message(self, event: HumanMessagePosted) -> None:
        """A human message was committed: `/summary` asks the summarizer."""
        message = event.message
        if is_command(message.content):
            self.spawn(message.room_id, self.summarizer.answer_command(message))

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
            self.timeline.emit(RoomWorkSettled(room_id))

    def busy(self, room_id: str) -> bool:
        """Whether replies or a summary are queued or running in the room."""
        return self._busy[room_id] > 0

    def _enqueue(self, room: RoomRecord, persona: PersonaRecord, asker_id: str) -> _Planned:
        """Take a place in line for one reply; it streams at once if a slot is free."""
        ticket = self.scheduler.enqueue(room.id, persona.handle, asker_id or room.created_by)
        status = "streaming" if ticket.started.is_set() else "queued"
        position = self.scheduler.positions().get(ticket, 0)
        return _Planned(persona, ticket, QueuedReply(persona_author(persona), status, position))

    def _track(self, reply: Reply) -> None:
        self.writer.replies[reply.message.id] = reply
        assert reply.ticket is not None
        if reply.message.status == pb.MESSAGE_STATUS_QUEUED:
            self._waiting[reply.ticket] = reply
        reply.task = self.spawn(reply.room_id, self._run(reply))

    async def resume(self) -> int:
        """Startup: queue again every reply the last run left waiting; how many."""
        waiting = await self.repo.queued_replies()
        rooms: dict[str, RoomRecord] = {}
        for record in waiting:
            if record.room_id not in rooms:
                rooms[record.room_id] = await self.repo.get_room(record.room_id)
            room = rooms[record.room_id]
            asker = await self._asker(record)
            persona = next((p for p in room.personas if p.handle == record.author.handle), None)
            if persona is None:  # gone since: its turn will say so
                handle = record.author.handle or ""
                persona = PersonaRecord(handle, record.author.name, "", "", 0.0, 0)
            ticket = self.scheduler.enqueue(room.id, persona.handle, asker or room.created_by)
            self._track(Reply(room.id, persona, message_pb(record), asker, ticket))
        self._announce()
        return len(waiting)

    async def _asker(self, record: MessageRecord) -> str:
        """Who asked for a stored reply: the human author of the message it answers."""
        if not record.reply_to:
            return ""
        try:
            trigger = await self.repo.get_message(record.room_id, record.reply_to)
        except NotFound:
            return ""
        return trigger.author.id if trigger.author.kind == "human" else ""

    # --- a queued reply's turn -----------------------------------------------------

    async def _run(self, reply: Reply) -> None:
        assert reply.ticket is not None
        reply.running = True
        try:
            if reply.stop_requested:  # stopped before this task first ran
                raise asyncio.CancelledError
            await reply.ticket.started.wait()
            self._waiting.pop(reply.ticket, None)
            self._announce()  # the rest of the line moved up
            room = reply.room or await self.repo.get_room(reply.room_id)
            reply.room = None  # a resumed or requeued turn reads the room as it is then
            persona = next((p for p in room.personas if p.handle == reply.persona.handle), None)
            if persona is None:
                error = PERSONA_GONE.format(handle=reply.persona.handle)
                reply.finishing = True  # a stop now must not cut the write short
                await asyncio.shield(self.writer.finish(reply, "", "error", error=error))
                return
            reply.persona = persona
            if reply.message.status == pb.MESSAGE_STATUS_QUEUED:
                async with self.timeline.hold(reply.room_id) as held:
                    started = await held.start_queued_reply(reply.message.id)
                if started is None:
                    return  # finished meanwhile (stopped by another room service)
                reply.message = started
            await self.writer.generate(reply, room)
        except asyncio.CancelledError:
            if not reply.stop_requested or reply.finishing:
                raise  # shutting down: a queued reply stays queued and is resumed
            reply.finishing = True  # a second stop must not cut the write short
            await asyncio.shield(self.writer.finish(reply, "".join(reply.sent), "interrupted"))
        except Exception:
            logger.exception(
                "reply crashed", extra={"room_id": reply.room_id, "message_id": reply.message.id}
            )
            if not reply.finishing:  # failed before its end was written: members see it end
                reply.finishing = True
                await asyncio.shield(self._end_crashed(reply))
        finally:
            self._waiting.pop(reply.ticket, None)
            self.writer.replies.pop(reply.message.id, None)
            self.scheduler.release(reply.ticket)
            self._announce()
            reply.done.set()

    async def _end_crashed(self, reply: Reply) -> None:
        try:
            await self.writer.finish(reply, "".join(reply.sent), "error", error=REPLY_FAILED)
        except Exception:  # the store itself is failing: the next start marks it interrupted
            logger.exception(
                "ending a crashed reply failed",
                extra={"room_id": reply.room_id, "message_id": reply.message.id},
            )

    def _announce(self) -> None:
        """Tell each room where its queued replies now stand in line (only those that moved)."""
        for ticket, position in self.scheduler.positions().items():
            reply = self._waiting.get(ticket)
            if reply is None or reply.message.queue_position == position:
                continue
            reply.message.queue_position = position
            self.timeline.publish(reply.room_id, pb.SessionEvent(message=reply.message))

    # --- autopilot -----------------------------------------------------------------

    async def take_turn(
        self, room_id: str, handle: str, trigger_id: str | None, *, if_last_seq: int
    ) -> pb.Message | None:
        """An autopilot turn: the persona's reply in its final state; None if it did not start
        because the persona is gone or a message came after `if_last_seq`.

        It waits in the fair line as the room owner's (shown once it starts, since it only
        starts if nobody spoke meanwhile); no person asked, so only the room's quota pays."""
        room = await self.repo.get_room(room_id)
        task = self.spawn(room_id, self._autopilot_turn(room, handle, trigger_id, if_last_seq))
        return await asyncio.shield(task)  # Stop on the reply must not cancel the autopilot

    async def _autopilot_turn(
        self, room: RoomRecord, handle: str, trigger_id: str | None, if_last_seq: int
    ) -> pb.Message | None:
        ticket = self.scheduler.enqueue(room.id, handle, room.created_by)
        try:
            await ticket.started.wait()
            self._announce()
            room = await self.repo.get_room(room.id)
            persona = next((p for p in room.personas if p.handle == handle), None)
            if persona is None:
                return None
            async with self.timeline.hold(room.id) as held:
                if (await self.repo.get_room(room.id)).last_seq != if_last_seq:
                    return None  # someone spoke meanwhile: the caller decides again
                message = await held.start_reply(persona_author(persona), reply_to=trigger_id)
                reply = Reply(room.id, persona, message, "", ticket)
                reply.task, reply.running = asyncio.current_task(), True
                self.writer.replies[message.id] = reply
            try:
                await self.writer.generate(reply, room)
            except Exception:
                logger.exception(
                    "reply crashed", extra={"room_id": room.id, "message_id": message.id}
                )
            finally:
                self.writer.replies.pop(message.id, None)
                reply.done.set()
            return reply.final
        finally:
            self.scheduler.release(ticket)
            self._announce()

    # --- stopping ------------------------------------------------------------------

    def request_stop(self, room_id: str, message_id: str) -> bool:
        """Stop a queued or streaming reply; False if there is none in that room."""
        reply = self.writer.replies.get(message_id)
        if reply is None or reply.room_id != room_id or reply.task is None:
            return False
        reply.stop_requested = True
        if reply.running and not reply.finishing:
            reply.task.cancel()  # one that has not run yet sees `stop_requested` when it does
        return True

    async def stop(self, room_id: str, message_id: str) -> pb.Message:
        """Stop a reply and return it once it is interrupted (or as it already ended)."""
        reply = self.writer.replies.get(message_id)
        if self.request_stop(room_id, message_id) and reply is not None:
            await reply.done.wait()
        record = await self.repo.get_message(room_id, message_id)
        if record.author.kind != "ai":
            raise NotFound("Only AI replies can be stopped.")
        return message_pb(record)

    def streaming(self, room_id: str) -> list[pb.Message]:
        """Replies queued or streaming in a room, with the text sent so far."""
        return [r.snapshot() for r in self.writer.replies.values() if r.room_id == room_id]

    def speaking(self, room_id: str) -> list[pb.SpeechEvent]:
        """Speech so far of the room's replies still being spoken (none without a speaker)."""
        speaker = self.writer.speaker
        return speaker.speaking(room_id) if speaker is not None else []

    async def close(self) -> None:
        """Shutdown: streaming replies end as interrupted; queued ones stay queued for the next."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
