"""The usage store: daily token counters, added together and read one by one or all at once."""

from __future__ import annotations

import pytest

from services.room.store.registry import Store

pytestmark = pytest.mark.unit

DAY, NEXT_DAY = "2026-12-03", "2026-12-04"


async def test_counters_add_up_per_day_and_read_alone_or_together(store: Store) -> None:
    usage = store.usage
    await usage.add(DAY, {("user", "ana"): 120, ("room", "r1"): 120})
    await usage.add(DAY, {("user", "ana"): 30, ("room", "r1"): 30, ("room", "r2"): 5})
    await usage.add(NEXT_DAY, {("user", "ana"): 7})

    assert await usage.used("user", "ana", DAY) == 150
    assert await usage.used("user", "bob", DAY) == 0
    keys = [("user", "ana"), ("room", "r1"), ("user", "bob"), ("room", "r2")]
    assert await usage.used_many(DAY, keys) == {
        ("user", "ana"): 150,
        ("room", "r1"): 150,
        ("user", "bob"): 0,  # never counted
        ("room", "r2"): 5,
    }
    assert await usage.used_many(NEXT_DAY, keys[:2]) == {("user", "ana"): 7, ("room", "r1"): 0}
    assert await usage.used_many(DAY, []) == {}
