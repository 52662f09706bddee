"""Fitting a persona's context: system prompt first, newest messages that fit, in order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.room.orchestrator.context import (
    PER_MESSAGE_OVERHEAD,
    Turn,
    build_context,
    fits_uncounted,
    most_tokens,
)
from services.room.store.records import AuthorRecord, MessageRecord, PersonaRecord

pytestmark = pytest.mark.unit

ALPHA = PersonaRecord(
    handle="alpha",
    name="Alpha",
    model="m",
    system_prompt="Be brief.",
    temperature=0.7,
    max_tokens=100,
)
ANA = AuthorRecord(id="u1", name="Ana", kind="human")
BETA = AuthorRecord(id="persona:beta", name="Beta", kind="ai", handle="beta")
ME = AuthorRecord(id="persona:alpha", name="Alpha", kind="ai", handle="alpha")


def message(seq: int, author: AuthorRecord, content: str) -> MessageRecord:
    return MessageRecord(
        id=f"m{seq}",
        room_id="r",
        seq=seq,
        author=author,
        content=content,
        reply_to=None,
        status="complete",
        client_msg_id=None,
        created_at=datetime.now(UTC),
    )


async def count_words(texts: list[str]) -> list[int]:
    return [len(t.split()) for t in texts]


async def test_speakers_are_named_and_own_replies_are_assistant_turns() -> None:
    transcript = [message(1, ANA, "hello all"), message(2, BETA, "hi Ana"), message(3, ME, "hey")]
    turns = await build_context(
        ALPHA, "Lab", transcript, context_window=10_000, count_tokens=count_words
    )
    assert turns[0].role == "system" and turns[0].content.startswith("Be brief.")
    assert "@alpha" in turns[0].content and "'Lab'" in turns[0].content
    assert [(t.role, t.content) for t in turns[1:]] == [
        ("user", "Ana: hello all"),
        ("user", "Beta: hi Ana"),
        ("assistant", "hey"),
    ]


async def test_the_newest_messages_that_fit_are_kept_in_order() -> None:
    transcript = [
        message(i, ANA, "word " * 10) for i in range(1, 21)
    ]  # 11 "tokens" each with the name
    system_cost = len(await_system_words())
    # Room for exactly 3 messages after the system prompt and the reply budget.
    window = ALPHA.max_tokens + system_cost + PER_MESSAGE_OVERHEAD + 3 * (11 + PER_MESSAGE_OVERHEAD)
    turns = await build_context(
        ALPHA, "Lab", transcript, context_window=window, count_tokens=count_words
    )
    assert [t.content for t in turns[1:]] == [f"Ana: {'word ' * 10}"] * 3
    one_less = await build_context(
        ALPHA, "Lab", transcript, context_window=window - 1, count_tokens=count_words
    )
    assert len(one_less) == 1 + 2


def await_system_words() -> list[str]:
    from services.room.orchestrator.context import system_prompt

    return system_prompt(ALPHA, "Lab").split()


async def test_a_window_too_small_for_any_message_still_gives_the_system_prompt() -> None:
    turns = await build_context(
        ALPHA, "Lab", [message(1, ANA, "hi")], context_window=50, count_tokens=count_words
    )
    assert [t.role for t in turns] == ["system"]


async def test_empty_messages_are_skipped() -> None:
    transcript = [message(1, ANA, "hi"), message(2, BETA, "   ")]
    turns = await build_context(
        ALPHA, "Lab", transcript, context_window=10_000, count_tokens=count_words
    )
    assert [t.content for t in turns[1:]] == ["Ana: hi"]


def test_a_text_never_has_more_tokens_than_its_bytes_and_one() -> None:
    assert most_tokens("") == 1
    assert most_tokens("hello") == 6
    assert most_tokens("héllo ✓") == len("héllo ✓".encode()) + 1  # every UTF-8 byte counts


def test_a_context_fits_uncounted_only_when_its_bytes_surely_do() -> None:
    turns = [Turn("user", "Ana: hi"), Turn("assistant", "hello")]
    needed = sum(
        most_tokens(text) + PER_MESSAGE_OVERHEAD for text in ("Be brief.", "Ana: hi", "hello")
    )
    assert fits_uncounted("Be brief.", turns, needed)
    assert not fits_uncounted("Be brief.", turns, needed - 1)  # then the node must count
