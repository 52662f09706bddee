"""Who speaks next under autopilot, with a seeded draw: weights, no repeats, order, mentions."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import UTC, datetime

import pytest

from services.room.orchestrator.autopilot_settings import pacing_delay
from services.room.orchestrator.selector import named, next_speaker
from services.room.store.records import AuthorRecord, MessageRecord, PersonaRecord

pytestmark = pytest.mark.unit

ANA = AuthorRecord(id="u1", name="Ana", kind="human")


def persona(handle: str, talkativeness: float = 0.5, muted: bool = False) -> PersonaRecord:
    return PersonaRecord(
        handle=handle,
        name=handle.capitalize(),
        model="m",
        system_prompt="",
        temperature=0.7,
        max_tokens=64,
        talkativeness=talkativeness,
        muted=muted,
    )


def said(content: str, by: str | None = None) -> MessageRecord:
    """A message from Ana, or from the persona `by`."""
    author = ANA if by is None else AuthorRecord(f"persona:{by}", by.capitalize(), "ai", by)
    return MessageRecord(
        id="m", room_id="r", seq=1, author=author, content=content, reply_to=None,
        status="complete", client_msg_id=None, created_at=datetime.now(UTC),
    )  # fmt: skip


def conversation(strategy: str, personas: list[PersonaRecord], turns: int, seed: int) -> list[str]:
    """Who speaks in `turns` turns where each answers the one before (nobody named)."""
    rng = random.Random(seed)
    spoken: list[str] = []
    last = said("What shall we build?")
    for _ in range(turns):
        handle = next_speaker(strategy, personas, last, spoken[-1] if spoken else None, rng)
        assert handle is not None
        spoken.append(handle)
        last = said("I think so.", by=handle)
    return spoken


def test_draws_follow_talkativeness() -> None:
    personas = [persona("quiet", 0.1), persona("usual", 0.3), persona("chatty", 0.6)]
    rng = random.Random(7)
    draws = Counter(
        next_speaker("natural", personas, said("Thoughts?"), None, rng) for _ in range(20_000)
    )
    for p in personas:
        assert draws[p.handle] / 20_000 == pytest.approx(p.talkativeness, abs=0.015)


def test_the_same_seed_draws_the_same_speakers() -> None:
    personas = [persona("a", 0.2), persona("b", 0.5), persona("c", 0.9)]
    assert conversation("natural", personas, 50, seed=3) == conversation(
        "natural", personas, 50, seed=3
    )


def test_nobody_speaks_twice_in_a_row_and_talkativeness_still_counts() -> None:
    personas = [persona("quiet", 0.1), persona("chatty", 0.9), persona("usual", 0.5)]
    spoken = conversation("natural", personas, 3_000, seed=11)
    assert all(a != b for a, b in itertools.pairwise(spoken))
    counts = Counter(spoken)
    assert counts["chatty"] > counts["usual"] > counts["quiet"] > 0


def test_an_only_persona_speaks_every_turn() -> None:
    assert conversation("natural", [persona("solo")], 5, seed=1) == ["solo"] * 5
    muted_rest = [persona("solo"), persona("hush", muted=True)]
    assert conversation("round_robin", muted_rest, 3, seed=1) == ["solo"] * 3


def test_a_persona_named_in_the_last_message_goes_first() -> None:
    personas = [persona("alpha", 1.0), persona("beta", 0.0), persona("gamma", 0.0)]
    rng = random.Random(0)
    assert next_speaker("natural", personas, said("What do you say, @gamma?"), None, rng) == "gamma"
    # By name too, and the first one named wins.
    asked = said("Beta, then Gamma: your view?", by="alpha")
    assert next_speaker("natural", personas, asked, "alpha", rng) == "beta"
    # Naming oneself, or the one who just spoke, does not count.
    assert next_speaker("natural", personas, said("As Alpha I say", by="alpha"), "alpha", rng) in {
        "beta",
        "gamma",
    }


def test_nobody_talkative_means_an_even_draw() -> None:
    personas = [persona("a", 0.0), persona("b", 0.0)]
    rng = random.Random(5)
    draws = Counter(next_speaker("natural", personas, said("?"), None, rng) for _ in range(2_000))
    assert draws["a"] / 2_000 == pytest.approx(0.5, abs=0.05)


def test_a_silent_persona_is_never_drawn() -> None:
    personas = [persona("a", 0.0), persona("b", 0.5), persona("c", 0.5)]
    assert "a" not in conversation("natural", personas, 500, seed=2)


def test_round_robin_goes_in_room_order_and_skips_the_muted() -> None:
    personas = [persona("a"), persona("b", muted=True), persona("c"), persona("d")]
    assert conversation("round_robin", personas, 7, seed=0) == ["a", "c", "d", "a", "c", "d", "a"]
    # It goes on after whoever spoke last, even if a mention reply broke the order.
    rng = random.Random(0)
    assert next_speaker("round_robin", personas, said("hm", by="c"), "c", rng) == "d"


def test_manual_takes_only_mentions() -> None:
    personas = [persona("alpha"), persona("beta"), persona("hush", muted=True)]
    rng = random.Random(0)
    assert (
        next_speaker("manual", personas, said("Beta, your turn", by="alpha"), "alpha", rng) is None
    )
    assert next_speaker("manual", personas, said("@beta, your turn", by="alpha"), "alpha", rng) == (
        "beta"
    )
    assert next_speaker("manual", personas, said("@hush speak", by="alpha"), "alpha", rng) is None
    assert next_speaker("manual", personas, None, None, rng) is None


def test_muted_personas_are_never_chosen() -> None:
    personas = [persona("loud", 1.0, muted=True), persona("a", 0.1), persona("b", 0.1)]
    assert "loud" not in conversation("natural", personas, 300, seed=4)
    rng = random.Random(0)
    assert next_speaker("natural", personas, said("@loud, go on"), None, rng) != "loud"
    assert next_speaker("natural", [persona("x", muted=True)], said("hi"), None, rng) is None


def test_named_finds_handles_and_names_in_text_order() -> None:
    personas = [persona("alpha"), persona("beta"), persona("gamma")]
    assert named("gamma? or maybe @ALPHA, not beta-ish", personas) == ["gamma", "alpha"]
    assert named("mail alpha@example.com, @betamax", personas) == []


def test_the_pause_grows_with_the_message_and_is_capped() -> None:
    pace = {"base_s": 1.0, "per_char_s": 0.01, "max_s": 5.0}
    assert pacing_delay(0, **pace) == 1.0
    assert pacing_delay(100, **pace) == pytest.approx(2.0)
    assert pacing_delay(200, **pace) > pacing_delay(100, **pace)
    assert pacing_delay(10_000, **pace) == 5.0
    assert pacing_delay(10_000, base_s=0, per_char_s=0, max_s=0) == 0.0
