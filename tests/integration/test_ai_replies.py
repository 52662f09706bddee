"""Personas answering in rooms, through real processes: room service, LLM node and gateways.

The LLM node's registry points at fake OpenAI-compatible servers running in this test process
(tests/support/providers), which record what they were sent and when a client hung up.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from services.common.net import http_ok
from tests.support.client import (
    NO_LIMITS,
    WAIT_S,
    Api,
    Member,
    ai_replies,
    auth,
    create_persona_room,
    is_reply,
    persona,
    reply_frames,
    resume,
    running_ai_stack,
    say,
    shown_text,
    wait_reply,
)
from tests.support.fixtures import (
    api_fixture,
    closing_members,
    connected,
    database_fixture,
    fresh_hold,
)
from tests.support.providers import FakeProvider, openai_server, split_tokens
from tests.support.providers._script import count_words
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

# The fast provider's answer names @alpha: a reply that triggered its persona would show.
TEXT = "Sure, @alpha here: the answer is forty-two, as promised earlier."
HELD_TEXT = "One two three four five six seven eight nine ten."
HOLD_AFTER = 3  # the held provider pauses every stream after this many tokens until released
HELD_PREFIX = "".join(split_tokens(HELD_TEXT)[:HOLD_AFTER])
MISSING_KEY_ENV = "CHIMERA_TEST_NO_SUCH_KEY"  # the stack strips CHIMERA_* vars: never set


@dataclass
class Providers:
    fast: FakeProvider
    held: FakeProvider
    refusing: FakeProvider  # answers every generation with HTTP 400
    erroring: FakeProvider  # sends an error event after two tokens
    dropping: FakeProvider  # hangs up after two tokens


MODELS = ("fast", "held", "refusing", "erroring", "dropping")  # registry ids = Providers fields


def registry(providers: Providers) -> str:
    """The LLM node's model registry: one openai_compatible model per fake server, plus an
    `openai` model whose key variable is unset."""
    entries = [
        f'[[models]]\nid = "{model_id}"\nbackend = "openai_compatible"\n'
        f'base_url = "{getattr(providers, model_id).base_url}"\nmodel = "fake-{model_id}"\n'
        "context_window = 4096\n"
        for model_id in MODELS
    ]
    entries.append(
        '[[models]]\nid = "keyless"\nbackend = "openai"\nmodel = "gpt-4o-mini"\n'
        f'api_key_env = "{MISSING_KEY_ENV}"\n'
    )
    return "\n".join(entries)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def providers() -> AsyncIterator[Providers]:
    async with AsyncExitStack() as stack:
        yield Providers(
            fast=await stack.enter_async_context(openai_server(text=TEXT)),
            held=await stack.enter_async_context(
                openai_server(text=HELD_TEXT, hold_after=HOLD_AFTER)
            ),
            refusing=await stack.enter_async_context(openai_server(failures=[400] * 100)),
            erroring=await stack.enter_async_context(
                openai_server(text=HELD_TEXT, fail_after_tokens=2, fail_mid_stream="error")
            ),
            dropping=await stack.enter_async_context(
                openai_server(text=HELD_TEXT, fail_after_tokens=2, fail_mid_stream="drop")
            ),
        )


database = database_fixture()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(
    database: str, providers: Providers, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """One stack per database, with two gateways; each test makes its own rooms and users."""
    workdir = tmp_path_factory.mktemp("ai")
    async with running_ai_stack(
        database, workdir, registry(providers), NO_LIMITS, gateways=2
    ) as stack:
        yield stack


api = api_fixture()


@pytest_asyncio.fixture(loop_scope="module")
async def members(providers: Providers) -> AsyncIterator[list[Member]]:
    """Members a test opens, all closed at its end; the held provider's events start afresh."""
    async with closing_members() as opened:
        with fresh_hold(providers.held):
            yield opened


async def post(api: Api, token: str, room_id: str, content: str) -> dict[str, Any]:
    reply = await api.http.post(
        f"/api/rooms/{room_id}/messages", json={"content": content}, headers=auth(token)
    )
    assert reply.status_code == 201, reply.text
    return reply.json()


async def wait_text(member: Member, message_id: str, text: str) -> None:
    """Wait until `member` shows `text` for the message."""
    await member.wait_until(lambda: shown_text(member, message_id) == text)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = WAIT_S) -> None:
    """Poll `check` until it holds (for state only visible by asking, such as REST history)."""
    async with asyncio.timeout(timeout):
        while True:
            if await check():
                return
            await asyncio.sleep(0.05)


def new_requests(provider: FakeProvider, since: int) -> list[dict[str, Any]]:
    return provider.bodies[since:]


def assert_streamed(member: Member, reply: dict[str, Any], text: str) -> None:
    """What every member sees of a reply present from its start: "streaming" first, then deltas
    adding up to `text`, then the final message, and nothing about it after that."""
    frames = reply_frames(member, reply["id"])
    first, last = frames[0], frames[-1]
    assert first["type"] == "message" and first["message"]["status"] == "streaming"
    assert first["message"]["content"] == ""
    assert last["type"] == "message" and last["message"]["status"] != "streaming"
    middle = frames[1:-1]
    assert middle and all(f["type"] == "delta" for f in middle)
    assert "".join(f["text"] for f in middle) == text
    assert first["message"]["seq"] == last["message"]["seq"]


# --- personas in rooms ------------------------------------------------------------------------


async def test_rooms_take_personas_with_defaults_and_patch_replaces_them(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    _, token = await api.session("Ana")
    room = await create_persona_room(
        api,
        token,
        {"handle": "@Alpha", "model": "fast", "system_prompt": "Be brief."},
        persona("beta", "fast", temperature=0.2, max_tokens=64),
    )
    alpha, beta = room["personas"]
    assert alpha == {
        "handle": "alpha",
        "name": "alpha",
        "model": "fast",
        "system_prompt": "Be brief.",
        "temperature": 0.7,
        "max_tokens": 512,
        "talkativeness": 0.5,
        "muted": False,
        "voice": None,  # not heard
        "voice_rate": 1.0,
    }
    assert (beta["handle"], beta["temperature"], beta["max_tokens"]) == ("beta", 0.2, 64)

    ana = await connected(shared, room["id"], token, members)
    reply = await api.http.patch(
        f"/api/rooms/{room['id']}",
        json={"personas": [persona("gamma", "fast", system_prompt="New.")]},
        headers=auth(token),
    )
    assert reply.status_code == 200, reply.text
    assert [p["handle"] for p in reply.json()["personas"]] == ["gamma"]
    changed = await ana.wait_for(lambda f: f["type"] == "room")
    assert [p["handle"] for p in changed["room"]["personas"]] == ["gamma"]
    fetched = await api.http.get(f"/api/rooms/{room['id']}", headers=auth(token))
    assert [(p["handle"], p["system_prompt"]) for p in fetched.json()["personas"]] == [
        ("gamma", "New.")
    ]

    renamed = await api.http.patch(
        f"/api/rooms/{room['id']}", json={"name": "Renamed"}, headers=auth(token)
    )
    assert [p["handle"] for p in renamed.json()["personas"]] == ["gamma"]  # no personas: kept
    cleared = await api.http.patch(
        f"/api/rooms/{room['id']}", json={"personas": []}, headers=auth(token)
    )
    assert cleared.json()["personas"] == []


@pytest.mark.parametrize(
    ("personas", "mentions"),
    [
        ([persona("alpha", "fast"), persona("Alpha", "fast")], "used twice"),
        ([persona("has space", "fast")], "handle"),
        ([persona("all", "fast")], "'all'"),
        ([persona("x" * 33, "fast")], "handle"),
        ([persona("alpha", "")], "model"),
        ([persona("alpha", "fast", temperature=3)], "temperature"),
        ([persona("alpha", "fast", max_tokens=0)], "max_tokens"),
    ],
)
async def test_invalid_personas_are_refused_with_a_reason(
    api: Api, personas: list[dict[str, Any]], mentions: str
) -> None:
    _, token = await api.session("Ana")
    created = await api.http.post(
        "/api/rooms", json={"name": "Bad", "personas": personas}, headers=auth(token)
    )
    assert created.status_code == 400, created.text
    assert created.json()["error"]["code"] == "invalid_argument"
    assert mentions in created.json()["error"]["message"]

    room = await create_persona_room(api, token, persona("keep", "fast"))
    patched = await api.http.patch(
        f"/api/rooms/{room['id']}", json={"personas": personas}, headers=auth(token)
    )
    assert patched.status_code == 400, patched.text
    assert mentions in patched.json()["error"]["message"]
    fetched = await api.http.get(f"/api/rooms/{room['id']}", headers=auth(token))
    assert [p["handle"] for p in fetched.json()["personas"]] == ["keep"]


async def test_models_list_availability_and_why_not(api: Api) -> None:
    _, token = await api.session("Ana")
    assert (await api.http.get("/api/models")).status_code == 401
    models = {
        m["id"]: m
        for m in (await api.http.get("/api/models", headers=auth(token))).json()["models"]
    }
    assert set(models) == {*MODELS, "keyless"}
    assert models["fast"] == {
        "id": "fast",
        "backend": "openai_compatible",
        "model": "fake-fast",
        "available": True,
        "reason": None,
        "context_window": 4096,
    }
    assert models["keyless"]["available"] is False
    assert MISSING_KEY_ENV in models["keyless"]["reason"]

    reply = await api.http.get("/api/providers", headers=auth(token))
    providers = {p["backend"]: p for p in reply.json()["providers"]}
    assert providers["openai_compatible"] == {
        "backend": "openai_compatible",
        "models": len(MODELS),
        "available": len(MODELS),
        "healthy": True,
        "detail": "ok",
    }
    assert (providers["openai"]["models"], providers["openai"]["available"]) == (1, 0)
    assert providers["openai"]["healthy"] is False
    assert MISSING_KEY_ENV in providers["openai"]["detail"]


# --- mentions -----------------------------------------------------------------------------------


async def test_a_mention_streams_the_reply_to_every_member_on_every_gateway(
    shared: Stack, api: Api, providers: Providers, members: list[Member]
) -> None:
    _, token_a = await api.session("Ana")
    _, token_b = await api.session("Ben")
    room = await create_persona_room(
        api, token_a, persona("alpha", "fast"), persona("beta", "fast")
    )
    ana = await connected(shared, room["id"], token_a, members, gateway=0)
    ben = await connected(shared, room["id"], token_b, members, gateway=1)
    before = len(providers.fast.requests)

    trigger = await say(ana, "@alpha what is the answer?")
    for member in (ana, ben):
        reply = await wait_reply(member, trigger)
        assert reply["status"] == "complete"
        assert reply["content"] == TEXT
        assert reply["author"]["kind"] == "ai" and reply["author"]["handle"] == "alpha"
        assert reply["author"]["name"] == "Alpha"
        assert reply["reply_to"] == trigger
        assert reply["model"] == "fake-fast"
        assert reply["error"] is None
        assert_streamed(member, reply, TEXT)

    (body,) = new_requests(providers.fast, before)  # one generation, whoever watches
    assert reply["usage"] == {
        "prompt_tokens": count_words(body),
        "completion_tokens": len(split_tokens(TEXT)),
    }
    assert 0 <= reply["timing"]["time_to_first_token_ms"] <= reply["timing"]["total_ms"]
    history = await api.all_messages(token_b, room["id"])
    assert [(m["id"], m["status"], m["content"]) for m in history] == [
        (trigger, "complete", "@alpha what is the answer?"),
        (reply["id"], "complete", TEXT),
    ]
    assert history[1]["usage"] == reply["usage"] and history[1]["timing"] == reply["timing"]


async def test_a_mention_posted_over_rest_is_answered(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    _, token = await api.session("Ana")
    room = await create_persona_room(api, token, persona("alpha", "fast"))
    ana = await connected(shared, room["id"], token, members, gateway=1)
    posted = await post(api, token, room["id"], "Over REST: @alpha?")
    reply = await wait_reply(ana, posted["id"])
    assert (reply["status"], reply["content"], reply["author"]["handle"]) == (
        "complete",
        TEXT,
        "alpha",
    )
    assert_streamed(ana, reply, TEXT)


async def test_mentions_next_to_punctuation_are_answered(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    _, token = await api.session("Ana")
    room = await create_persona_room(api, token, persona("alpha", "fast"), persona("beta", "fast"))
    ana = await connected(shared, room["id"], token, members)
    triggers = [
        await say(ana, content)
        for content in ("Ask her (@alpha)", "@beta, thoughts?", "What now, @ALPHA?")
    ]
    handles = [(await wait_reply(ana, t))["author"]["handle"] for t in triggers]
    assert handles == ["alpha", "beta", "alpha"]


async def test_all_makes_every_persona_answer(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    _, token = await api.session("Ana")
    room = await create_persona_room(
        api, token, persona("alpha", "fast"), persona("beta", "fast"), persona("gamma", "fast")
    )
    ana = await connected(shared, room["id"], token, members)
    trigger = await say(ana, "Status please, @all.")
    replies = [await wait_reply(ana, trigger, handle) for handle in ("alpha", "beta", "gamma")]
    assert all(r["status"] == "complete" and r["content"] == TEXT for r in replies)
    assert len({r["seq"] for r in replies}) == 3


async def test_unknown_handles_and_addresses_do_nothing(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    _, token = await api.session("Ana")
    room = await create_persona_room(api, token, persona("alpha", "fast"))
    ana = await connected(shared, room["id"], token, members)
    ignored = [
        await say(ana, content)
        for content in ("@nobody are you there?", "mail ana@alpha.example", "@alphabet soup")
    ]
    marker = await say(ana, "@alpha marker")
    await wait_reply(ana, marker)
    # Mentions are handled in order, so anything the earlier messages started came first.
    assert [r["reply_to"] for r in ai_replies(ana)] == [marker]
    assert not any(is_reply(m) and m["reply_to"] in ignored for m in ana.messages())


async def test_a_personas_own_reply_never_triggers_it(
    shared: Stack, api: Api, providers: Providers, members: list[Member]
) -> None:
    assert "@alpha" in TEXT
    _, token = await api.session("Ana")
    room = await create_persona_room(api, token, persona("alpha", "fast"))
    ana = await connected(shared, room["id"], token, members)
    before = len(providers.fast.requests)
    first = await say(ana, "@alpha go")
    await wait_reply(ana, first)
    # One persona answers one message at a time, in order: a reply its own answer set off
    # would come before the answer to this later message.
    marker = await say(ana, "@alpha and again")
    await wait_reply(ana, marker)
    assert [r["reply_to"] for r in ai_replies(ana)] == [first, marker]
    assert len(new_requests(providers.fast, before)) == 2


async def test_two_personas_on_one_model_answer_with_their_own_prompts(
    shared: Stack, api: Api, providers: Providers, members: list[Member]
) -> None:
    _, token = await api.session("Ana")
    room = await create_persona_room(
        api,
        token,
        persona("pirate", "fast", system_prompt="You are a pirate. Say arr."),
        persona("poet", "fast", system_prompt="You are a poet. Rhyme."),
    )
    ana = await connected(shared, room["id"], token, members)
    before = len(providers.fast.requests)
    trigger = await say(ana, "@pirate @poet introduce yourselves")
    for handle in ("pirate", "poet"):
        assert (await wait_reply(ana, trigger, handle))["status"] == "complete"

    systems = sorted(
        body["messages"][0]["content"] for body in new_requests(providers.fast, before)
    )
    assert len(systems) == 2
    assert all(body["messages"][0]["role"] == "system" for body in providers.fast.bodies[before:])
    assert systems[0].startswith("You are a pirate. Say arr.") and "@pirate" in systems[0]
    assert systems[1].startswith("You are a poet. Rhyme.") and "@poet" in systems[1]
    assert "poet" not in systems[0].lower() and "pirate" not in systems[1].lower()


async def test_a_persona_sees_the_room_with_speakers_named(
    shared: Stack, api: Api, providers: Providers, members: list[Member]
) -> None:
    _, token_a = await api.session("Ana")
    _, token_b = await api.session("Ben")
    room = await create_persona_room(
        api, token_a, persona("alpha", "fast"), persona("beta", "fast")
    )
    ana = await connected(shared, room["id"], token_a, members)
    ben = await connected(shared, room["id"], token_b, members, gateway=1)
    await say(ana, "The launch is on Friday.")
    ask = await say(ben, "@alpha when is the launch?")
    await wait_reply(ana, ask)
    before = len(providers.fast.requests)
    follow = await say(ana, "@beta and you?")
    await wait_reply(ana, follow)

    (body,) = new_requests(providers.fast, before)
    assert [(m["role"], m["content"]) for m in body["messages"][1:]] == [
        ("user", "Ana: The launch is on Friday."),
        ("user", "Ben: @alpha when is the launch?"),
        ("user", f"Alpha: {TEXT}"),  # another persona's reply is just another speaker
        ("user", "Ana: @beta and you?"),
    ]
    assert "in a group chat room called 'AI room'" in body["messages"][0]["content"]

    before = len(providers.fast.requests)
    again = await say(ben, "@alpha thanks")
    await wait_reply(ana, again)
    (body,) = new_requests(providers.fast, before)
    assert ("assistant", TEXT) in [(m["role"], m["content"]) for m in body["messages"]]


# --- stopping and failing -----------------------------------------------------------------------


async def interrupt_over_rest(api: Api, token: str, room_id: str, message_id: str) -> dict:
    reply = await api.http.post(
        f"/api/rooms/{room_id}/messages/{message_id}/interrupt", headers=auth(token)
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


@pytest.mark.parametrize("via", ["websocket", "rest"])
async def test_any_member_can_stop_a_reply_and_the_provider_stream_closes(
    shared: Stack, api: Api, providers: Providers, members: list[Member], via: str
) -> None:
    held = providers.held
    _, token_a = await api.session("Ana")
    _, token_b = await api.session("Ben")
    room = await create_persona_room(api, token_a, persona("slow", "held"))
    ana = await connected(shared, room["id"], token_a, members, gateway=0)
    ben = await connected(shared, room["id"], token_b, members, gateway=1)
    completed = held.streams_completed

    trigger = await say(ana, "@slow tell me a long story")
    started = await wait_reply(ben, trigger, final=False)
    await wait_text(ben, started["id"], HELD_PREFIX)  # the provider is now holding its stream

    if via == "websocket":
        await ben.send({"type": "interrupt", "message_id": started["id"]})
    else:
        stopped = await interrupt_over_rest(api, token_b, room["id"], started["id"])
        assert (stopped["status"], stopped["content"]) == ("interrupted", HELD_PREFIX)
    for member in (ana, ben):
        final = await wait_reply(member, trigger)
        assert (final["status"], final["content"]) == ("interrupted", HELD_PREFIX)
        assert shown_text(member, started["id"]) == HELD_PREFIX
    await asyncio.wait_for(held.stream_closed.wait(), WAIT_S)  # the backend really stopped
    assert held.streams_completed == completed

    history = await api.all_messages(token_a, room["id"])
    assert (history[-1]["status"], history[-1]["content"]) == ("interrupted", HELD_PREFIX)
    # Stopping what no longer streams changes nothing.
    if via == "websocket":
        start = len(ben.frames)
        await ben.send({"type": "interrupt", "message_id": started["id"]})
        error = await ben.wait_for(lambda f: f["type"] == "error", start=start)
        assert error["code"] == "not_found"
    else:
        again = await interrupt_over_rest(api, token_b, room["id"], started["id"])
        assert (again["status"], again["content"]) == ("interrupted", HELD_PREFIX)
        human = await api.http.post(
            f"/api/rooms/{room['id']}/messages/{trigger}/interrupt", headers=auth(token_b)
        )
        assert human.status_code == 404


ERROR_CASES = [
    pytest.param("refusing", "", "rejected the request (400)", id="http-400"),
    pytest.param("erroring", "One two", "provider reported an error", id="error-event"),
    pytest.param("dropping", "One two", "connection to the provider broke", id="hang-up"),
]


@pytest.mark.parametrize(("model", "partial", "reason"), ERROR_CASES)
async def test_a_provider_failure_ends_the_reply_with_a_readable_reason(
    shared: Stack, api: Api, members: list[Member], model: str, partial: str, reason: str
) -> None:
    _, token = await api.session("Ana")
    room = await create_persona_room(api, token, persona("flaky", model))
    ana = await connected(shared, room["id"], token, members)
    trigger = await say(ana, "@flaky try")
    final = await wait_reply(ana, trigger)
    assert final["status"] == "error"
    assert reason in final["error"], final["error"]
    assert final["content"] == partial
    assert shown_text(ana, final["id"]) == partial
    history = await api.all_messages(token, room["id"])
    assert (history[-1]["status"], history[-1]["error"]) == ("error", final["error"])


async def test_a_persona_on_an_unavailable_model_answers_with_the_missing_key(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    _, token = await api.session("Ana")
    room = await create_persona_room(
        api, token, persona("ghost", "keyless"), persona("alpha", "fast")
    )
    ana = await connected(shared, room["id"], token, members)
    trigger = await say(ana, "@ghost @alpha hello")
    ghost = await wait_reply(ana, trigger, "ghost")
    assert ghost["status"] == "error" and ghost["content"] == ""
    assert MISSING_KEY_ENV in ghost["error"]
    assert reply_frames(ana, ghost["id"])[0]["message"]["status"] == "streaming"
    assert (await wait_reply(ana, trigger, "alpha"))["status"] == "complete"  # others still work


# --- joining and restarting mid-stream ----------------------------------------------------------


async def test_members_joining_mid_stream_get_the_text_so_far_then_the_rest(
    shared: Stack, api: Api, providers: Providers, members: list[Member]
) -> None:
    tokens = [(await api.session(name))[1] for name in ("Ana", "Ben", "Cora", "Dan")]
    room = await create_persona_room(api, tokens[0], persona("slow", "held"))
    ana = await connected(shared, room["id"], tokens[0], members)
    dan = await connected(shared, room["id"], tokens[3], members, gateway=0)
    trigger = await say(ana, "@slow go on")
    started = await wait_reply(ana, trigger, final=False)
    await wait_text(ana, started["id"], HELD_PREFIX)
    await wait_text(dan, started["id"], HELD_PREFIX)

    # Ben joins on the other gateway, which has no stream for the room yet (the room service
    # tells it the text so far); Cora on the same one (it knows already); Dan drops and resumes.
    ben = await connected(shared, room["id"], tokens[1], members, gateway=1)
    cora = await connected(shared, room["id"], tokens[2], members, gateway=0)
    await dan.drop()
    dropped_at = len(dan.frames)
    welcome = await resume(dan, last_seq=dan.last_seq())
    assert welcome["resumed"] is True
    late = [ben, cora, dan]
    for member in late:
        await wait_text(member, started["id"], HELD_PREFIX)

    providers.held.release.set()
    for member in [ana, *late]:
        final = await wait_reply(member, trigger)
        assert (final["status"], final["content"]) == ("complete", HELD_TEXT)
        assert shown_text(member, started["id"]) == HELD_TEXT
    # Each late member's first news of the reply carries the text so far; deltas add the rest.
    for member, since in ((ben, 0), (cora, 0), (dan, dropped_at)):
        first, *rest, last = reply_frames(member, started["id"], since)
        assert (first["message"]["status"], first["message"]["content"]) == (
            "streaming",
            HELD_PREFIX,
        )
        assert all(f["type"] == "delta" for f in rest)
        assert "".join(f["text"] for f in rest) == HELD_TEXT.removeprefix(HELD_PREFIX)
        assert last["message"]["status"] == "complete"


async def test_a_reply_that_ends_while_a_member_is_away_is_shown_ended_on_resume(
    shared: Stack, api: Api, providers: Providers, members: list[Member]
) -> None:
    tokens = [(await api.session(name))[1] for name in ("Ana", "Ben")]
    room = await create_persona_room(api, tokens[0], persona("slow", "held"))
    ana = await connected(shared, room["id"], tokens[0], members)
    ben = await connected(shared, room["id"], tokens[1], members)
    trigger = await say(ana, "@slow go on")
    started = await wait_reply(ben, trigger, final=False)
    await wait_text(ben, started["id"], HELD_PREFIX)
    await ben.drop()
    providers.held.release.set()
    await wait_reply(ana, trigger)

    # Ben resumes from the newest seq he has: the reply's own, which he last saw streaming.
    assert ben.last_seq() == started["seq"]
    welcome = await resume(ben, last_seq=ben.last_seq())
    assert welcome["resumed"] is True
    final = await wait_reply(ben, trigger)
    assert (final["status"], final["content"]) == ("complete", HELD_TEXT)
    assert shown_text(ben, started["id"]) == HELD_TEXT


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def restartable(
    database: str, providers: Providers, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """A stack of its own to kill; every delta is checkpointed so the partial text survives."""
    workdir = tmp_path_factory.mktemp("ai-restart")
    env = {**NO_LIMITS, "CHIMERA_CHECKPOINT_INTERVAL_S": "0"}
    async with running_ai_stack(database, workdir, registry(providers), env, gateways=1) as stack:
        yield stack


async def test_a_reply_streaming_when_the_room_service_dies_ends_interrupted(
    restartable: Stack, providers: Providers, members: list[Member]
) -> None:
    stack, held = restartable, providers.held
    api = Api(stack.base_url())
    try:
        tokens = [(await api.session(name))[1] for name in ("Ana", "Ben")]
        room = await create_persona_room(
            api, tokens[0], persona("slow", "held"), persona("alpha", "fast")
        )
        ana = await connected(stack, room["id"], tokens[0], members)
        ben = await connected(stack, room["id"], tokens[1], members)
        before = [await say(ana, f"before {i}") for i in range(3)]
        trigger = await say(ana, "@slow start")
        started = await wait_reply(ben, trigger, final=False)
        await wait_text(ben, started["id"], HELD_PREFIX)

        async def checkpointed() -> bool:
            last = (await api.all_messages(tokens[0], room["id"]))[-1]
            return last["id"] == started["id"] and last["content"] == HELD_PREFIX

        await eventually(checkpointed)
        shown_by_ben = ben.last_seq()
        await ben.drop()

        await stack.kill_room()
        # The LLM node saw its caller vanish and closed the provider's stream.
        await asyncio.wait_for(held.stream_closed.wait(), WAIT_S)
        await stack.start_room()
        await stack.gateways[0].wait_ready(lambda: http_ok(f"{stack.base_url()}/readyz"))

        final = await wait_reply(ana, trigger)  # Ana stayed connected through it all
        assert (final["status"], final["content"]) == ("interrupted", HELD_PREFIX)
        # Ben resumes from the last message he shows complete (the reply was still streaming).
        assert shown_by_ben == started["seq"]
        await resume(ben, last_seq=trigger_seq(ana, trigger))
        assert (await wait_reply(ben, trigger))["status"] == "interrupted"

        history = await api.all_messages(tokens[0], room["id"])
        assert [m["id"] for m in history] == [*before, trigger, started["id"]]
        assert [m["seq"] for m in history] == list(range(1, len(history) + 1))
        assert (history[-1]["status"], history[-1]["content"]) == ("interrupted", HELD_PREFIX)

        after = await say(ana, "@alpha are you still there?")  # the room works on
        reply = await wait_reply(ben, after)
        assert (reply["status"], reply["content"]) == ("complete", TEXT)
    finally:
        await api.close()


def trigger_seq(member: Member, message_id: str) -> int:
    return next(m["seq"] for m in member.messages() if m["id"] == message_id)
