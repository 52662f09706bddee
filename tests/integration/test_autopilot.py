"""Autopilot and the rolling summary through real processes: room service, LLM node, gateway.

Pacing delays are zero and the speaker draw is seeded. The LLM node's models are fake
OpenAI-compatible servers in this test process, which record every prompt they get.
"""

from __future__ import annotations

import asyncio
import itertools
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
    persona,
    running_ai_stack,
    say,
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
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

CHAT_TEXT = "Interesting point, and here is one more thought."
HELD_TEXT = "One two three four five six."
HOLD_AFTER = 2
FILLER = "lorem ipsum dolor sit amet consectetur"
ENV = {
    **NO_LIMITS,
    "CHIMERA_AUTOPILOT_DELAY_BASE_S": "0",
    "CHIMERA_AUTOPILOT_DELAY_PER_CHAR_S": "0",
    "CHIMERA_AUTOPILOT_DELAY_MAX_S": "0",
    "CHIMERA_AUTOPILOT_SEED": "7",
    "CHIMERA_TYPING_TTL_S": "2",
    "CHIMERA_SUMMARY_MAX_TOKENS": "60",
}


@dataclass
class Providers:
    chat: FakeProvider  # answers at once
    held: FakeProvider  # pauses every stream after HOLD_AFTER tokens until released
    small: FakeProvider  # behind a model with a 600-token window
    summarizer: FakeProvider
    refusing: FakeProvider  # answers every generation with HTTP 400


WINDOWS = {"chat": 8192, "held": 8192, "small": 600, "summarizer": 8192, "refusing": 8192}


def registry(providers: Providers) -> str:
    return "\n".join(
        f'[[models]]\nid = "{name}"\nbackend = "openai_compatible"\n'
        f'base_url = "{getattr(providers, name).base_url}"\nmodel = "fake-{name}"\n'
        f"context_window = {window}\n"
        for name, window in WINDOWS.items()
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def providers() -> AsyncIterator[Providers]:
    async with AsyncExitStack() as stack:
        yield Providers(
            chat=await stack.enter_async_context(openai_server(text=CHAT_TEXT)),
            held=await stack.enter_async_context(
                openai_server(text=HELD_TEXT, hold_after=HOLD_AFTER)
            ),
            small=await stack.enter_async_context(openai_server(text="Noted.")),
            summarizer=await stack.enter_async_context(openai_server(text="SUMMARY-ONE")),
            refusing=await stack.enter_async_context(openai_server(failures=[400] * 1000)),
        )


database = database_fixture()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(
    database: str, providers: Providers, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    workdir = tmp_path_factory.mktemp("autopilot")
    async with running_ai_stack(database, workdir, registry(providers), ENV) as stack:
        yield stack


api = api_fixture()


@pytest_asyncio.fixture(loop_scope="module")
async def members(providers: Providers) -> AsyncIterator[list[Member]]:
    """Members a test opens, closed at its end; the held provider starts afresh."""
    async with closing_members() as opened:
        with fresh_hold(providers.held):
            yield opened


# --- what members see ----------------------------------------------------------------------


def is_ai(frame: dict[str, Any], status: str | None = None) -> bool:
    return (
        frame["type"] == "message"
        and frame["message"]["author"]["kind"] == "ai"
        and (status is None or frame["message"]["status"] == status)
    )


def is_system(frame: dict[str, Any], text: str = "") -> bool:
    return (
        frame["type"] == "message"
        and frame["message"]["author"]["kind"] == "system"
        and text in frame["message"]["content"]
    )


def is_status(frame: dict[str, Any], state: str, reason: str | None = None) -> bool:
    return (
        frame["type"] == "autopilot_status"
        and frame["state"] == state
        and (reason is None or frame["reason"] == reason)
    )


def is_room(frame: dict[str, Any], **autopilot: Any) -> bool:
    return frame["type"] == "room" and all(
        frame["room"]["autopilot"][k] == v for k, v in autopilot.items()
    )


def at(member: Member, frame: dict[str, Any]) -> int:
    """Where `member` got `frame` (identity)."""
    return next(i for i, f in enumerate(member.frames) if f is frame)


async def autopilot(member: Member, **fields: Any) -> None:
    await member.send({"type": "autopilot", **fields})


async def patch(api: Api, token: str, room_id: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = await api.http.patch(f"/api/rooms/{room_id}", json=body, headers=auth(token))
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


async def post(api: Api, token: str, room_id: str, content: str) -> dict[str, Any]:
    reply = await api.http.post(
        f"/api/rooms/{room_id}/messages", json={"content": content}, headers=auth(token)
    )
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = WAIT_S) -> None:
    """Poll `check` until it holds (for state only visible by asking, such as REST history)."""
    async with asyncio.timeout(timeout):
        while True:
            if await check():
                return
            await asyncio.sleep(0.05)


def no_repeats(replies: list[dict[str, Any]]) -> bool:
    handles = [r["author"]["handle"] for r in replies]
    return all(a != b for a, b in itertools.pairwise(handles))


# --- settings and state ----------------------------------------------------------------------


async def test_the_room_carries_autopilot_settings_and_bad_ones_are_refused(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    _, token = await api.session("Ana")
    room = await create_persona_room(
        api, token, persona("alpha", "chat", talkativeness=0.9), persona("beta", "chat", muted=True)
    )
    assert room["autopilot"] == {
        "enabled": False,
        "strategy": "natural",
        "max_turns": 10,
        "token_budget": 200_000,
        "idle_timeout_s": 300,
        "summary_model": None,
        "turns": 0,
        "tokens_used": 0,
        "stopped_reason": None,
    }
    assert room["summary"] is None
    assert [(p["talkativeness"], p["muted"]) for p in room["personas"]] == [
        (0.9, False),
        (0.5, True),
    ]
    ana = await connected(shared, room["id"], token, members)
    assert ana.welcome is not None
    assert ana.welcome["room"]["autopilot"]["enabled"] is False
    assert ana.welcome["autopilot_status"] == {"state": "off", "handle": None, "reason": None}

    changed = await patch(
        api,
        token,
        room["id"],
        {"autopilot": {"strategy": "round_robin", "max_turns": 3, "summary_model": "summarizer"}},
    )
    assert (changed["autopilot"]["strategy"], changed["autopilot"]["max_turns"]) == (
        "round_robin",
        3,
    )
    assert changed["autopilot"]["summary_model"] == "summarizer"
    assert (await ana.wait_for(lambda f: is_room(f, strategy="round_robin")))["room"] == changed

    for body, mentions in [
        ({"autopilot": {"strategy": "chaotic"}}, "strategy"),
        ({"autopilot": {"max_turns": 0}}, "max_turns"),
        ({"autopilot": {"token_budget": -5}}, "token_budget"),
        ({"autopilot": {"enabled": "yes please"}}, "enabled"),
        ({"personas": [persona("alpha", "chat", talkativeness=1.5)]}, "talkativeness"),
    ]:
        refused = await api.http.patch(f"/api/rooms/{room['id']}", json=body, headers=auth(token))
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["code"] == "invalid_argument"
        assert mentions in refused.json()["error"]["message"]

    start = len(ana.frames)
    await autopilot(ana, strategy="chaotic")
    error = await ana.wait_for(lambda f: f["type"] == "error", start=start)
    assert error["code"] == "invalid_argument" and "strategy" in error["message"]
    await autopilot(ana, enabled="on")
    error = await ana.wait_for(lambda f: f["type"] == "error", start=at(ana, error) + 1)
    assert error["code"] == "invalid_frame"
    fetched = await api.http.get(f"/api/rooms/{room['id']}", headers=auth(token))
    assert fetched.json()["autopilot"] == changed["autopilot"]  # nothing changed
    assert [p["handle"] for p in fetched.json()["personas"]] == ["alpha", "beta"]


async def test_members_switch_it_viewers_watch_and_only_owners_change_personas(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    _, owner = await api.register()
    _, member = await api.register()
    _, viewer = await api.register()
    _, outsider = await api.register()
    alpha = persona("alpha", "chat")
    room = await api.create_private_room(owner)
    room = await patch(api, owner, room["id"], {"personas": [alpha]})
    await api.add_member(owner, room["id"], member, "member")
    await api.add_member(owner, room["id"], viewer, "viewer")
    url = f"/api/rooms/{room['id']}"

    async def status(token: str, body: dict[str, Any]) -> tuple[int, str]:
        reply = await api.http.patch(url, json=body, headers=auth(token))
        return reply.status_code, reply.json().get("error", {}).get("code", "")

    changed = await patch(api, member, room["id"], {"autopilot": {"max_turns": 7}})
    assert changed["autopilot"]["max_turns"] == 7 and changed["role"] == "member"
    quiet = {"personas": [{**alpha, "muted": True}]}
    assert await status(member, quiet) == (403, "permission_denied")
    assert await status(member, {"autopilot": {"max_turns": 5}, "name": "Mine"}) == (
        403,
        "permission_denied",
    )
    assert await status(viewer, {"autopilot": {"max_turns": 5}}) == (403, "permission_denied")
    assert await status(outsider, {"autopilot": {"max_turns": 5}}) == (404, "not_found")
    for token, expected in ((viewer, 403), (outsider, 404)):
        refused = await api.http.post(f"{url}/summary", headers=auth(token))
        assert refused.status_code == expected, refused.text

    watcher = await connected(shared, room["id"], viewer, members)
    switcher = await connected(shared, room["id"], member, members)
    start = len(watcher.frames)
    await autopilot(watcher, enabled=True)
    error = await watcher.wait_for(lambda f: f["type"] == "error", start=start)
    assert error["code"] == "permission_denied"
    await autopilot(switcher, max_turns=3)
    # The viewer's socket stays open and sees the member's change, and nothing of its own.
    seen = await watcher.wait_for(lambda f: f["type"] == "room", start=start)
    assert seen["room"]["autopilot"]["max_turns"] == 3 and seen["room"]["role"] == "viewer"
    assert seen["room"]["autopilot"]["enabled"] is False


# --- turns -------------------------------------------------------------------------------------


async def test_personas_take_turns_and_it_stops_after_max_turns_saying_why(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    _, token_a = await api.session("Ana")
    _, token_b = await api.session("Ben")
    room = await create_persona_room(
        api,
        token_a,
        persona("alpha", "chat"),
        persona("beta", "chat"),
        persona("gamma", "chat"),
        persona("hush", "chat", muted=True, talkativeness=1.0),
    )
    ana = await connected(shared, room["id"], token_a, members)
    ben = await connected(shared, room["id"], token_b, members)
    topic = await say(ana, "Debate: tabs or spaces?")

    await autopilot(ana, enabled=True, max_turns=4)
    for member in (ana, ben):  # everyone sees it switched on
        await member.wait_for(lambda f: is_room(f, enabled=True, max_turns=4))
    stop = await ben.wait_for(lambda f: is_system(f, "4 AI turns in a row"))
    assert stop["message"]["author"]["name"] == "Autopilot"
    assert stop["message"]["content"] == (
        "Autopilot stopped: 4 AI turns in a row without a human message."
    )
    await ben.wait_for(lambda f: is_room(f, enabled=False, stopped_reason="max_turns", turns=4))
    await ben.wait_for(lambda f: is_status(f, "off"))

    replies = ai_replies(ben)
    assert len(replies) == 4
    assert all(r["status"] == "complete" and r["content"] == CHAT_TEXT for r in replies)
    assert no_repeats(replies)
    assert "hush" not in {r["author"]["handle"] for r in replies}
    # Each turn answers the message before it, and the stop comes after the last.
    assert [r["reply_to"] for r in replies] == [topic] + [r["id"] for r in replies[:-1]]
    assert stop["message"]["seq"] == replies[-1]["seq"] + 1
    # Each persona was shown thinking, then speaking, before its turn.
    for reply in replies:
        handle = reply["author"]["handle"]
        started = at(
            ben, next(f for f in ben.frames if is_ai(f) and f["message"]["id"] == reply["id"])
        )
        thinking = [i for i, f in enumerate(ben.frames[:started]) if is_status(f, "thinking")]
        assert thinking and ben.frames[thinking[-1]]["handle"] == handle


async def test_the_token_budget_stops_it(
    shared: Stack, api: Api, providers: Providers, members: list[Member]
) -> None:
    _, token = await api.session("Ana")
    room = await create_persona_room(api, token, persona("alpha", "chat"), persona("beta", "chat"))
    ana = await connected(shared, room["id"], token, members)
    await say(ana, "Go on, the two of you.")
    await patch(api, token, room["id"], {"autopilot": {"enabled": True, "token_budget": 5}})
    stop = await ana.wait_for(lambda f: is_system(f, "budget"))
    (reply,) = ai_replies(ana)
    used = reply["usage"]["prompt_tokens"] + reply["usage"]["completion_tokens"]
    assert used >= 5
    assert stop["message"]["content"] == (
        f"Autopilot stopped: its budget of 5 tokens is spent ({used:,} used)."
    )
    final = await ana.wait_for(lambda f: is_room(f, enabled=False))
    assert final["room"]["autopilot"]["stopped_reason"] == "token_budget"
    assert final["room"]["autopilot"]["tokens_used"] == used


async def test_it_stops_when_nobody_has_been_online_for_a_while(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    _, token = await api.session("Ana")
    room = await create_persona_room(api, token, persona("alpha", "chat"))
    ana = await connected(shared, room["id"], token, members)
    await say(ana, "Only mentions, please.")
    await autopilot(ana, enabled=True, strategy="manual", idle_timeout_s=1)
    await ana.wait_for(lambda f: is_status(f, "waiting", "no_speaker"))
    await ana.close()

    async def stopped() -> bool:
        messages = await api.all_messages(token, room["id"])
        return messages[-1]["author"]["kind"] == "system"

    await eventually(stopped)
    last = (await api.all_messages(token, room["id"]))[-1]
    assert last["content"] == "Autopilot stopped: nobody has been online for 1 second."
    fetched = await api.http.get(f"/api/rooms/{room['id']}", headers=auth(token))
    assert fetched.json()["autopilot"]["enabled"] is False
    assert fetched.json()["autopilot"]["stopped_reason"] == "idle"
    assert not [m for m in await api.all_messages(token, room["id"]) if m["author"]["kind"] == "ai"]


async def test_a_persona_that_cannot_answer_stops_it(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    _, token = await api.session("Ana")
    room = await create_persona_room(api, token, persona("alpha", "refusing"))
    ana = await connected(shared, room["id"], token, members)
    await say(ana, "Say something.")
    await autopilot(ana, enabled=True)
    stop = await ana.wait_for(lambda f: is_system(f, "could not answer"))
    (failed,) = ai_replies(ana)
    assert failed["status"] == "error"
    assert stop["message"]["content"] == (
        f"Autopilot stopped: @alpha could not answer ({failed['error']})."
    )
    await ana.wait_for(lambda f: is_room(f, enabled=False, stopped_reason="error"))


async def test_a_running_turn_can_be_stopped_and_a_member_can_switch_it_off(
    shared: Stack, api: Api, providers: Providers, members: list[Member]
) -> None:
    _, token_a = await api.session("Ana")
    _, token_b = await api.session("Ben")
    room = await create_persona_room(
        api, token_a, persona("alpha", "held"), persona("beta", "held")
    )
    ana = await connected(shared, room["id"], token_a, members)
    ben = await connected(shared, room["id"], token_b, members)
    await say(ana, "Brainstorm names for the cat.")
    await autopilot(ana, enabled=True)

    first = (await ben.wait_for(lambda f: is_ai(f, "streaming")))["message"]
    await asyncio.wait_for(providers.held.holding.wait(), WAIT_S)
    await ana.send({"type": "interrupt", "message_id": first["id"]})
    await ben.wait_for(lambda f: is_ai(f, "interrupted") and f["message"]["id"] == first["id"])
    # Autopilot goes on with the other persona.
    second = (
        await ben.wait_for(lambda f: is_ai(f, "streaming") and f["message"]["seq"] > first["seq"])
    )["message"]
    assert second["author"]["handle"] != first["author"]["handle"]

    await autopilot(ben, enabled=False)
    off = await ana.wait_for(lambda f: is_system(f, "switched off"))
    assert off["message"]["content"] == "Autopilot switched off by Ben."
    await ana.wait_for(lambda f: is_room(f, enabled=False, stopped_reason="switched_off"))
    await ana.wait_for(lambda f: is_status(f, "off"))
    providers.held.release.set()
    done = await ana.wait_for(lambda f: is_ai(f, "complete"))
    assert done["message"]["id"] == second["id"]  # the turn under way still finishes


# --- people first ------------------------------------------------------------------------------


async def test_a_typing_human_holds_the_next_turn_until_they_stop_or_it_expires(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    (ana_user, token_a), (_, token_b) = await api.session("Ana"), await api.session("Ben")
    room = await create_persona_room(
        api, token_a, persona("alpha", "chat"), persona("beta", "chat")
    )
    ana = await connected(shared, room["id"], token_a, members)
    ben = await connected(shared, room["id"], token_b, members)
    await say(ana, "What should we cook tonight?")

    def ana_typing(active: bool) -> Callable[[dict[str, Any]], bool]:
        return lambda f: (
            f["type"] == "typing" and f["user"]["id"] == ana_user["id"] and f["active"] is active
        )

    await ana.send({"type": "typing", "active": True})
    await ben.wait_for(ana_typing(True))
    await autopilot(ben, enabled=True, max_turns=1)
    held = await ben.wait_for(lambda f: is_status(f, "held", "typing"))
    assert not [f for f in ben.frames if is_ai(f)]
    await ana.send({"type": "typing", "active": False})
    stopped = await ben.wait_for(ana_typing(False), start=at(ben, held))
    turn = await ben.wait_for(lambda f: is_ai(f, "streaming"))
    assert at(ben, turn) > at(ben, stopped) > at(ben, held)
    end = await ben.wait_for(lambda f: is_system(f, "1 AI turn in a row"))

    # Typing that is never stopped holds it only until the indicator expires.
    await ana.send({"type": "typing", "active": True})
    typing = await ben.wait_for(ana_typing(True), start=at(ben, end))
    await autopilot(ben, enabled=True)
    held = await ben.wait_for(lambda f: is_status(f, "held", "typing"), start=at(ben, typing))
    expired = await ben.wait_for(ana_typing(False), start=at(ben, held))
    turn = await ben.wait_for(lambda f: is_ai(f, "streaming"), start=at(ben, end))
    assert at(ben, turn) > at(ben, expired)
    await autopilot(ben, enabled=False)


async def test_a_human_message_is_answered_before_autopilot_goes_on(
    shared: Stack, api: Api, providers: Providers, members: list[Member]
) -> None:
    _, token = await api.session("Ana")
    room = await create_persona_room(
        api,
        token,
        persona("alpha", "chat"),
        persona("beta", "chat"),
        persona("gamma", "held", muted=True),  # muted: no autopilot turns, but it answers Ana
    )
    ana = await connected(shared, room["id"], token, members)
    await say(ana, "Plan the launch party.")
    await autopilot(ana, enabled=True, max_turns=40)
    await ana.wait_for(lambda f: is_ai(f, "complete"))

    asked = await say(ana, "@gamma what is the budget?")
    since = len(ana.frames)
    answering = await wait_reply(ana, asked, "gamma", final=False)
    await asyncio.wait_for(providers.held.holding.wait(), WAIT_S)
    await ana.wait_for(lambda f: is_status(f, "waiting", "replies"), start=since)
    providers.held.release.set()
    answer = await wait_reply(ana, asked, "gamma")
    asked_seq = next(m["seq"] for m in ana.messages() if m["id"] == asked)
    later = [r for r in ai_replies(ana) if r["seq"] > asked_seq]
    assert later[0]["id"] == answering["id"] == answer["id"]  # nothing came in between
    ended = next(
        f for f in ana.frames if is_ai(f, "complete") and f["message"]["id"] == answer["id"]
    )
    resumed = await ana.wait_for(
        lambda f: is_ai(f, "streaming") and f["message"]["seq"] > answer["seq"]
    )
    assert at(ana, resumed) > at(ana, ended)  # autopilot went on only once the answer ended

    plain = await say(ana, "And which date?")
    plain_seq = next(m["seq"] for m in ana.messages() if m["id"] == plain)
    first = await ana.wait_for(lambda f: is_ai(f) and f["message"]["seq"] > plain_seq)
    assert first["message"]["reply_to"] == plain  # autopilot answers the person next
    await autopilot(ana, enabled=False)
    await ana.wait_for(lambda f: is_system(f, "switched off"))
    assert "gamma" not in {
        r["author"]["handle"] for r in ai_replies(ana) if r["id"] != answer["id"]
    }


# --- long conversations ------------------------------------------------------------------------


def lines(text: str) -> set[int]:
    """The numbers of the "lineNN" messages quoted in `text`."""
    return {int(word[4:6]) for word in text.split() if word.startswith("line")}


def prompt(body: dict[str, Any]) -> str:
    return "\n".join(str(m["content"]) for m in body["messages"])


async def test_dropped_messages_fold_into_a_summary_that_grows_and_summary_posts_one(
    shared: Stack, api: Api, providers: Providers, members: list[Member]
) -> None:
    summarizer, small = providers.summarizer, providers.small
    summarizer.tokens = split_tokens("SUMMARY-ONE")
    _, token = await api.session("Ana")
    room = await create_persona_room(
        api, token, persona("sage", "small", max_tokens=40), name="Long talk"
    )
    await patch(api, token, room["id"], {"autopilot": {"summary_model": "summarizer"}})
    ana = await connected(shared, room["id"], token, members)
    for n in range(1, 31):
        await post(api, token, room["id"], f"line{n:02d} {FILLER}")
    folds, asks = len(summarizer.requests), len(small.requests)

    first = await say(ana, "@sage what do you think?")
    await wait_reply(ana, first, "sage")
    (fold,) = summarizer.bodies[folds:]
    (ask,) = small.bodies[asks:]
    folded, shown = lines(prompt(fold)), lines(prompt(ask))
    assert fold["model"] == "fake-summarizer" and "(none yet)" in prompt(fold)
    assert 1 in folded and 30 not in folded
    assert 1 not in shown and 30 in shown
    assert folded | shown == set(range(1, 31))
    # The summary leads the persona's context, in its system prompt.
    assert ask["messages"][0]["role"] == "system"
    assert "SUMMARY-ONE" in ask["messages"][0]["content"]
    assert "SUMMARY-ONE" not in prompt({"messages": ask["messages"][1:]})
    changed = await ana.wait_for(lambda f: f["type"] == "room" and f["room"]["summary"])
    summary = changed["room"]["summary"]
    assert summary["text"] == "SUMMARY-ONE"
    fetched = await api.http.get(f"/api/rooms/{room['id']}", headers=auth(token))
    assert fetched.json()["summary"] == summary

    for n in range(31, 61):
        await post(api, token, room["id"], f"line{n:02d} {FILLER}")
    summarizer.tokens = split_tokens("SUMMARY-TWO")
    folds, asks = len(summarizer.requests), len(small.requests)
    second = await say(ana, "@sage and now?")
    await wait_reply(ana, second, "sage")
    (fold,) = summarizer.bodies[folds:]
    (ask,) = small.bodies[asks:]
    again = lines(prompt(fold))
    # Extended, not rebuilt: the summary so far, then only what dropped since.
    assert "Summary so far:\nSUMMARY-ONE" in prompt(fold)
    assert min(again) == max(folded) + 1 and not again & folded
    assert "SUMMARY-TWO" in ask["messages"][0]["content"] and 60 in lines(prompt(ask))
    grown = (await api.http.get(f"/api/rooms/{room['id']}", headers=auth(token))).json()["summary"]
    assert grown["text"] == "SUMMARY-TWO" and grown["upto_seq"] > summary["upto_seq"]

    # /summary: decisions and action items from the summary and the newer messages.
    summarizer.tokens = split_tokens("**Decisions** none. **Action items** none.")
    folds = len(summarizer.requests)
    command = await say(ana, "/summary")
    report = (await ana.wait_for(lambda f: is_system(f, "Action items")))["message"]
    assert (report["author"]["name"], report["reply_to"]) == ("Summary", command)
    (asked,) = summarizer.bodies[folds:]
    assert "Decisions" in asked["messages"][0]["content"]
    assert "SUMMARY-TWO" in prompt(asked) and not lines(prompt(asked)) & (folded | again)

    reply = await api.http.post(f"/api/rooms/{room['id']}/summary", headers=auth(token))
    assert reply.status_code == 201, reply.text
    posted = reply.json()
    assert posted["author"]["kind"] == "system" and posted["content"] == report["content"]
    await ana.wait_for(lambda f: f["type"] == "message" and f["message"]["id"] == posted["id"])
    missing = await api.http.post(
        "/api/rooms/00000000-0000-0000-0000-000000000000/summary", headers=auth(token)
    )
    assert missing.status_code == 404


# --- restart -----------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def restartable(
    database: str, providers: Providers, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """A stack of its own to kill."""
    workdir = tmp_path_factory.mktemp("autopilot-restart")
    async with running_ai_stack(database, workdir, registry(providers), ENV) as stack:
        yield stack


async def test_a_restart_resumes_the_one_loop(
    restartable: Stack, providers: Providers, members: list[Member]
) -> None:
    stack, held = restartable, providers.held
    api = Api(stack.base_url())
    try:
        _, token = await api.session("Ana")
        room = await create_persona_room(
            api, token, persona("alpha", "held"), persona("beta", "held")
        )
        ana = await connected(stack, room["id"], token, members)
        topic = await say(ana, "Tell a story, one line each.")
        await autopilot(ana, enabled=True, max_turns=3)
        first = (await ana.wait_for(lambda f: is_ai(f, "streaming")))["message"]
        await asyncio.wait_for(held.holding.wait(), WAIT_S)

        await stack.kill_room()
        await asyncio.wait_for(held.stream_closed.wait(), WAIT_S)
        held.release.set()
        restarted_at = len(ana.frames)
        await stack.start_room()
        await stack.gateways[0].wait_ready(lambda: http_ok(f"{stack.base_url()}/readyz"))

        stop = await ana.wait_for(lambda f: is_system(f, "3 AI turns in a row"), start=restarted_at)
        history = await api.all_messages(token, room["id"])
        assert [m["id"] for m in history[:2]] == [topic, first["id"]]
        assert history[1]["status"] == "interrupted"  # cut off by the crash
        turns = history[2:-1]
        assert len(turns) == 3 and all(m["status"] == "complete" for m in turns)
        assert history[-1]["id"] == stop["message"]["id"]
        # One loop: each turn started only after the one before it ended.
        for before, after in itertools.pairwise(turns):
            ended = next(
                i
                for i, f in enumerate(ana.frames)
                if is_ai(f, "complete") and f["message"]["id"] == before["id"]
            )
            began = next(
                i
                for i, f in enumerate(ana.frames)
                if is_ai(f) and f["message"]["id"] == after["id"]
            )
            assert began > ended
        assert no_repeats([history[1], *turns])
    finally:
        await api.close()
