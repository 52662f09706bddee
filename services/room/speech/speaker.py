"""Speaking replies: each sentence of a reply with a voice, synthesized once, heard by all.

As a reply of a persona with a voice streams, `ReplySpeech.feed` takes its text; the sentence
splitter (sentences.py) hands over each complete sentence, which goes to the TTS node at once
(one Synthesize call per sentence, in order). Its audio is stored in the media store, then
published to the room as a `SpeechEvent` through the timeline, after every earlier reply of the
room has finished speaking (floor.py). The last event is `final` (its pcm may be empty, with
`error` when speech failed). When the reply's text and its speech have both ended, how the
speech went is stored on the message (`Message.speech`) and the message published again.

`silence` (a Stop) cancels the synthesis and publishes nothing more for the reply.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass

import grpc

from services.common.errors import is_safe
from services.common.media.base import MediaStore
from services.common.pb import room_pb2 as pb
from services.common.pb import tts_pb2
from services.common.pb.tts_pb2_grpc import TtsServiceStub
from services.room.speech.floor import Floor
from services.room.speech.sentences import MAX_CHARS, SentenceSplitter
from services.room.store.records import PersonaRecord, SpeechRecord
from services.room.timeline import Timeline

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/x-protobuf; messageType=chimera.v1.SpeechEvent"
STOPPED = "Speech stopped."
SPEECH_FAILED = "Speech failed: {reason}"


def speech_key(room_id: str, message_id: str, index: int) -> str:
    """Where a reply's sentence is stored: its SpeechEvent as members got it."""
    return f"rooms/{room_id}/speech/{message_id}/{index}"


def failure_reason(exc: grpc.aio.AioRpcError) -> str:
    """Why a sentence could not be spoken, safe to show the room."""
    if is_safe(exc) and exc.details():
        return exc.details() or ""
    if exc.code() == grpc.StatusCode.UNAVAILABLE:
        return "The TTS node is unreachable."
    if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
        return "The voice took too long."
    return "The voice failed."


class SpeechFailed(Exception):
    """A sentence could not be synthesized; `reason` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SpeechLimits:
    """How long one sentence may take, and how long a sentence may be."""

    timeout_s: float = 60.0
    max_sentence_chars: int = MAX_CHARS


class ReplySpeech:
    """One reply's speech: fed its text, speaking its sentences in order on the room's floor."""

    def __init__(
        self, speaker: Speaker, room_id: str, message: pb.Message, persona: PersonaRecord
    ) -> None:
        self.speaker = speaker
        self.room_id = room_id
        self.message_id = message.id
        self.seq = message.seq
        self.voice = persona.voice
        self.rate = persona.voice_rate
        self.splitter = SentenceSplitter(max_chars=speaker.limits.max_sentence_chars)
        self.events: list[pb.SpeechEvent] = []  # published so far (a late joiner gets them)
        self.sample_rate = 0
        self.error = ""
        self._pending: deque[str] = deque()
        self._ended = False  # the reply's text has ended: no more sentences
        self._wake = asyncio.Event()
        self._text_done = asyncio.Event()
        self._speaking: asyncio.Task[None] | None = None
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._speaking = asyncio.create_task(self._speak())
        self.task = asyncio.create_task(self._run())

    def feed(self, text: str) -> None:
        """More of the reply's text: its complete sentences are spoken."""
        if not self._ended:
            self._add(self.splitter.feed(text))

    def end(self, *, flush: bool) -> None:
        """The reply's text ended (stored and published); `flush`: speak its last sentence too."""
        if not self._ended:
            if flush:
                self._add(self.splitter.finish())
            self._ended = True
            self._wake.set()
        self._text_done.set()

    async def silence(self) -> None:
        """Stop: no synthesis goes on and nothing more is published for this reply."""
        self._ended = True
        if self._speaking is not None and not self._speaking.done():
            self._speaking.cancel()
            await asyncio.wait({self._speaking})
            if not self.error:
                self.error = STOPPED

    def _add(self, sentences: list[str]) -> None:
        if sentences:
            self._pending.extend(sentences)
            self._wake.set()

    async def _run(self) -> None:
        assert self._speaking is not None
        try:
            await asyncio.wait({self._speaking})
            await self._text_done.wait()
        finally:
            self.speaker.floor(self.room_id).leave(self.seq)
            self.speaker.ended(self)
        record = SpeechRecord(
            self.voice,
            sentences=sum(1 for e in self.events if e.pcm),
            final=True,
            error=self.error,
            sample_rate=self.sample_rate,
        )
        try:
            await asyncio.shield(
                self.speaker.timeline.save_speech(self.room_id, self.message_id, record)
            )
        except Exception:
            logger.exception(
                "storing a reply's speech failed",
                extra={"room_id": self.room_id, "message_id": self.message_id},
            )

    async def _speak(self) -> None:
        floor = self.speaker.floor(self.room_id)
        try:
            while True:
                while not self._pending and not self._ended:
                    self._wake.clear()
                    await self._wake.wait()
                if not self._pending:
                    break
                text = self._pending.popleft()
                pcm = await self._synthesize(text, len(self.events))
                await floor.turn(self.seq)
                await self._publish(text, pcm, final=self._ended and not self._pending)
                if self.events[-1].final:
                    return
        except SpeechFailed as exc:
            self.error = SPEECH_FAILED.format(reason=exc.reason)
        except Exception:
            logger.exception(
                "speech failed", extra={"room_id": self.room_id, "message_id": self.message_id}
            )
            self.error = SPEECH_FAILED.format(reason="unexpected error.")
        await floor.turn(self.seq)
        await self._publish("", b"", final=True)

    async def _synthesize(self, text: str, index: int) -> bytes:
        call = self.speaker.tts.Synthesize(
            tts_pb2.SynthesizeRequest(
                request_id=f"{self.message_id}:{index}",
                voice_id=self.voice,
                text=text,
                rate=self.rate,
            ),
            timeout=self.speaker.limits.timeout_s,
        )
        audio: list[bytes] = []
        try:
            async for chunk in call:
                if chunk.HasField("audio"):
                    audio.append(chunk.audio.audio)
                    self.sample_rate = chunk.audio.sample_rate or self.sample_rate
        except grpc.aio.AioRpcError as exc:
            raise SpeechFailed(failure_reason(exc)) from exc
        finally:
            call.cancel()  # a Stop reaches the TTS node, which stops the backend
        return b"".join(audio)

    async def _publish(self, text: str, pcm: bytes, *, final: bool) -> None:
        event = pb.SpeechEvent(
            message_id=self.message_id,
            index=len(self.events),
            text=text,
            sample_rate=self.sample_rate,
            pcm=pcm,
            final=final,
            error=self.error if final else "",
        )
        if pcm:  # stored before anyone hears it: what members heard can always be replayed
            key = speech_key(self.room_id, self.message_id, event.index)
            await self.speaker.media.put(key, event.SerializeToString(), CONTENT_TYPE)
        self.events.append(event)
        self.speaker.timeline.publish(self.room_id, pb.SessionEvent(speech=event))


class Speaker:
    """Every reply being spoken in this room service, with one floor per room."""

    def __init__(
        self,
        timeline: Timeline,
        tts: TtsServiceStub,
        media: MediaStore,
        limits: SpeechLimits | None = None,
    ) -> None:
        self.timeline = timeline
        self.tts = tts
        self.media = media
        self.limits = limits or SpeechLimits()
        self._floors: dict[str, Floor] = {}
        self._speeches: dict[str, ReplySpeech] = {}  # message id -> speech not yet ended

    def floor(self, room_id: str) -> Floor:
        floor = self._floors.get(room_id)
        if floor is None:
            floor = self._floors[room_id] = Floor()
        return floor

    def start(
        self, room_id: str, message: pb.Message, persona: PersonaRecord
    ) -> ReplySpeech | None:
        """The reply's speech, started; None when its persona has no voice."""
        if not persona.voice:
            return None
        speech = ReplySpeech(self, room_id, message, persona)
        self.floor(room_id).enter(message.seq)
        self._speeches[message.id] = speech
        speech.start()
        return speech

    def ended(self, speech: ReplySpeech) -> None:
        self._speeches.pop(speech.message_id, None)
        floor = self._floors.get(speech.room_id)
        if floor is not None and floor.empty():
            del self._floors[speech.room_id]

    def speaking(self, room_id: str) -> list[pb.SpeechEvent]:
        """Speech events so far of the room's replies still being spoken, in message order."""
        speeches = sorted(
            (s for s in self._speeches.values() if s.room_id == room_id), key=lambda s: s.seq
        )
        return [
            event for s in speeches if not (s.events and s.events[-1].final) for event in s.events
        ]

    async def stored(self, room_id: str, message: pb.Message) -> pb.GetSpeechResponse | None:
        """A reply's stored speech (every sentence as members heard it); None when it has none."""
        if not message.HasField("speech") or not message.speech.voice:
            return None
        sentences = []
        for index in range(message.speech.sentences):
            blob = await self.media.get(speech_key(room_id, message.id, index))
            if blob is None:
                break  # removed from the media store: what is left
            sentences.append(pb.SpeechEvent.FromString(blob.data))
        return pb.GetSpeechResponse(speech=message.speech, sentences=sentences)

    async def close(self) -> None:
        """Shutdown: every speech stops (its state is stored once its reply's text has ended)."""
        speeches = list(self._speeches.values())
        await asyncio.gather(*(s.silence() for s in speeches), return_exceptions=True)
        for speech in speeches:
            speech.end(flush=False)
        tasks = [s.task for s in speeches if s.task is not None]
        await asyncio.gather(*tasks, return_exceptions=True)
