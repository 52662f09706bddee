"""SIGTERM to the room service: it drains, says so, and the gateway's members lose nothing."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import make_url

from services.common.pb import room_pb2 as pb
from services.common.pb.room_pb2_grpc import RoomServiceStub
from tests.support.client import Api, Member, auth
from tests.support.databases import (
    PostgresUnavailable,
    create_postgres_database,
    drop_postgres_database,
    skip_or_fail,
)
from tests.support.room_grpc import register_actor
from tests.support.stack import ROOM_SERVICE, Stack

pytestmark = pytest.mark.integration

CALL_TIMEOUT_S = 20.0
EXIT_TIMEOUT_S = 30.0
WORKERS = 3
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVING = health_pb2.HealthCheckResponse.SERVING


@contextlib.asynccontextmanager
async def draining_stack(tmp_path: Path, database_url: str, gateways: int) -> AsyncIterator[Stack]:
    """A stack whose room service may take far longer to drain than any wait in these tests.

    So a stream or call that merely outlasts the grace period fails the test instead of
    passing once the server gives up on it.
    """
    running = Stack(tmp_path, database_url, env_extra={"CHIMERA_SHUTDOWN_GRACE_S": "120"})
    try:
        await running.start(gateways=gateways)
        yield running
    except BaseException:
        print(running.logs())
        raise
    finally:
        await running.stop()


@pytest.fixture
async def stack(tmp_path: Path, database_url: str) -> AsyncIterator[Stack]:
    """Overrides the shared `stack`: a long shutdown grace, one gateway (SQLite and PostgreSQL)."""
    async with draining_stack(tmp_path, database_url, gateways=1) as running:
        yield running


@pytest.fixture
async def postgres_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    """A room service alone on a fresh PostgreSQL database."""
    try:
        url = await create_postgres_database()
    except PostgresUnavailable as error:
        skip_or_fail(error)
    try:
        async with draining_stack(tmp_path, url, gateways=0) as running:
            yield running
    finally:
        await drop_postgres_database(url)


async def watch_health(channel: grpc.aio.Channel) -> grpc.aio.UnaryStreamCall:
    """A health Watch on the room service, already past its first answer (SERVING)."""
    watch = health_pb2_grpc.HealthStub(channel).Watch(
        health_pb2.HealthCheckRequest(service=ROOM_SERVICE)
    )
    assert (await watch.read()).status == SERVING
    return watch


async def open_session(stub: RoomServiceStub, room_id: str) -> grpc.aio.StreamStreamCall:
    """A RoomSession stream like a gateway's, past its `opened` event."""
    session = stub.RoomSession()
    await session.write(pb.SessionRequest(open=pb.SessionOpen(room_id=room_id, gateway_id="test")))
    assert (await session.read()).WhichOneof("kind") == "opened"
    return session


async def until_not_serving(watch: grpc.aio.UnaryStreamCall) -> None:
    """Read the health Watch until it reports NOT_SERVING, then stop watching."""
    async with asyncio.timeout(CALL_TIMEOUT_S):
        while (await watch.read()).status != NOT_SERVING:
            pass
    watch.cancel()


async def stream_end_code(call: grpc.aio.StreamStreamCall) -> grpc.StatusCode:
    """Drain a stream's remaining events and return the status it ended with."""
    async with asyncio.timeout(CALL_TIMEOUT_S):
        try:
            while await call.read() is not grpc.aio.EOF:
                pass
        except grpc.aio.AioRpcError as exc:
            return exc.code()
        return await call.code()


REFUSED = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)


async def post_until_refused(
    stub: RoomServiceStub,
    room_id: str,
    author: pb.User,
    outcomes: dict[str, pb.Message | grpc.StatusCode],
) -> None:
    """Post messages one after another until a call fails; record each call's outcome."""
    name = author.name
    while True:
        cmid = f"{name}-{len(outcomes)}"
        request = pb.PostMessageRequest(
            room_id=room_id, author=author, content=cmid, client_msg_id=cmid
        )
        try:
            reply = await stub.PostMessage(request, timeout=CALL_TIMEOUT_S)
        except grpc.aio.AioRpcError as exc:
            outcomes[cmid] = exc.code()
            return
        outcomes[cmid] = reply.message


async def test_sigterm_drains_the_room_service_and_members_lose_nothing(
    stack: Stack, api: Api
) -> None:
    _, ana_token = await api.session("Ana")
    _, ben_token = await api.session("Ben")
    room = await api.create_room(ana_token, "Shutdown")
    ana, ben = (
        Member(stack.ws_url(room["id"]), ana_token),
        Member(stack.ws_url(room["id"]), ben_token),
    )
    await ana.connect()
    await ben.connect()
    for n in (1, 2):
        await ana.send({"type": "send", "content": f"before {n}", "client_msg_id": f"a{n}"})
        await ana.wait_for(lambda f, n=n: f["type"] == "ack" and f["client_msg_id"] == f"a{n}")

    async with stack.channel(stack.room_addr) as channel:
        stub = RoomServiceStub(channel)
        watch = await watch_health(channel)
        session = await open_session(stub, room["id"])
        outcomes: list[dict[str, pb.Message | grpc.StatusCode]] = [{} for _ in range(WORKERS)]
        # The room is open: each worker's account becomes a member with its first post.
        authors = [await register_actor(channel, f"worker{i}") for i in range(WORKERS)]
        workers = [
            asyncio.create_task(post_until_refused(stub, room["id"], authors[i], outcomes[i]))
            for i in range(WORKERS)
        ]
        # Let the calls flow first, so the signal lands while the workers keep calling.
        await ben.wait_until(lambda: len(ben.messages()) >= 2 + 2 * WORKERS)

        stack.room.process.send_signal(signal.SIGTERM)
        await until_not_serving(watch)
        assert await stream_end_code(session) == grpc.StatusCode.UNAVAILABLE
        async with asyncio.timeout(CALL_TIMEOUT_S):
            await asyncio.gather(*workers)
        async with asyncio.timeout(EXIT_TIMEOUT_S):
            assert await stack.room.process.wait() == 0

    # Each call either got a real answer or was refused: none failed half-way. A call that
    # races the stop can come back CANCELLED instead of UNAVAILABLE (the gateway retries both);
    # either way it must have stored nothing (checked against history below).
    answered = {c: o for w in outcomes for c, o in w.items() if isinstance(o, pb.Message)}
    refused = {c for w in outcomes for c, o in w.items() if o in REFUSED}
    assert len(answered) + len(refused) == sum(map(len, outcomes)), outcomes
    assert len(refused) == WORKERS

    # The room service is down: WebSocket sends wait in the gateway; REST says so plainly.
    down_sends = [(ana, ["a-down-1", "a-down-2"]), (ben, ["b-down-1"])]
    for member, cmids in down_sends:
        for cmid in cmids:
            await member.send({"type": "send", "content": cmid, "client_msg_id": cmid})
        await member.send({"type": "ping"})
        await member.wait_for(lambda f: f["type"] == "pong")  # the gateway has taken the sends
    reply = await api.http.post(
        f"/api/rooms/{room['id']}/messages", json={"content": "now?"}, headers=auth(ana_token)
    )
    assert reply.status_code == 503 and reply.json()["error"]["code"] == "unavailable"

    await stack.start_room()
    for member, cmids in down_sends:
        for cmid in cmids:
            await member.wait_for(lambda f, c=cmid: f["type"] == "ack" and f["client_msg_id"] == c)
    await ana.send({"type": "send", "content": "the end", "client_msg_id": "end"})
    end = await ana.wait_for(lambda f: f["type"] == "ack" and f["client_msg_id"] == "end")
    for member in (ana, ben):
        await member.wait_until(lambda m=member: end["seq"] in m.seqs())

    history = await api.all_messages(ana_token, room["id"])
    assert [m["seq"] for m in history] == list(range(1, end["seq"] + 1))
    stored = {m["client_msg_id"]: m for m in history}
    assert len(stored) == len(history)
    for cmid, message in answered.items():
        assert (stored[cmid]["id"], stored[cmid]["seq"]) == (message.id, message.seq)
    assert refused.isdisjoint(stored)  # a refused call stored nothing
    expected = {"a1", "a2", *answered, *down_sends[0][1], *down_sends[1][1], "end"}
    assert set(stored) == expected
    assert ana.messages() == history
    assert ben.messages() == history
    assert ana.close_code is None and ben.close_code is None  # nobody was disconnected
    await ana.close()
    await ben.close()


async def lock_waiters(db: asyncpg.Connection) -> int:
    """Backends of this database waiting for a lock."""
    return await db.fetchval(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )


# PostgreSQL only: it shows that the call is in flight (its backend waits on our row lock);
# SQLite gives no such sign, and without one the test would have to guess with a sleep.
@pytest.mark.postgres
async def test_sigterm_finishes_an_in_flight_call_and_refuses_new_ones(
    postgres_stack: Stack,
) -> None:
    stack = postgres_stack
    url = make_url(stack.database_url).set(drivername="postgresql")
    db = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        async with stack.channel(stack.room_addr) as channel:
            stub = RoomServiceStub(channel)
            ana = await register_actor(channel, "ana")
            room = await stub.CreateRoom(
                pb.CreateRoomRequest(actor=ana, name="Drain"), timeout=CALL_TIMEOUT_S
            )
            watch = await watch_health(channel)
            session = await open_session(stub, room.id)

            # Hold the room's row so that a post is stuck inside the room service.
            lock = db.transaction()
            await lock.start()
            await db.execute("SELECT id FROM rooms WHERE id = $1 FOR UPDATE", room.id)
            post = stub.PostMessage(
                pb.PostMessageRequest(
                    room_id=room.id,
                    author=ana,
                    content="in flight",
                    client_msg_id="c1",
                ),
                timeout=CALL_TIMEOUT_S,
            )
            async with asyncio.timeout(CALL_TIMEOUT_S):
                while True:
                    if await lock_waiters(db):
                        break
                    await asyncio.sleep(0.02)  # pg_stat_activity can only be polled

            stack.room.process.send_signal(signal.SIGTERM)
            await until_not_serving(watch)
            assert await stream_end_code(session) == grpc.StatusCode.UNAVAILABLE
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.GetRoom(
                    pb.GetRoomRequest(room_id=room.id, actor=ana), timeout=CALL_TIMEOUT_S
                )
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
            # Still draining: the accepted call holds the shutdown open.
            assert stack.room.running and not post.done()

            await lock.rollback()
            reply = await post
            assert (reply.message.seq, reply.message.content) == (1, "in flight")
            async with asyncio.timeout(EXIT_TIMEOUT_S):
                assert await stack.room.process.wait() == 0
    finally:
        await db.close()

    await stack.start_room()
    async with stack.channel(stack.room_addr) as channel:
        # wait_for_ready: the new channel may share the old one's subchannel, still backing off.
        page = await RoomServiceStub(channel).LoadHistory(
            pb.LoadHistoryRequest(room_id=room.id, actor=ana),
            timeout=CALL_TIMEOUT_S,
            wait_for_ready=True,
        )
    assert [(m.id, m.seq) for m in page.messages] == [(reply.message.id, 1)]
