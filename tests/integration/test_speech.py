"""Personas heard in rooms, through real processes: LLM node, TTS node, room service, gateway.

The LLM node plays a scripted fake model; the TTS node speaks with its `fake` backend (a tone
as long as the text, at 8 kHz), so what reaches each member can be checked exactly.
"""

from __future__ import annotations

import base64
import io
import signal
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.support.client import (
    NO_LIMITS,
    WAIT_S,
    Api,
    Member,
    auth,
    create_persona_room,
    persona,
    running_ai_stack,
    say,
    wait_reply,
)
from tests.support.fixtures import api_fixture, closing_members, connected, error
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SPOKEN = "Hello there, everyone. This is the second sentence. And here is the third one to end."
LONG = " ".join(f"Sentence number {n} is said slowly." for n in range(1, 40))
MODELS = f"""
[[models]]
id = "talker"
backend = "fake"
model = "talker"
[models.options]
delay_ms = 2
script = [{{ text = "{SPOKEN}" }}]

[[models]]
id = "slow"
backend = "fake"
model = "slow"
[models.options]
delay_ms = 40
script = [{{ text = "{LONG}" }}]
"""
MEDIUM = " ".join(f"Line {n} goes on." for n in range(1, 16))
MODELS += f"""
[[models]]
id = "medium"
backend = "fake"
model = "medium"
[models.options]
delay_ms = 20
script = [{{ text = "{MEDIUM}" }}]
"""
VOICES = """
[[voices]]
id = "tone"
backend = "fake"
model = "tone"
options = { sample_rate = 8000 }
"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    workdir = tmp_path_factory.mktemp("speech")
    voices = workdir / "voices.toml"
    voices.write_text(VOICES)
    async with running_ai_stack("sqlite", workdir, MODELS, NO_LIMITS, gateways=1) as stack:
        await stack.start_tts(voices)
        yield stack


api = api_fixture()


@pytest_asyncio.fixture(loop_scope="module")
async def members() -> AsyncIterator[list[Member]]:
    async with closing_members() as opened:
        yield opened


def speech(member: Member, message_id: str) -> list[dict[str, Any]]:
    return [f for f in member.frames if f["type"] == "speech" and f["message_id"] == message_id]


async def spoken_to_the_end(member: Member, message_id: str) -> list[dict[str, Any]]:
    await member.wait_for(
        lambda f: f["type"] == "speech" and f["message_id"] == message_id and f["final"],
        timeout=WAIT_S,
    )
    return speech(member, message_id)


async def test_every_listening_member_hears_each_sentence_once_in_order(
    shared: Stack, api: Api, members: list[Member], tmp_path: Path
) -> None:
    _, ana_token = await api.session("Ana")
    _, ben_token = await api.session("Ben")
    _, cy_token = await api.session("Cy")
    room = await create_persona_room(api, ana_token, persona("bot", "talker", voice="tone"))
    ana = await connected(shared, room["id"], ana_token, members, audio="pcm")
    ben = await connected(shared, room["id"], ben_token, members, audio="pcm")
    cy = await connected(shared, room["id"], cy_token, members)  # asked for no audio

    trigger = await say(ana, "@bot say something")
    reply = await wait_reply(ana, trigger)
    heard = [await spoken_to_the_end(m, reply["id"]) for m in (ana, ben)]

    assert reply["content"] == SPOKEN
    assert heard[0] == heard[1]  # the same frames, byte for byte, to everyone who listens
    said = [f for f in heard[0] if f["audio"]]
    assert [f["index"] for f in said] == list(range(len(said)))
    assert " ".join(f["text"] for f in said) == SPOKEN
    assert all(f["format"] == "pcm" and f["sample_rate"] == 8000 for f in said)
    assert heard[0][-1]["final"] and not heard[0][-1].get("error")
    await wait_reply(cy, trigger)
    assert not [f for f in cy.frames if f["type"] == "speech"]  # no audio asked, none sent

    # The stored speech is what members heard, for those who may read the room only.
    url = f"/api/rooms/{room['id']}/messages/{reply['id']}/speech?format=wav"
    stored = await api.http.get(url, headers=auth(ben_token))
    assert stored.status_code == 200 and stored.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(stored.content)) as audio:
        assert audio.getframerate() == 8000 and audio.getsampwidth() == 2
        assert audio.readframes(audio.getnframes()) == b"".join(
            base64.b64decode(f["audio"]) for f in said
        )
    closed = await api.http.patch(
        f"/api/rooms/{room['id']}", json={"access": "invite"}, headers=auth(ana_token)
    )
    assert closed.status_code == 200  # now members only: Ben is one, Eve is not
    _, eve_token = await api.session("Eve")
    refused = await api.http.get(url, headers=auth(eve_token))
    assert error(refused, 404)["code"] == "not_found"


async def test_stop_ends_the_speech_for_everyone(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    _, ana_token = await api.session("Ana")
    _, ben_token = await api.session("Ben")
    room = await create_persona_room(api, ana_token, persona("bot", "slow", voice="tone"))
    ana = await connected(shared, room["id"], ana_token, members, audio="pcm")
    ben = await connected(shared, room["id"], ben_token, members, audio="pcm")

    trigger = await say(ana, "@bot talk for a while")
    first = await ben.wait_for(lambda f: f["type"] == "speech" and f["audio"] != "")
    message_id = first["message_id"]
    await ben.send({"type": "interrupt", "message_id": message_id})

    for member in (ana, ben):
        reply = await wait_reply(member, trigger)
        assert reply["status"] == "interrupted"
        ended = next(
            i
            for i, f in enumerate(member.frames)
            if f["type"] == "message"
            and f["message"]["id"] == message_id
            and f["message"]["status"] == "interrupted"
        )
        assert not [
            f for f in member.frames[ended:] if f["type"] == "speech" and f["audio"] != ""
        ]  # nothing more is said after `interrupted`
    # A later message in the room still arrives; still no speech of the stopped reply.
    await say(ana, "thanks")
    assert len(speech(ana, message_id)) == len(speech(ben, message_id))


async def test_a_tts_node_that_dies_mid_reply_leaves_the_text_whole_and_says_so(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    _, ana_token = await api.session("Ana")
    room = await create_persona_room(api, ana_token, persona("bot", "medium", voice="tone"))
    ana = await connected(shared, room["id"], ana_token, members, audio="pcm")

    trigger = await say(ana, "@bot go on")
    first = await ana.wait_for(lambda f: f["type"] == "speech" and f["audio"] != "")
    assert shared.tts is not None
    await shared.tts.signal(signal.SIGKILL)
    try:
        reply = await wait_reply(ana, trigger)
        assert (reply["status"], reply["content"]) == ("complete", MEDIUM)  # the text is whole
        last = await spoken_to_the_end(ana, first["message_id"])
        assert last[-1]["final"] and last[-1]["error"].startswith("Speech failed")
        history = await api.all_messages(ana_token, room["id"])
        stored = next(m for m in history if m["id"] == reply["id"])
        assert stored["speech"]["final"] and stored["speech"]["error"] == last[-1]["error"]
    finally:
        await shared.start_tts(shared.workdir / "voices.toml")  # for whatever runs next
