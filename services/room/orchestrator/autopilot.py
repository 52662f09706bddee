"""Autopilot: a room's personas take turns on their own while people watch and step in.

Exactly one loop runs per room whose autopilot is on: started when a member switches it on, and
again for every such room when the room service starts. Each pass decides from the room as it is:

1. stop, and post why, when a limit is reached: `max_turns` autopilot turns without a human
   message, the run's token budget, or nobody online for `idle_timeout_s`;
2. hold while someone types, and wait while replies to a human (or a summary) are under way;
3. pick the next speaker (selector.py), show it thinking for a delay scaled to the message it
   answers, then let it reply through the orchestrator. If anything changes meanwhile (someone
   types or speaks, a setting changes), it decides again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any

from services.common.pb import room_pb2 as pb
from services.room.catalog import ModelCatalog
from services.room.convert import room_pb
from services.room.events import (
    HumanMessagePosted,
    PresenceChanged,
    RoomChanged,
    RoomWorkSettled,
)
from services.room.orchestrator.autopilot_settings import (
    AutopilotConfig,
    pacing_delay,
    stop_message,
    validate_patch,
)
from services.room.orchestrator.selector import next_speaker
from services.room.orchestrator.summary import is_command
from services.room.orchestrator.system import AUTOPILOT, post_system_message
from services.room.orchestrator.turns import Orchestrator
from services.room.store.records import MessageRecord, RoomRecord
from services.room.timeline import Timeline

logger = logging.getLogger(__name__)

RECENT = 50  # newest messages read to find the one to answer and who spoke last


@dataclass(eq=False)
class _Loop:
    """One room's running autopilot and what it keeps in memory."""

    room_id: str
    rng: random.Random
    task: asyncio.Task[None] | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    epoch: int = 0  # bumped by every human message and settings change
    turns: int = 0  # autopilot turns since the last human message
    tokens_used: int = 0
    dirty: bool = False  # `turns` changed since it was stored
    alone_since: float | None = None


class Autopilot:
    """Every room's autopilot: switching it, its loops, and what each is doing."""

    def __init__(
        self,
        timeline: Timeline,
        orchestrator: Orchestrator,
        config: AutopilotConfig,
        models: ModelCatalog | None = None,
    ) -> None:
        self.timeline = timeline
        self.repo = timeline.repo
        self.models = models  # None: summary_model ids are not checked against the LLM node
        self.store = timeline.repo.autopilot
        self.hub = timeline.hub
        self.orchestrator = orchestrator
        self.config = config
        self._loops: dict[str, _Loop] = {}
        self._statuses: dict[str, pb.AutopilotStatus] = {}
        self._closing = False

    # --- switching -----------------------------------------------------------------------

    async def resume(self) -> int:
        """At start: a loop for every room whose autopilot was on; how many."""
        rooms = await self.store.enabled_rooms()
        for room_id in rooms:
            self._start(room_id)
        if rooms:
            logger.info("autopilot resumed", extra={"count": len(rooms)})
        return len(rooms)

    async def check(self, patch: pb.AutopilotPatch) -> dict[str, Any]:
        """The patch's values, or InvalidArgument (a bad setting, an unknown summary model)."""
        values = validate_patch(patch)
        if self.models is not None and values.get("summary_model"):
            await self.models.check(values["summary_model"], "summary_model")
        return values

    async def update(self, room_id: str, actor: pb.User, patch: pb.AutopilotPatch) -> pb.Room:
        """Change a room's autopilot (on, off, settings) and tell its members."""
        values = await self.check(patch)
        if not values:
            return room_pb(await self.repo.get_room(room_id))
        async with self.timeline.hold(room_id) as held:
            before = (await self.repo.get_room(room_id)).autopilot
            switching_on = values.get("enabled") is True and not before.enabled
            switching_off = values.get("enabled") is False and before.enabled
            if switching_on:
                values.update(turns=0, tokens_used=0, stopped_reason=None)
            if switching_off:
                values["stopped_reason"] = "switched_off"
            record = await held.update_room(lambda: self.store.update(room_id, values))
            assert record is not None
            room = room_pb(record)
        if switching_off:
            await self._end(room_id)
            logger.info("autopilot switched off", extra={"room_id": room_id})
            await post_system_message(
                self.timeline,
                room_id,
                AUTOPILOT,
                stop_message("switched_off", record, actor.name or "a member"),
            )
        elif switching_on:
            await self._end(room_id)  # a loop that was just stopping by itself
            self._start(room_id)
            logger.info("autopilot switched on", extra={"room_id": room_id})
        elif record.autopilot.enabled:
            self._start(room_id)  # already running: it wakes and sees the new settings
        return room

    def on_room_changed(self, event: RoomChanged) -> None:
        """The room's personas or name changed: its loop decides again."""
        self._wake(event.room_id, bump=True)

    def on_room_stirred(self, event: PresenceChanged | RoomWorkSettled) -> None:
        """Someone came, went or typed, or the room's AI work ended: its loop looks again."""
        self._wake(event.room_id)

    def on_human_message(self, event: HumanMessagePosted) -> None:
        """A person spoke: the turn count starts over, and the loop decides again."""
        message = event.message
        loop = self._loops.get(message.room_id)
        if loop is not None:
            loop.turns, loop.dirty = 0, True
            self._wake(message.room_id, bump=True)

    def status(self, room_id: str) -> pb.AutopilotStatus:
        """What the room's autopilot is doing now."""
        return self._statuses.get(room_id) or pb.AutopilotStatus(state="off")

    def running(self, room_id: str) -> bool:
        """Whether the room has a live loop."""
        loop = self._loops.get(room_id)
        return loop is not None and loop.task is not None and not loop.task.done()

    async def close(self) -> None:
        """Shutdown: end every loop (each resumes when the room service starts again)."""
        self._closing = True
        loops, self._loops = list(self._loops.values()), {}
        for loop in loops:
            if loop.task is not None:
                loop.task.cancel()
        await asyncio.gather(*(loop.task for loop in loops if loop.task), return_exceptions=True)

    def _start(self, room_id: str) -> None:
        """Make sure the room has its one loop; wake it if it has."""
        if self.running(room_id):
            self._wake(room_id, bump=True)
            return
        loop = _Loop(room_id, random.Random(self.config.seed))
        self._loops[room_id] = loop
        loop.task = asyncio.create_task(self._run(loop), name=f"autopilot-{room_id}")

    async def _end(self, room_id: str) -> None:
        loop = self._loops.pop(room_id, None)
        if loop is not None and loop.task is not None and loop.task is not asyncio.current_task():
            loop.task.cancel()
            await asyncio.gather(loop.task, return_exceptions=True)

    def _wake(self, room_id: str, bump: bool = False) -> None:
        loop = self._loops.get(room_id)
        if loop is not None:
            loop.epoch += bump
            loop.wake.set()

    # --- the loop ------------------------------------------------------------------------

    async def _run(self, loop: _Loop) -> None:
        room_id = loop.room_id
        logger.info("autopilot loop started", extra={"room_id": room_id})
        try:
            started = (await self.repo.get_room(room_id)).autopilot
            loop.turns, loop.tokens_used = started.turns, started.tokens_used
            while await self._step(loop):
                pass
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("autopilot loop failed", extra={"room_id": room_id})
            with contextlib.suppress(Exception):
                await self._stop(loop, "error", "it failed unexpectedly")
        finally:
            if self._loops.get(room_id) is loop:
                del self._loops[room_id]
            if not self._closing and room_id not in self._loops:
                self._set_status(room_id, "off")
            logger.info("autopilot loop ended", extra={"room_id": room_id})

    async def _step(self, loop: _Loop) -> bool:
        """One decision: wait, stop or take a turn. False when the loop should end."""
        room_id = loop.room_id
        loop.wake.clear()  # from here on, any change wakes the waits below
        epoch = loop.epoch
        room = await self.repo.get_room(room_id)
        autopilot = room.autopilot
        if not autopilot.enabled:
            return False
        if loop.dirty:
            room = await self._save_counters(loop) or room
        if loop.turns >= autopilot.max_turns:
            return await self._stop(loop, "max_turns")
        if autopilot.token_budget and loop.tokens_used >= autopilot.token_budget:
            return await self._stop(loop, "token_budget")
        if not self.hub.online_count(room_id):
            loop.alone_since = loop.alone_since or time.monotonic()
            left = autopilot.idle_timeout_s - (time.monotonic() - loop.alone_since)
            if left <= 0:
                return await self._stop(loop, "idle")
            self._set_status(room_id, "waiting", reason="nobody_online")
            await self._wait(loop, left)
            return True
        loop.alone_since = None
        if self.hub.anyone_typing(room_id):
            self._set_status(room_id, "held", reason="typing")
            await self._wait(loop)
            return True
        if self.orchestrator.busy(room_id):
            self._set_status(room_id, "waiting", reason="replies")
            await self._wait(loop)
            return True
        recent = await self.repo.recent_messages(room_id, upto_seq=room.last_seq, limit=RECENT)
        last = _to_answer(recent)
        if last is None:
            self._set_status(room_id, "waiting", reason="no_messages")
            await self._wait(loop)
            return True
        previous = next((m.author.handle for m in reversed(recent) if m.author.kind == "ai"), None)
        handle = next_speaker(autopilot.strategy, room.personas, last, previous, loop.rng)
        if handle is None:
            self._set_status(room_id, "waiting", reason="no_speaker")
            await self._wait(loop)
            return True
        delay = pacing_delay(
            len(last.content),
            base_s=self.config.delay_base_s,
            per_char_s=self.config.delay_per_char_s,
            max_s=self.config.delay_max_s,
        )
        self._set_status(room_id, "thinking", handle=handle)
        if not await self._pause(loop, delay, epoch):
            return True  # something changed while it thought: decide again
        self._set_status(room_id, "speaking", handle=handle)
        final = await self.orchestrator.take_turn(
            room_id, handle, last.id, if_last_seq=room.last_seq
        )
        if final is None:
            return True
        loop.turns += 1
        loop.tokens_used += final.usage.prompt_tokens + final.usage.completion_tokens
        loop.dirty = True
        if final.status == pb.MESSAGE_STATUS_ERROR:
            return await self._stop(loop, "error", f"@{handle} could not answer ({final.error})")
        await self._save_counters(loop)
        return True

    async def _pause(self, loop: _Loop, delay: float, epoch: int) -> bool:
        """Think for `delay` seconds; False as soon as something makes the choice stale."""
        room_id = loop.room_id
        deadline = time.monotonic() + delay
        while True:
            if (
                loop.epoch != epoch
                or self.hub.anyone_typing(room_id)
                or self.orchestrator.busy(room_id)
                or not self.hub.online_count(room_id)
            ):
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            await self._wait(loop, left)

    @staticmethod
    async def _wait(loop: _Loop, timeout: float | None = None) -> None:
        """Until something in the room changes (or `timeout` seconds pass)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(loop.wake.wait(), timeout)
        loop.wake.clear()

    async def _save_counters(self, loop: _Loop) -> RoomRecord | None:
        """Store the run's counters and show them to the room."""
        # Shielded: switching off cancels the loop, and a write is not cut in half.
        return await asyncio.shield(self._write_counters(loop))

    async def _write_counters(self, loop: _Loop) -> RoomRecord | None:
        counters = {"turns": loop.turns, "tokens_used": loop.tokens_used}
        record = await self.timeline.update_room(
            loop.room_id,
            lambda: self.store.update(loop.room_id, counters, only_if_enabled=True),
        )
        if record is not None:
            loop.dirty = False
        return record

    async def _stop(self, loop: _Loop, reason: str, detail: str = "") -> bool:
        """Switch the room's autopilot off and post why (unless it is off already); False."""
        await asyncio.shield(self._write_stop(loop, reason, detail))
        return False

    async def _write_stop(self, loop: _Loop, reason: str, detail: str) -> None:
        room_id = loop.room_id
        values = {
            "enabled": False,
            "stopped_reason": reason,
            "turns": loop.turns,
            "tokens_used": loop.tokens_used,
        }
        record = await self.timeline.update_room(
            room_id, lambda: self.store.update(room_id, values, only_if_enabled=True)
        )
        if record is None:
            return
        logger.info("autopilot stopped", extra={"room_id": room_id, "reason": reason})
        await post_system_message(
            self.timeline, room_id, AUTOPILOT, stop_message(reason, record, detail)
        )

    def _set_status(self, room_id: str, state: str, *, handle: str = "", reason: str = "") -> None:
        status = pb.AutopilotStatus(state=state, handle=handle, reason=reason)
        if self._statuses.get(room_id) == status:
            return
        if state == "off":
            self._statuses.pop(room_id, None)
        else:
            self._statuses[room_id] = status
        self.timeline.publish(room_id, pb.SessionEvent(autopilot_status=status))


def _to_answer(recent: list[MessageRecord]) -> MessageRecord | None:
    """The newest message a persona can answer: a person's or a persona's, not a command."""
    return next(
        (
            m
            for m in reversed(recent)
            if m.author.kind in ("human", "ai") and m.content.strip() and not is_command(m.content)
        ),
        None,
    )
