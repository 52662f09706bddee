"""Spoken replies (speech/speaker.py) through a real TTS node on fake voices: what members
hear, in what order, and how speech ends when stopped or when the voice fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.common.media.local import LocalMediaStore
from services.common.pb import room_pb2 as pb
from services.llm_node.backends.fake import Step
from services.room.hub import GatewayStream
from services.room.orchestrator.turns import Orchestrator, TurnLimits
from services.room.speech.speaker import Speaker
from services.room.tests.conftest import Seen, World, attach
from services.tts_node.backends.base import VoiceSpec
from tests.support.llm_node import LlmNode, fake_model, llm_node
from tests.support.tts_node import TtsNode, fake_voice, tts_node

pytestmark = pytest.mark.unit

COMPLETE, INTERRUPTED = pb.MESSAGE_STATUS_COMPLETE, pb.MESSAGE_STATUS_INTERRUPTED
TWO = "The first sentence is here. And the second one follows it."


@dataclass
class Spoken:
    world: World
    llm: LlmNode
    tts: TtsNode
    speaker: Speaker
    orchestrator: Orchestrator

    async def room(self, *personas: pb.Persona) -> tuple[pb.User, str, Seen]:
        alice = await self.world.user("alice")
        room = await self.world.rooms.create(alice, "Room", list(personas))
        return alice, room.id, Seen(await attach(self.world, room.id))


@pytest.fixture
async def spoken(world: World, tmp_path: Path) -> AsyncIterator[Spoken]:
    voices = [
        fake_voice("tone"),
        fake_voice("slow", delay_ms=400, pieces=4),
        fake_voice("broken", fail="The voice broke."),
        VoiceSpec(id="gone", backend="piper", model=str(tmp_path / "gone.onnx")),
    ]
    async with (
        llm_node(fake_model("m", delay_ms=1)) as llm,
        tts_node(*voices) as tts,
        await LocalMediaStore.open(tmp_path / "media") as media,
    ):
        speaker = Speaker(world.timeline, tts.stub, media)
        orchestrator = Orchestrator(world.timeline, llm.stub, TurnLimits(), speaker=speaker)
        world.rooms.replies = orchestrator
        try:
            yield Spoken(world, llm, tts, speaker, orchestrator)
        finally:
            await orchestrator.close()
            await speaker.close()


def persona(handle: str, voice: str) -> pb.Persona:
    return pb.Persona(handle=handle, model="m", voice=voice)


def speech(seen: Seen, message_id: str | None = None) -> list[pb.SpeechEvent]:
    return [
        e.speech
        for e in seen.events
        if e.HasField("speech") and message_id in (None, e.speech.message_id)
    ]


def last_message(seen: Seen, message_id: str) -> pb.Message | None:
    found = [e.message for e in seen.events if e.HasField("message") and e.message.id == message_id]
    return found[-1] if found else None


def reply_id(seen: Seen, handle: str) -> str:
    return next(
        e.message.id
        for e in seen.events
        if e.HasField("message") and e.message.author.handle == handle
    )


def spoken_state(seen: Seen, message_id: str) -> pb.Speech | None:
    message = last_message(seen, message_id)
    return message.speech if message is not None and message.speech.final else None


async def test_speech_starts_at_the_first_sentence_and_is_stored_as_heard(spoken: Spoken) -> None:
    spoken.llm.fake("m").script.append(Step(text=TWO, after=6, hold=True))
    alice, room_id, seen = await spoken.room(persona("bot", "tone"))
    await spoken.world.rooms.post(room_id, alice, "@bot talk", "", "")

    await seen.until(lambda: bool(speech(seen)))  # the text is still held mid-reply
    message_id = reply_id(seen, "bot")
    first = speech(seen)[0]
    assert (first.message_id, first.index, first.text, first.final) == (
        message_id,
        0,
        "The first sentence is here.",
        False,
    )
    assert first.sample_rate == 8000 and len(first.pcm) == len(first.text) * 2 * 16
    assert last_message(seen, message_id).status != COMPLETE  # type: ignore[union-attr]

    spoken.llm.fake("m").release()
    await seen.until(lambda: spoken_state(seen, message_id) is not None)
    heard = speech(seen, message_id)
    assert [(e.index, e.text, e.final) for e in heard] == [
        (0, "The first sentence is here.", False),
        (1, "And the second one follows it.", True),
    ]
    state = spoken_state(seen, message_id)
    assert state == pb.Speech(voice="tone", sentences=2, final=True, error="", sample_rate=8000)
    message = last_message(seen, message_id)
    assert message is not None and message.status == COMPLETE and message.content == TWO

    stored = await spoken.speaker.stored(room_id, message)
    assert stored is not None and list(stored.sentences) == heard


async def test_a_persona_without_a_voice_is_not_spoken(spoken: Spoken) -> None:
    alice, room_id, seen = await spoken.room(persona("bot", ""))
    await spoken.world.rooms.post(room_id, alice, "@bot hello there friend. How are you", "", "")
    await seen.until(
        lambda: any(
            e.message.author.handle == "bot" and e.message.status == COMPLETE for e in seen.events
        )
    )
    message = last_message(seen, reply_id(seen, "bot"))
    assert message is not None and not message.HasField("speech") and speech(seen) == []
    assert await spoken.speaker.stored(room_id, message) is None


async def test_one_floor_per_room_a_second_reply_is_heard_after_the_first(spoken: Spoken) -> None:
    fake = spoken.llm.fake("m")
    # Two sentences each: which reply's generation takes which script step is a race.
    fake.script.extend([Step(text=TWO), Step(text=TWO)])
    alice, room_id, seen = await spoken.room(persona("a", "slow"), persona("b", "tone"))
    await spoken.world.rooms.post(room_id, alice, "@a @b speak", "", "")
    await seen.until(lambda: len([e for e in speech(seen) if e.final]) == 2)
    a, b = reply_id(seen, "a"), reply_id(seen, "b")
    order = [(e.message_id, e.index) for e in speech(seen)]
    assert order == [(a, 0), (a, 1), (b, 0), (b, 1)]  # b's fast voice waited for a's turn


async def test_stop_ends_text_and_speech_and_cancels_the_synthesis(spoken: Spoken) -> None:
    spoken.llm.fake("m").script.append(Step(text=TWO, after=6, hold=True))
    alice, room_id, seen = await spoken.room(persona("bot", "slow"))
    await spoken.world.rooms.post(room_id, alice, "@bot talk", "", "")
    slow = spoken.tts.fake("slow")
    async with asyncio.timeout(10):
        while not slow.started:  # noqa: ASYNC110 (the fake notes its starts in a list)
            await asyncio.sleep(0.01)
    await seen.until(
        lambda: any(e.HasField("message") and e.message.author.handle for e in seen.events)
    )
    message_id = reply_id(seen, "bot")

    await spoken.orchestrator.stop(room_id, message_id)

    await seen.until(lambda: spoken_state(seen, message_id) is not None)
    async with asyncio.timeout(10):
        await slow.stop_seen.wait()
    statuses = [e.message.status for e in seen.events if e.HasField("message")]
    assert INTERRUPTED in statuses
    interrupted_at = next(
        i
        for i, e in enumerate(seen.events)
        if e.HasField("message") and e.message.status == INTERRUPTED
    )
    assert not [e for e in seen.events[interrupted_at:] if e.HasField("speech")]
    state = spoken_state(seen, message_id)
    assert state is not None and state.error == "Speech stopped."


@pytest.mark.parametrize(
    ("voice", "reason"),
    [("broken", "Speech failed: The voice broke."), ("gone", "Speech failed: Voice 'gone'")],
)
async def test_a_failing_voice_ends_speech_with_the_reason_and_the_text_completes(
    spoken: Spoken, voice: str, reason: str
) -> None:
    spoken.llm.fake("m").script.append(Step(text=TWO))
    alice, room_id, seen = await spoken.room(persona("bot", voice))
    await spoken.world.rooms.post(room_id, alice, "@bot talk", "", "")
    await seen.until(lambda: bool(speech(seen)) and speech(seen)[-1].final)
    message_id = reply_id(seen, "bot")
    final = speech(seen)[-1]
    assert (final.index, final.pcm, final.error.startswith(reason)) == (0, b"", True)
    await seen.until(lambda: spoken_state(seen, message_id) is not None)
    message = last_message(seen, message_id)
    assert message is not None and message.status == COMPLETE and message.content == TWO
    assert message.speech.error.startswith(reason) and message.speech.sentences == 0


async def test_a_stream_opened_mid_speech_gets_what_was_said_so_far(spoken: Spoken) -> None:
    spoken.llm.fake("m").script.append(Step(text=TWO, after=6, hold=True))
    alice, room_id, seen = await spoken.room(persona("bot", "tone"))
    await spoken.world.rooms.post(room_id, alice, "@bot talk", "", "")
    await seen.until(lambda: bool(speech(seen)))

    late = GatewayStream(room_id, "gw-late", 1000)
    await spoken.world.timeline.attach(
        late,
        lambda: spoken.world.rooms.snapshot(room_id),
        lambda: spoken.orchestrator.streaming(room_id),
        lambda: spoken.orchestrator.speaking(room_id),
    )
    opened = late.queue.get_nowait()
    assert isinstance(opened, pb.SessionEvent)
    assert list(opened.opened.speaking) == speech(seen)
    spoken.llm.fake("m").release()
