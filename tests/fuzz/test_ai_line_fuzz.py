"""Mention floods across accounts and rooms, at random, against the fair line: the slots are
never exceeded, nobody waits while a slot they could use stands free, and no account waits
behind another's flood."""

from __future__ import annotations

import random

import pytest

from services.room.orchestrator.scheduler import FairScheduler, SchedulerLimits, Ticket

pytestmark = pytest.mark.unit

SEEDS = range(40)
STEPS = 600
LIMITS = SchedulerLimits(global_slots=6, room_slots=2, account_slots=3, account_queue=0)
ACCOUNTS = ["mallory", "eve", "alice", "bob", "carol"]
ROOMS = ["r1", "r2", "r3", "r4"]
HANDLES = ["a", "b", "c"]
# A single mention waiting in a room lets at most this many flood replies take that room's slot
# first (its own account at its cap, say): 5 at worst over these seeds; first-come first-served
# lets up to 28 through.
MOST_OVERTAKEN = 8


def check(line: FairScheduler, running: list[Ticket], waiting: list[Ticket]) -> None:
    assert len(running) <= LIMITS.global_slots
    for scope, limit in (
        (lambda t: t.room_id, LIMITS.room_slots),
        (lambda t: t.account_id, LIMITS.account_slots),
    ):
        counts: dict[str, int] = {}
        for ticket in running:
            counts[scope(ticket)] = counts.get(scope(ticket), 0) + 1
        assert max(counts.values(), default=0) <= limit
    personas = [(t.room_id, t.handle) for t in running]
    assert len(personas) == len(set(personas))
    # Work-conserving: a waiting ticket whose every scope has room would have been started.
    if len(running) < LIMITS.global_slots:
        for ticket in waiting:
            room = sum(t.room_id == ticket.room_id for t in running)
            account = sum(t.account_id == ticket.account_id for t in running)
            busy = (ticket.room_id, ticket.handle) in personas
            assert busy or room >= LIMITS.room_slots or account >= LIMITS.account_slots


def persona_busy(running: list[Ticket], ticket: Ticket) -> bool:
    return any((t.room_id, t.handle) == (ticket.room_id, ticket.handle) for t in running)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_floods_keep_every_bound_and_nobody_is_starved(seed: int) -> None:
    rng = random.Random(seed)
    line = FairScheduler(LIMITS)
    running: list[Ticket] = []
    waiting: list[Ticket] = []
    # How many of the flooders' replies started while each single mention waited.
    overtaken: dict[int, int] = {}
    worst = 0
    for _ in range(STEPS):
        if rng.random() < 0.55 or not running:
            # Mallory and Eve flood (several at once); the others ask now and then.
            account = rng.choice(ACCOUNTS[:2] * 4 + ACCOUNTS[2:])
            for _ in range(rng.randint(1, 5) if account in ACCOUNTS[:2] else 1):
                ticket = line.enqueue(rng.choice(ROOMS), rng.choice(HANDLES), account)
                (running if ticket.started.is_set() else waiting).append(ticket)
                if account not in ACCOUNTS[:2] and not ticket.started.is_set():
                    overtaken[id(ticket)] = 0
        elif waiting and rng.random() < 0.1:
            stopped = waiting.pop(rng.randrange(len(waiting)))  # someone presses Stop
            line.release(stopped)
            overtaken.pop(id(stopped), None)
        else:
            line.release(running.pop(rng.randrange(len(running))))
        for ticket in [t for t in waiting if t.started.is_set()]:
            waiting.remove(ticket)
            running.append(ticket)
            if ticket.account_id in ACCOUNTS[:2]:
                for other in waiting:  # a room slot the waiting mention could have had
                    if (
                        id(other) in overtaken
                        and other.room_id == ticket.room_id
                        and not persona_busy(running, other)
                    ):
                        overtaken[id(other)] += 1
            worst = max(worst, overtaken.pop(id(ticket), 0))
        check(line, running, waiting)
        assert set(line.positions()) == set(waiting)
    assert max(worst, *overtaken.values(), 0) <= MOST_OVERTAKEN, worst
