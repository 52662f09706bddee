"""The RoomSession stream under stress: a send the database refuses, churn, joins, a crash."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import websockets
from sqlalchemy.engine import make_url

from services.common.net import http_ok
from services.common.pb import room_pb2 as pb
from tests.support.client import Api, Member, auth, from_ip, new_ip, poll_until
from tests.support.databases import (
    PostgresUnavailable,
    create_postgres_database,
    drop_postgres_database,
    skip_or_fail,
)
from tests.support.room_grpc import TIMEOUT_S, actor, room_service
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

CHURN_CYCLES = 60


@pytest.mark.postgres
async def test_a_send_postgresql_refuses_fails_alone_and_the_room_goes_on(tmp_path: Path) -> None:
    try:
        url = await create_postgres_database()
    except PostgresUnavailable as error:
        skip_or_fail(error)
    try:
        async with room_service(tmp_path, url) as room:
            await refuse_content_in_database(url, "refused by the database")
            alice, bob = actor(await room.register("alice")), actor(await room.register("bob"))
            created = await room.rooms.CreateRoom(
                pb.CreateRoomRequest(actor=alice, name="Plans"), timeout=TIMEOUT_S
            )
            await room.rooms.UpdateRoom(
                pb.UpdateRoomRequest(actor=alice, room_id=created.id, access=pb.ROOM_ACCESS_OPEN),
                timeout=TIMEOUT_S,
            )
            requests: asyncio.Queue[pb.SessionRequest | None] = asyncio.Queue()

            async def outgoing() -> Any:
                while (request := await requests.get()) is not None:
                    yield request

            def send(conn_id: str, user: pb.User, content: str, cmid: str) -> None:
                message = pb.SendMessage(
                    conn_id=conn_id, author=user, content=content, client_msg_id=cmid
                )
                requests.put_nowait(pb.SessionRequest(send=message))

            call = room.rooms.RoomSession(outgoing())
            requests.put_nowait(
                pb.SessionRequest(open=pb.SessionOpen(room_id=created.id, gateway_id="t"))
            )
            for conn_id, user in (("a", alice), ("b", bob)):
                requests.put_nowait(
                    pb.SessionRequest(join=pb.MemberJoin(conn_id=conn_id, user=user))
                )
            send("a", alice, "refused by the database", "bad")
            send("b", bob, "and yet", "good")
            results: dict[str, pb.SendResult] = {}
            async with asyncio.timeout(TIMEOUT_S):
                async for event in call:
                    if event.HasField("send_result"):
                        results[event.send_result.client_msg_id] = event.send_result
                    if len(results) == 2:
                        break
            # The sender is told ...
            assert (results["bad"].conn_id, results["bad"].error_code) == ("a", "internal")
            # ... and the others' sends go on, on the same stream.
            assert (results["good"].error_code, results["good"].message.content) == ("", "and yet")
            requests.put_nowait(None)
            call.cancel()
            log = room.stack.room.log_path.read_text(errors="replace") if room.stack.room else ""
            assert log.count("session opened") == 1
            # One failure logged once (with its traceback), not a stream restarting in a loop.
            assert log.count("session request failed") == 1
            assert "session stream failed" not in log
    finally:
        await drop_postgres_database(url)


async def refuse_content_in_database(url: str, content: str) -> None:
    """Make PostgreSQL itself reject one message's INSERT (text validation lets it through)."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            f"""
            CREATE FUNCTION refuse_one() RETURNS trigger AS $$
            BEGIN
                IF NEW.content = '{content}' THEN RAISE EXCEPTION 'refused for the test'; END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER refuse_one BEFORE INSERT ON messages
                FOR EACH ROW EXECUTE FUNCTION refuse_one();
            """
        )
    finally:
        await connection.close()


async def churn_once(url: str, token: str, when: str) -> None:
    """Open a socket and hang up: before hello, right after it, or after welcome."""
    ws = await websockets.connect(url)
    try:
        if when != "before-hello":
            await ws.send(json.dumps({"type": "hello", "token": token}))
        if when == "after-welcome":
            await ws.recv()
    finally:
        if when == "abort":
            ws.transport.abort()
        else:
            await ws.close()


async def test_presence_converges_after_connect_disconnect_churn(stack: Stack, api: Api) -> None:
    owner, owner_token = await api.session("owner")
    room = await api.create_room(owner_token, "Churn")
    people = [await api.session(f"churner{i}") for i in range(4)]
    url = stack.ws_url(room["id"])
    kinds = ["before-hello", "after-hello", "after-welcome", "abort"]
    for cycle in range(CHURN_CYCLES):
        await asyncio.gather(
            *(
                churn_once(url, token, kinds[(cycle + i) % len(kinds)])
                for i, (_, token) in enumerate(people)
            ),
            return_exceptions=True,
        )

    # Nobody else has a socket open: a newcomer must (soon) see only itself online.
    async def alone() -> bool:
        observer = Member(url, owner_token)
        try:
            welcome = await observer.connect()
        finally:
            await observer.close()
        return [p["id"] for p in welcome["participants"]] == [owner["id"]]

    await poll_until(alone, timeout=30)


async def test_welcome_comes_after_the_open_room_join_is_committed(stack: Stack, api: Api) -> None:
    _, owner_token = await api.session("owner")
    room = await api.create_room(owner_token, "Lobby")
    for _ in range(10):
        joiner = Api(stack.base_url(), headers=from_ip(new_ip()))  # per-IP sign-up limits
        try:
            _, token = await joiner.register()
        finally:
            await joiner.close()
        member = Member(stack.ws_url(room["id"]), token)
        try:
            welcome = await member.connect()
            assert welcome["room"]["role"] == "member"
            reply = await api.http.get(f"/api/rooms/{room['id']}/members", headers=auth(token))
            assert reply.status_code == 200, reply.text
            assert welcome["user"]["id"] in {m["user"]["id"] for m in reply.json()["members"]}
        finally:
            await member.close()


async def test_a_room_service_crash_leaves_no_destroyed_task_in_the_gateway_log(
    stack: Stack, api: Api
) -> None:
    _, token = await api.session("ana")
    room = await api.create_room(token, "Crash")
    member = Member(stack.ws_url(room["id"]), token)
    await member.connect()
    try:
        for crash in range(2):
            await stack.kill_room()
            await stack.start_room()
            await stack.gateways[0].wait_ready(lambda: http_ok(f"{stack.base_url()}/readyz"))
            cmid = f"c{crash}"
            await member.send({"type": "send", "content": "back?", "client_msg_id": cmid})
            await member.wait_for(
                lambda f: f["type"] == "ack" and f["client_msg_id"] == f"c{crash}"  # noqa: B023 (awaited at once)
            )
    finally:
        await member.close()
    with contextlib.suppress(Exception):
        await stack.stop()  # the gateway writes what it destroys on the way out, too
    log = stack.gateways[0].log_path.read_text(errors="replace")
    assert "Task was destroyed but it is pending" not in log
