"""The timeline's per-room lock: one lock per room for as long as anyone holds or awaits it."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest

from services.common.pb import room_pb2 as pb
from services.room.hub import Conn, GatewayStream, RoomHub
from services.room.store.sql.repository import RoomRepository
from services.room.timeline import Timeline

pytestmark = pytest.mark.unit


def timeline() -> Timeline:
    # Holding the lock touches neither store nor hub beyond what the test does itself.
    return Timeline(cast(RoomRepository, None), RoomHub(typing_ttl_s=5))


async def test_a_room_idle_between_a_release_and_the_next_holder_keeps_one_lock() -> None:
    line = timeline()
    order: list[str] = []
    held = line.hold("r")
    await held.__aenter__()
    waiter = asyncio.create_task(_hold(line, "r", order, "waiter"))
    await asyncio.sleep(0)  # the waiter now awaits the first holder

    # The room goes idle (its last stream leaves) just as the lock is handed on ...
    stream = GatewayStream("r", "gw", 10)
    line.hub.join(stream, "c", Conn(user=pb.User(id="u", name="U"), role="member"))
    await held.__aexit__(None, None, None)
    line.hub.detach(stream)
    # ... and a newcomer must still queue behind the waiter, not take a fresh lock.
    newcomer = asyncio.create_task(_hold(line, "r", order, "newcomer"))
    await asyncio.gather(waiter, newcomer)
    assert order == ["waiter in", "waiter out", "newcomer in", "newcomer out"]
    assert not line.busy("r")


async def test_holds_on_different_rooms_do_not_wait_for_each_other() -> None:
    line = timeline()
    async with line.hold("a"):
        async with asyncio.timeout(10):
            async with line.hold("b"):
                assert line.busy("a") and line.busy("b")


async def _hold(line: Timeline, room_id: str, order: list[str], name: str) -> None:
    async with line.hold(room_id):
        order.append(f"{name} in")
        await asyncio.sleep(0)
        order.append(f"{name} out")
