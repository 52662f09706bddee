"""kill -9 the room service while members send: nothing acknowledged is lost, nothing doubled."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.common.net import http_ok
from tests.support.client import NO_LIMITS, WAIT_S, Api, Member, resume
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

SENDERS = 4
WINDOW = 4  # unacknowledged sends each sender allows itself
BEFORE_KILL = 30  # messages stored before the kill
AFTER_RESTART = 20  # messages stored after the restart before the senders stop


@pytest.fixture
async def stack(database_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    """Overrides the shared `stack`: abuse limits off, as the senders go as fast as acks come."""
    running = Stack(tmp_path, database_url, env_extra=dict(NO_LIMITS))
    try:
        await running.start(gateways=1)
        yield running
    except BaseException:
        print(running.logs())
        raise
    finally:
        await running.stop()


def acks(member: Member) -> list[dict[str, Any]]:
    return [f for f in member.frames if f["type"] == "ack"]


async def chatter(member: Member, name: str, stop: asyncio.Event, sent: list[str]) -> None:
    """Send until `stop`, never more than WINDOW unacknowledged, each with its own client_msg_id.

    A client_msg_id goes into `sent` once its frame is written to the socket. A full window
    waits out the room service's restart, however long that takes; the test bounds the restart.
    """
    for n in itertools.count():
        await member.wait_until(lambda: len(sent) - len(acks(member)) < WINDOW, timeout=None)
        if stop.is_set():
            return
        cmid = f"{name}-{n}"
        await member.send({"type": "send", "content": f"{name} says {n}", "client_msg_id": cmid})
        sent.append(cmid)


def unacknowledged(senders: list[Member], sent: list[list[str]]) -> set[str]:
    """The sends written to a socket that no ack has answered yet."""
    acked = {a["client_msg_id"] for member in senders for a in acks(member)}
    return {cmid for cmids in sent for cmid in cmids} - acked


async def wait_gateway_ready(stack: Stack) -> None:
    """Wait until the gateway reaches the room service again (its /readyz is 200)."""
    await stack.gateways[0].wait_ready(lambda: http_ok(f"{stack.base_url()}/readyz"))


async def test_kill_9_while_sending_loses_and_doubles_nothing(stack: Stack, api: Api) -> None:
    tokens = [(await api.session(f"user{i}"))[1] for i in range(SENDERS + 3)]
    room = await api.create_room(tokens[0], "Crash")
    url = stack.ws_url(room["id"])
    senders = [Member(url, token) for token in tokens[:SENDERS]]
    watcher, early_dropper, late_dropper = (Member(url, token) for token in tokens[SENDERS:])
    for member in [*senders, watcher, early_dropper, late_dropper]:
        await member.connect()

    stop = asyncio.Event()
    sent: list[list[str]] = [[] for _ in senders]
    tasks = [asyncio.create_task(chatter(m, f"s{i}", stop, sent[i])) for i, m in enumerate(senders)]
    try:
        await watcher.wait_until(lambda: len(watcher.messages()) >= BEFORE_KILL // 2)
        await early_dropper.drop()  # a member whose network goes before the crash
        # Kill at a moment when sends are in flight: written by their senders, not acknowledged.
        # The condition is checked on each frame that arrives, and the SIGKILL goes out before
        # the next await, so `in_flight` is what was outstanding at the kill. Each may have been
        # still in the gateway, with the room service, or stored with its answer lost; whatever
        # its fate, it must come out acknowledged and stored exactly once.
        await watcher.wait_until(
            lambda: len(watcher.messages()) >= BEFORE_KILL and bool(unacknowledged(senders, sent))
        )
        in_flight = unacknowledged(senders, sent)
        await stack.kill_room()
        assert in_flight  # the test is void otherwise
        await late_dropper.drop()  # ... and one whose network goes while the service is down
        await stack.start_room()
        await wait_gateway_ready(stack)
        for dropper in (early_dropper, late_dropper):
            welcome = await resume(dropper, last_seq=dropper.last_seq())
            assert welcome["resumed"] is True

        at_restart = len(watcher.messages())
        await watcher.wait_until(lambda: len(watcher.messages()) >= at_restart + AFTER_RESTART)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    stop.set()
    async with asyncio.timeout(WAIT_S):  # the service is back: the windows drain at once
        await asyncio.gather(*tasks)

    # Every send is eventually acknowledged, exactly once: the gateway re-sent what the crash cut.
    for member, cmids in zip(senders, sent, strict=True):
        await member.wait_until(lambda m=member, c=cmids: len(acks(m)) >= len(c))
        assert sorted(a["client_msg_id"] for a in acks(member)) == sorted(cmids)
    # One more message, seen by everyone, marks the end of the stream for each member.
    await senders[0].send({"type": "send", "content": "the end", "client_msg_id": "end"})
    last = (
        await senders[0].wait_for(lambda f: f["type"] == "ack" and f["client_msg_id"] == "end")
    )["seq"]
    everyone = [*senders, watcher, early_dropper, late_dropper]
    for member in everyone:
        await member.wait_until(lambda m=member: last in m.seqs())

    history = await api.all_messages(tokens[0], room["id"])
    assert [m["seq"] for m in history] == list(range(1, last + 1))
    stored = Counter(m["client_msg_id"] for m in history)
    assert stored.most_common(1)[0][1] == 1  # nothing stored twice
    assert set(stored) == {cmid for cmids in sent for cmid in cmids} | {"end"}
    by_id = {m["id"]: m for m in history}
    for member in senders:
        for ack in acks(member):
            assert by_id[ack["message_id"]]["seq"] == ack["seq"]
            assert by_id[ack["message_id"]]["client_msg_id"] == ack["client_msg_id"]
    # Members that stayed connected and members that resumed saw the same log, each message once.
    for member in everyone:
        assert member.messages() == history
    for member in everyone:
        await member.close()
