"""The fair line for AI slots: per account, per room, per persona, and the waiting bound."""

from __future__ import annotations

import pytest

from services.room.orchestrator.scheduler import (
    AiQueueFull,
    FairScheduler,
    SchedulerLimits,
    Ticket,
)

pytestmark = pytest.mark.unit


def started(tickets: list[Ticket]) -> list[str]:
    return [f"{t.account_id}:{t.handle}" for t in tickets if t.started.is_set() and not t.done]


def test_one_members_flood_does_not_starve_anothers_mention_in_the_room() -> None:
    line = FairScheduler(SchedulerLimits(room_slots=1))
    flood = [line.enqueue("r", f"p{i}", "mallory") for i in range(5)]
    assert started(flood) == ["mallory:p0"]
    alice = line.enqueue("r", "p9", "alice")
    # Alice is next in the room's line although four of Mallory's came first ...
    assert line.positions()[alice] == 1
    assert [line.positions()[t] for t in flood[1:]] == [2, 3, 4, 5]
    line.release(flood[0])
    # ... and takes the slot Mallory's reply gave back.
    assert started([*flood, alice]) == ["alice:p9"]
    line.release(alice)
    assert started(flood) == ["mallory:p1"]


def test_one_account_cannot_hold_every_global_slot() -> None:
    line = FairScheduler(SchedulerLimits(global_slots=8, room_slots=2, account_slots=4))
    # Four rooms of two personas each, everything asked for by one account.
    mallory = [line.enqueue(f"room{r}", f"p{p}", "mallory") for r in range(4) for p in range(2)]
    assert len(started(mallory)) == 4
    bob = line.enqueue("bobs-room", "helper", "bob")
    assert bob.started.is_set()  # a slot was left for someone else: no waiting at all
    assert line.running() == 5


def test_across_rooms_the_least_served_account_starts_next() -> None:
    line = FairScheduler(SchedulerLimits(global_slots=2, room_slots=2, account_slots=2))
    mallory = [line.enqueue(f"room{i}", "p", "mallory") for i in range(4)]
    bob = line.enqueue("bobs-room", "p", "bob")
    carol = line.enqueue("carols-room", "p", "carol")
    assert started(mallory) == ["mallory:p", "mallory:p"] and not bob.started.is_set()
    line.release(mallory[0])
    assert bob.started.is_set() and not carol.started.is_set()
    line.release(mallory[1])
    assert carol.started.is_set()  # Mallory has none running, but Carol waited longer
    line.release(bob)
    assert mallory[2].started.is_set()


def test_a_persona_answers_one_reply_at_a_time_per_room() -> None:
    line = FairScheduler(SchedulerLimits(room_slots=4))
    first = line.enqueue("r", "bot", "alice")
    second = line.enqueue("r", "bot", "bob")
    elsewhere = line.enqueue("other", "bot", "bob")
    assert first.started.is_set() and not second.started.is_set()
    assert elsewhere.started.is_set()  # the same handle in another room is another persona
    line.release(first)
    assert second.started.is_set()


def test_an_account_is_refused_past_its_bound_on_unfinished_replies() -> None:
    line = FairScheduler(SchedulerLimits(room_slots=1, account_queue=3))
    running = line.enqueue("r", "p0", "mallory")
    line.reserve("mallory", 2)  # a post with two mentions, not stored yet
    line.enqueue("r", "p1", "mallory")
    line.enqueue("r", "p2", "mallory")
    line.unreserve("mallory", 2)
    assert line.unanswered("mallory") == 3  # one running, two waiting
    with pytest.raises(AiQueueFull) as refused:
        line.reserve("mallory", 1)
    assert "3 AI replies waiting or being written" in refused.value.message
    assert refused.value.client_code == "ai_queue_full"
    line.reserve("alice", 3)  # the bound is per account
    line.release(running)  # one answered: room for one more
    line.reserve("mallory", 1)
    with pytest.raises(AiQueueFull):
        line.reserve("mallory", 1)


def test_a_waiting_ticket_released_leaves_the_line_and_the_rest_move_up() -> None:
    line = FairScheduler(SchedulerLimits(room_slots=1))
    tickets = [line.enqueue("r", f"p{i}", "alice") for i in range(4)]
    assert [line.positions().get(t) for t in tickets] == [None, 1, 2, 3]
    line.release(tickets[1])  # stopped while queued
    assert [line.positions().get(t) for t in tickets] == [None, None, 1, 2]
    line.release(tickets[1])  # twice is harmless
    line.release(tickets[0])
    assert tickets[2].started.is_set() and not tickets[1].started.is_set()
    assert line.positions() == {tickets[3]: 1}


def test_positions_count_per_room() -> None:
    line = FairScheduler(SchedulerLimits(global_slots=1))
    line.enqueue("a", "p", "alice")
    b1 = line.enqueue("b", "p1", "bob")
    a2 = line.enqueue("a", "p2", "alice")
    b2 = line.enqueue("b", "p2", "bob")
    positions = line.positions()
    assert (positions[a2], positions[b1], positions[b2]) == (1, 1, 2)
