"""Fair AI capacity through real processes (defaults: 8 replies at once, 4 per account, 2 per
room, 20 unfinished per account): one account's floods cannot shut others out, queued replies
are shown at once with their place, past the bound a post is refused, and a room-service
restart leaves every queued reply answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from services.common.net import http_ok
from tests.support.client import (
    NO_LIMITS,
    Api,
    Member,
    auth,
    create_persona_room,
    persona,
    reply_frames,
    running_ai_stack,
    say,
    wait_reply,
)
from tests.support.fixtures import closing_members, connected, database_fixture, fresh_hold
from tests.support.providers import FakeProvider, openai_server
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

TEXT = "Fine, thanks."
REGISTRY = '[[models]]\nid = "held"\nbackend = "openai_compatible"\nbase_url = "{url}"\n'
REGISTRY += 'model = "fake-held"\n'

database = database_fixture()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def held() -> AsyncIterator[FakeProvider]:
    async with openai_server(text=TEXT, hold_after=1) as provider:
        yield provider


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(
    database: str, held: FakeProvider, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    workdir = tmp_path_factory.mktemp("fairness")
    registry = REGISTRY.format(url=held.base_url)
    async with running_ai_stack(database, workdir, registry, NO_LIMITS) as stack:
        yield stack


@pytest_asyncio.fixture(loop_scope="module")
async def members(held: FakeProvider) -> AsyncIterator[list[Member]]:
    with fresh_hold(held):
        async with closing_members() as opened:
            yield opened


def first_frame(member: Member, message_id: str) -> dict[str, Any]:
    return dict(reply_frames(member, message_id)[0]["message"])


async def test_an_account_flooding_four_rooms_leaves_room_for_someone_elses_mention(
    shared: Stack, held: FakeProvider, members: list[Member]
) -> None:
    api = Api(shared.base_url())
    try:
        _, mallory = await api.session("Mallory")
        _, bob = await api.session("Bob")
        rooms = [
            await create_persona_room(api, mallory, persona("a", "held"), persona("b", "held"))
            for _ in range(4)
        ]
        bobs = await create_persona_room(api, bob, persona("helper", "held"))
    finally:
        await api.close()
    floods = [await connected(shared, room["id"], mallory, members) for room in rooms]
    asked = [await say(member, "@all go") for member in floods]
    firsts = [
        first_frame(m, (await wait_reply(m, trigger, h, final=False))["id"])
        for m, trigger in zip(floods, asked, strict=True)
        for h in ("a", "b")
    ]
    # Mallory asked for eight at once: four stream (her share), four wait, and show it.
    assert sorted(f["status"] for f in firsts) == ["queued"] * 4 + ["streaming"] * 4
    assert all(f["queue_position"] >= 1 for f in firsts if f["status"] == "queued")

    ben = await connected(shared, bobs["id"], bob, members)
    trigger = await say(ben, "@helper are you there?")
    # Bob's reply starts at once: "thinking" for everyone, not stuck behind Mallory's.
    first = first_frame(ben, (await wait_reply(ben, trigger, final=False))["id"])
    assert (first["status"], first["queue_position"]) == ("streaming", None)

    held.release.set()
    assert (await wait_reply(ben, trigger))["status"] == "complete"
    for member, trigger_id in zip(floods, asked, strict=True):
        for handle in ("a", "b"):
            reply = await wait_reply(member, trigger_id, handle)
            assert (reply["status"], reply["content"]) == ("complete", TEXT)


async def test_in_a_room_a_members_mention_goes_ahead_of_anothers_flood_which_is_bounded(
    shared: Stack, held: FakeProvider, members: list[Member]
) -> None:
    api = Api(shared.base_url())
    try:
        _, mallory = await api.session("Mallory")
        _, bob = await api.session("Bob")
        five = [persona(f"p{i}", "held") for i in range(5)]
        room = await create_persona_room(api, mallory, *five)
        flood = await connected(shared, room["id"], mallory, members)
        ben = await connected(shared, room["id"], bob, members)
        asked = [await say(flood, "@all once more") for _ in range(4)]  # 20: her bound

        # The 21st is refused, named by its client_msg_id, and not stored ...
        await flood.send({"type": "send", "content": "@p0 again", "client_msg_id": "extra"})
        refused = await flood.wait_for(lambda f: f["type"] == "error")
        assert (refused["code"], refused["client_msg_id"]) == ("ai_queue_full", "extra")
        assert "20 AI replies waiting or being written" in refused["message"]
        # ... over REST as well, with a time to retry after.
        posted = await api.http.post(
            f"/api/rooms/{room['id']}/messages", json={"content": "@p1 rest"}, headers=auth(mallory)
        )
        assert posted.status_code == 429 and posted.headers["retry-after"]
        assert "20 AI replies" in posted.json()["error"]["message"]
        history = await api.all_messages(mallory, room["id"])
        assert not [m for m in history if m["content"] in ("@p0 again", "@p1 rest")]

        trigger = await say(ben, "@p4 one question")
        mine = first_frame(ben, (await wait_reply(ben, trigger, final=False))["id"])
        # Two of Mallory's stream (the room's two slots); Bob is next, before her 18 waiting.
        assert (mine["status"], mine["queue_position"]) == ("queued", 1)
        held.release.set()
        assert (await wait_reply(ben, trigger))["status"] == "complete"
        for trigger_id in asked:
            for i in range(5):
                assert (await wait_reply(flood, trigger_id, f"p{i}"))["status"] == "complete"
        # All answered: she may ask again.
        assert await say(flood, "@p0 thanks")
    finally:
        await api.close()


async def test_queued_replies_are_answered_after_the_room_service_is_killed(
    shared: Stack, held: FakeProvider, members: list[Member]
) -> None:
    api = Api(shared.base_url())
    try:
        _, token = await api.session("Ana")
        room = await create_persona_room(api, token, *(persona(h, "held") for h in "abcd"))
        ana = await connected(shared, room["id"], token, members)
        trigger = await say(ana, "@all status?")
        replies = {h: await wait_reply(ana, trigger, h, final=False) for h in "abcd"}
        waiting = sorted(
            h for h, r in replies.items() if first_frame(ana, r["id"])["status"] == "queued"
        )
        assert len(waiting) == 2  # two stream, the room's slots; two wait
        await asyncio.wait_for(held.holding.wait(), 10)

        await shared.kill_room()
        held.release.set()
        await shared.start_room()
        await shared.gateways[0].wait_ready(lambda: http_ok(f"{shared.base_url()}/readyz"))

        for handle in "abcd":
            reply = await wait_reply(ana, trigger, handle)
            if handle in waiting:
                assert (reply["status"], reply["content"]) == ("complete", TEXT)
            else:  # cut off mid-stream: visibly, with the reason
                assert reply["status"] == "interrupted" and "restarted" in reply["error"]
    finally:
        await api.close()
