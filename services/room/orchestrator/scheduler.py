"""Who gets the next AI slot: a fair queue across accounts, rooms and personas.

Every reply (a mention's or an autopilot turn's) takes a ticket. A ticket starts when a slot is
free for all of: the room service (`global_slots`), its room (`room_slots`), its account
(`account_slots`, so no account can hold every global slot) and its persona (one reply at a time
per persona per room). Among the tickets that could start, the next is the one whose account
is served least: fewest replies running plus queued ahead of it, then the account that started
one longest ago, then the oldest ticket. One account's flood therefore interleaves with
everyone else's single mentions instead of running ahead of them, in a room and across rooms.

An account is refused (`AiQueueFull`) past `account_queue` replies not yet finished (waiting
or being written); autopilot turns count for the room's owner and are bounded by the autopilot
itself.

Synchronous and free of I/O: the orchestrator calls it between awaits, so every count here is
exact at each step. The policy is written down for users in docs/ai-scheduling.md.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter, deque
from dataclasses import dataclass, field

from services.common.errors import ResourceExhausted


class AiQueueFull(ResourceExhausted):
    """An account already has its most AI replies waiting: the post is refused, nothing stored."""

    client_code = "ai_queue_full"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"You already have {limit} AI replies waiting or being written; "
            "send this again when some have answered."
        )
        self.retry_after_s = 5.0


@dataclass(eq=False)
class Ticket:
    """One reply's place: queued until `started` is set, running until released."""

    room_id: str
    handle: str
    account_id: str  # whose share it uses: the asker, or the room owner for autopilot turns
    order: int
    started: asyncio.Event = field(default_factory=asyncio.Event)
    done: bool = False


@dataclass(frozen=True)
class SchedulerLimits:
    """How many replies run at once, per scope, and how many one account may have waiting."""

    global_slots: int = 8
    room_slots: int = 2
    account_slots: int = 4
    account_queue: int = 20  # replies one account may have unfinished; 0 = no bound


class FairScheduler:
    """Tickets in, starts out; see the module docstring for the order."""

    def __init__(self, limits: SchedulerLimits) -> None:
        self.limits = limits
        self._orders = itertools.count()
        self._queued: dict[str, deque[Ticket]] = {}  # account -> its waiting tickets, oldest first
        self._reserved: Counter[str] = Counter()  # account -> admitted, tickets not yet taken
        self._running: set[Ticket] = set()
        self._by_account: Counter[str] = Counter()
        self._by_room: Counter[str] = Counter()
        self._personas: set[tuple[str, str]] = set()
        self._last_start: dict[str, int] = {}  # account -> serial of its latest start
        self._starts = itertools.count(1)

    # --- admission ------------------------------------------------------------------------

    def unanswered(self, account_id: str) -> int:
        """The account's replies not yet finished: running, waiting, and admitted not yet queued."""
        return (
            self._by_account[account_id]
            + len(self._queued.get(account_id, ()))
            + self._reserved[account_id]
        )

    def reserve(self, account_id: str, count: int) -> None:
        """Hold `count` places for a post before it is stored; AiQueueFull past the bound."""
        bound = self.limits.account_queue
        if count and bound and self.unanswered(account_id) + count > bound:
            raise AiQueueFull(bound)
        self._reserved[account_id] += count

    def unreserve(self, account_id: str, count: int) -> None:
        """Give back places `reserve` held (the post was stored and its tickets taken, or not)."""
        self._reserved[account_id] -= count
        if self._reserved[account_id] <= 0:
            del self._reserved[account_id]

    # --- tickets --------------------------------------------------------------------------

    def enqueue(self, room_id: str, handle: str, account_id: str) -> Ticket:
        """A new ticket, started at once if a slot is free and nobody is served less."""
        ticket = Ticket(room_id, handle, account_id, next(self._orders))
        self._queued.setdefault(account_id, deque()).append(ticket)
        self._dispatch()
        return ticket

    def release(self, ticket: Ticket) -> None:
        """A ticket is finished with: running, its slots free; queued, it leaves the queue."""
        if ticket.done:
            return
        ticket.done = True
        if ticket in self._running:
            self._running.discard(ticket)
            self._by_account[ticket.account_id] -= 1
            self._by_room[ticket.room_id] -= 1
            if self._by_room[ticket.room_id] <= 0:
                del self._by_room[ticket.room_id]
            self._personas.discard((ticket.room_id, ticket.handle))
            self._forget(ticket.account_id)
        else:
            queue = self._queued.get(ticket.account_id)
            if queue is not None and ticket in queue:
                queue.remove(ticket)
                if not queue:
                    del self._queued[ticket.account_id]
        self._dispatch()

    def _forget(self, account_id: str) -> None:
        """An account with nothing running or waiting: drop its counts (they start again at 0)."""
        if self._by_account[account_id] <= 0 and account_id not in self._queued:
            del self._by_account[account_id]
            self._last_start.pop(account_id, None)

    def positions(self) -> dict[Ticket, int]:
        """Each waiting ticket's place in its room's line (1 = expected to start next there)."""
        ranked = sorted(
            (self._rank(ticket, ahead), ticket)
            for queue in self._queued.values()
            for ahead, ticket in enumerate(queue)
        )
        places: Counter[str] = Counter()
        positions: dict[Ticket, int] = {}
        for _, ticket in ranked:
            places[ticket.room_id] += 1
            positions[ticket] = places[ticket.room_id]
        return positions

    def running(self) -> int:
        """Replies holding a slot now."""
        return len(self._running)

    # --- the order ------------------------------------------------------------------------

    def _rank(self, ticket: Ticket, ahead: int) -> tuple[int, int, int]:
        """Served least first: running + queued ahead, then longest since a start, then oldest."""
        account = ticket.account_id
        return (self._by_account[account] + ahead, self._last_start.get(account, 0), ticket.order)

    def _startable(self, ticket: Ticket) -> bool:
        limits = self.limits
        return (
            self._by_room[ticket.room_id] < limits.room_slots
            and self._by_account[ticket.account_id] < limits.account_slots
            and (ticket.room_id, ticket.handle) not in self._personas
        )

    def _dispatch(self) -> None:
        while len(self._running) < self.limits.global_slots:
            best: tuple[tuple[int, int, int], Ticket] | None = None
            for queue in self._queued.values():
                for index, ticket in enumerate(queue):
                    if self._startable(ticket):
                        rank = self._rank(ticket, index)
                        if best is None or rank < best[0]:
                            best = (rank, ticket)
                        break  # later tickets of this account rank lower
            if best is None:
                return
            self._start(best[1])

    def _start(self, ticket: Ticket) -> None:
        queue = self._queued[ticket.account_id]
        queue.remove(ticket)
        if not queue:
            del self._queued[ticket.account_id]
        self._running.add(ticket)
        self._by_account[ticket.account_id] += 1
        self._by_room[ticket.room_id] += 1
        self._personas.add((ticket.room_id, ticket.handle))
        self._last_start[ticket.account_id] = next(self._starts)
        ticket.started.set()
