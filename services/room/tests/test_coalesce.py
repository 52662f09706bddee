"""Token coalescing: the first token at once, then at most one delta per interval."""

from __future__ import annotations

import asyncio

import pytest

from services.room.orchestrator.coalesce import DeltaCoalescer

pytestmark = pytest.mark.unit


async def test_first_text_is_emitted_immediately() -> None:
    sent: list[str] = []
    coalescer = DeltaCoalescer(sent.append, interval_s=60)
    coalescer.add("Hel")
    assert sent == ["Hel"]


async def test_text_within_the_interval_is_batched_and_flushed_together() -> None:
    sent: list[str] = []
    coalescer = DeltaCoalescer(sent.append, interval_s=60)
    for piece in ["a", "b", "c", "d"]:
        coalescer.add(piece)
    assert sent == ["a"]
    coalescer.flush()
    assert sent == ["a", "bcd"]
    assert coalescer.emitted == 2


async def test_pending_text_is_emitted_by_the_timer_without_more_tokens() -> None:
    emitted = asyncio.Event()
    sent: list[str] = []

    def emit(text: str) -> None:
        sent.append(text)
        if len(sent) == 2:
            emitted.set()

    coalescer = DeltaCoalescer(emit, interval_s=0.01)
    coalescer.add("x")
    coalescer.add("y")
    async with asyncio.timeout(5):
        await emitted.wait()
    assert sent == ["x", "y"]


async def test_flush_with_nothing_pending_emits_nothing() -> None:
    sent: list[str] = []
    coalescer = DeltaCoalescer(sent.append, interval_s=0.01)
    coalescer.flush()
    coalescer.add("")
    assert sent == []
