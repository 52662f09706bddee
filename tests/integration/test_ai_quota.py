"""Daily AI token quotas through the whole stack (gateway, room service, LLM node, a fake OpenAI
server): replies are generated until the quota, then refused with a clear message without
reaching the model; the quota's scope (one room, or one account) is all it stops."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio

from tests.support.client import (
    Api,
    Member,
    auth,
    persona,
    running_ai_stack,
    say,
    wait_reply,
)
from tests.support.providers import FakeProvider, openai_server
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

QUOTA = 300  # tokens per day: a few short replies
MAX_TOKENS = 20  # each reply's budget, counted in full before it starts
ANSWER = "one two three four five"
MAX_TRIES = 30  # far more replies than QUOTA allows


@dataclass
class QuotaStack:
    stack: Stack
    provider: FakeProvider
    scope: str  # "room" or "user": which quota is tiny (the other is unlimited)


@pytest_asyncio.fixture(
    scope="module",
    loop_scope="module",
    params=[
        pytest.param(("room", "sqlite"), id="room-sqlite"),
        pytest.param(("room", "postgres"), id="room-postgres", marks=pytest.mark.postgres),
        pytest.param(("user", "sqlite"), id="user-sqlite"),
    ],
)
async def quota(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[QuotaStack]:
    scope, database = request.param
    env = {
        "CHIMERA_AI_ROOM_DAILY_TOKENS": str(QUOTA if scope == "room" else 0),
        "CHIMERA_AI_USER_DAILY_TOKENS": str(QUOTA if scope == "user" else 0),
    }
    async with openai_server(text=ANSWER) as provider:
        registry = (
            f'[[models]]\nid = "fake"\nbackend = "openai_compatible"\n'
            f'base_url = "{provider.base_url}"\nmodel = "fake"\n'
        )
        workdir = tmp_path_factory.mktemp(f"quota-{scope}-{database}")
        async with running_ai_stack(database, workdir, registry, env) as stack:
            yield QuotaStack(stack, provider, scope)


async def open_room(api: Api, token: str, name: str) -> str:
    """An open room (guests welcome) with one persona, `@bot`."""
    reply = await api.http.post(
        "/api/rooms",
        json={
            "name": name,
            "access": "open",
            "allow_guests": True,
            "personas": [persona("bot", "fake", max_tokens=MAX_TOKENS)],
        },
        headers=auth(token),
    )
    assert reply.status_code == 201, reply.text
    return str(reply.json()["id"])


async def ask(member: Member, text: str) -> dict:
    """Mention the persona; return its reply in its final state."""
    trigger = await say(member, f"@bot {text}")
    return await wait_reply(member, trigger, "bot")


async def ask_until_refused(member: Member, provider: FakeProvider) -> tuple[list[dict], dict]:
    """Mention the persona until a reply is refused: (the replies generated, the refused one)."""
    replies: list[dict] = []
    for tries in range(MAX_TRIES):
        calls = len(provider.requests)
        reply = await ask(member, f"question {tries}")
        if reply["status"] == "error":
            assert len(provider.requests) == calls, "a refused reply still called the model"
            return replies, reply
        assert reply["status"] == "complete", reply
        assert reply["content"] == ANSWER, reply
        assert len(provider.requests) == calls + 1
        replies.append(reply)
    raise AssertionError(f"no reply refused after {MAX_TRIES} replies; quota {QUOTA}")


def spent(replies: list[dict]) -> int:
    """Tokens the replies used, as the model reported them."""
    return sum(r["usage"]["prompt_tokens"] + r["usage"]["completion_tokens"] for r in replies)


def assert_quota_message(reply: dict, scope: str) -> None:
    error = reply["error"] or ""
    assert "quota" in error.lower(), error
    assert "00:00 UTC" in error, error
    assert f"{QUOTA:,}" in error, error
    if scope == "room":
        assert "room" in error.lower(), error


async def test_replies_stop_at_the_quota_and_only_in_its_scope(quota: QuotaStack) -> None:
    stack, provider = quota.stack, quota.provider
    api = Api(stack.base_url())
    opened: list[Member] = []
    try:
        _, ana_token = await api.session("Ana")
        _, ben_token = await api.session("Ben")
        first = await open_room(api, ana_token, "First")
        second = await open_room(api, ana_token, "Second")
        ana = Member(stack.ws_url(first), ana_token)
        ben = Member(stack.ws_url(first), ben_token)
        ana_elsewhere = Member(stack.ws_url(second), ana_token)
        opened += [ana, ben, ana_elsewhere]
        for member in opened:
            await member.connect()

        replies, refused = await ask_until_refused(ana, provider)
        assert replies, "the first reply was refused: the quota never let one through"
        assert_quota_message(refused, quota.scope)
        again = await ask(ana, "and now?")
        assert again["status"] == "error", "a used-up quota let a reply through"

        if quota.scope == "room":
            # Everyone in the room is stopped; the same person elsewhere is not.
            same_room = await ask(ben, "me too?")
            assert same_room["status"] == "error", "the room's quota stops everyone in it"
            assert_quota_message(same_room, quota.scope)
            elsewhere = await ask(ana_elsewhere, "another room")
            assert elsewhere["status"] == "complete", elsewhere
        else:
            # Others in the room go on; the same person's budget is shared by all her rooms.
            other_user = await ask(ben, "my turn")
            assert other_user["status"] == "complete", other_user
            more, refused_elsewhere = await ask_until_refused(ana_elsewhere, provider)
            assert_quota_message(refused_elsewhere, quota.scope)
            replies += more
        assert spent(replies) <= QUOTA, "replies spent more than the quota allows"
    finally:
        for member in opened:
            await member.close()
        await api.close()
