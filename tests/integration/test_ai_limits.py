"""How persona replies are bounded and paced, through real processes: one generation per persona
at a time, the per-room cap, and deltas coalesced without losing a character."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from services.common.grpc_security import SECRET_FILE
from tests.support.client import (
    NO_LIMITS,
    Api,
    Member,
    ai_replies,
    create_persona_room,
    persona,
    reply_frames,
    running_ai_stack,
    running_stack,
    say,
    shown_text,
    wait_reply,
)
from tests.support.fixtures import closing_members, connected, database_fixture
from tests.support.providers import FakeProvider, openai_server, split_tokens
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

HELD_TEXT = "One two three four five six."
HOLD_AFTER = 2
HELD_PREFIX = "".join(split_tokens(HELD_TEXT)[:HOLD_AFTER])
PACED_TEXT = "a b c d e f g h i j"
PACED_TOKENS_PER_SECOND = 40.0  # a quarter of a second per reply: long enough to overlap
MANY_TOKENS = [f" w{i}" for i in range(400)]


@dataclass
class Providers:
    held: FakeProvider  # pauses every stream after HOLD_AFTER tokens until released
    paced: FakeProvider
    many: FakeProvider  # 400 tokens as fast as it can


def registry(providers: Providers) -> str:
    return "\n".join(
        f'[[models]]\nid = "{name}"\nbackend = "openai_compatible"\n'
        f'base_url = "{getattr(providers, name).base_url}"\nmodel = "fake-{name}"\n'
        for name in ("held", "paced", "many")
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def providers() -> AsyncIterator[Providers]:
    async with AsyncExitStack() as stack:
        yield Providers(
            held=await stack.enter_async_context(
                openai_server(text=HELD_TEXT, hold_after=HOLD_AFTER)
            ),
            paced=await stack.enter_async_context(
                openai_server(text=PACED_TEXT, tokens_per_second=PACED_TOKENS_PER_SECOND)
            ),
            many=await stack.enter_async_context(openai_server(tokens=MANY_TOKENS)),
        )


database = database_fixture()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def default_limits(
    database: str, providers: Providers, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """A stack with the default limits (two replies at once per room)."""
    workdir = tmp_path_factory.mktemp("limits")
    async with running_ai_stack(database, workdir, registry(providers), NO_LIMITS) as stack:
        yield stack


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def one_per_room(
    database: str, default_limits: Stack, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """A room service that lets one reply generate at a time per room (same LLM node)."""
    env = {
        **NO_LIMITS,
        "CHIMERA_AI_ROOM_CONCURRENCY": "1",
        "CHIMERA_LLM_ADDR": f"127.0.0.1:{default_limits.llm_port}",
        # The other stack's LLM node accepts only its own internal secret.
        "CHIMERA_INTERNAL_SECRET": (default_limits.workdir / "data" / SECRET_FILE)
        .read_text()
        .strip(),
    }
    async with running_stack(database, tmp_path_factory.mktemp("capped"), env) as stack:
        yield stack


@pytest_asyncio.fixture(loop_scope="module")
async def members(providers: Providers) -> AsyncIterator[list[Member]]:
    """Members a test opens, closed at its end; the providers' records start afresh."""
    for provider in (providers.held, providers.paced, providers.many):
        provider.release.set()  # nothing an earlier test held stays held
        provider.holding, provider.release = asyncio.Event(), asyncio.Event()
        provider.max_open_streams = provider.open_streams
    async with closing_members() as opened:
        try:
            yield opened
        finally:
            providers.held.release.set()


async def joined(stack: Stack, opened: list[Member], *personas: dict[str, Any]) -> Member:
    """A new user in a new room with `personas`, connected."""
    api = Api(stack.base_url())
    try:
        _, token = await api.session("Ana")
        room = await create_persona_room(api, token, *personas)
    finally:
        await api.close()
    return await connected(stack, room["id"], token, opened)


def index_of(member: Member, message_id: str, status: str) -> int:
    """Where `member` first saw the message in `status`."""
    return next(
        i
        for i, f in enumerate(member.frames)
        if f["type"] == "message"
        and f["message"]["id"] == message_id
        and f["message"]["status"] == status
    )


def started_replies(member: Member) -> list[dict[str, Any]]:
    """AI replies in the order they started streaming (a queued one starts later)."""
    first: dict[str, dict[str, Any]] = {}
    for message in member.messages():
        if message["author"]["kind"] == "ai" and message["status"] == "streaming":
            first.setdefault(message["id"], message)
    return list(first.values())


async def test_one_persona_answers_one_message_at_a_time(
    default_limits: Stack, providers: Providers, members: list[Member]
) -> None:
    held = providers.held
    ana = await joined(default_limits, members, persona("alpha", "held"), persona("beta", "held"))
    first = await say(ana, "@alpha one")
    second = await say(ana, "@alpha two")
    third = await say(ana, "@beta three")

    # The room allows two replies at once, and both held streams are open, but the second
    # message to @alpha waits for @alpha's first answer: the two started are alpha's and beta's.
    await ana.wait_until(lambda: len(started_replies(ana)) >= 2)
    started = started_replies(ana)[:2]
    assert sorted((m["author"]["handle"], m["reply_to"]) for m in started) == [
        ("alpha", first),
        ("beta", third),
    ]
    await ana.wait_until(lambda: all(shown_text(ana, m["id"]) == HELD_PREFIX for m in started))
    held.release.set()  # both streams are open and holding
    replies = {t: await wait_reply(ana, t) for t in (first, second, third)}
    assert all(r["status"] == "complete" and r["content"] == HELD_TEXT for r in replies.values())
    assert index_of(ana, replies[first]["id"], "complete") < index_of(
        ana, replies[second]["id"], "streaming"
    )
    # Every reply is stored when asked for, queued if it cannot start: seq follows the asking.
    assert replies[first]["seq"] < replies[second]["seq"] < replies[third]["seq"]
    queued = reply_frames(ana, replies[second]["id"])[0]["message"]
    assert (queued["status"], queued["queue_position"]) == ("queued", 1)
    assert held.max_open_streams == 2


async def test_the_room_cap_queues_replies_beyond_it(
    one_per_room: Stack, providers: Providers, members: list[Member]
) -> None:
    paced = providers.paced
    ana = await joined(one_per_room, members, persona("alpha", "paced"), persona("beta", "paced"))
    trigger = await say(ana, "@alpha @beta both of you, please")
    alpha = await wait_reply(ana, trigger, "alpha")
    beta = await wait_reply(ana, trigger, "beta")
    assert alpha["content"] == beta["content"] == PACED_TEXT
    assert paced.max_open_streams == 1  # the provider never had both streams open
    first, second = sorted((alpha, beta), key=lambda m: m["seq"])
    assert index_of(ana, first["id"], "complete") < index_of(ana, second["id"], "streaming")


async def test_tokens_are_coalesced_into_fewer_deltas_that_add_up_exactly(
    default_limits: Stack, members: list[Member]
) -> None:
    ana = await joined(default_limits, members, persona("chatty", "many"))
    trigger = await say(ana, "@chatty go")
    reply = await wait_reply(ana, trigger)
    assert (reply["status"], reply["content"]) == ("complete", "".join(MANY_TOKENS))
    deltas = [f["text"] for f in reply_frames(ana, reply["id"]) if f["type"] == "delta"]
    assert "".join(deltas) == "".join(MANY_TOKENS) == shown_text(ana, reply["id"])
    # The first text goes out at once (the unit tests of the coalescer pin that down); a burst
    # the LLM node received all at once may already arrive as one chunk.
    assert deltas[0].startswith(MANY_TOKENS[0])
    assert len(deltas) < len(MANY_TOKENS) / 2
    assert [r["id"] for r in ai_replies(ana)] == [reply["id"]]
