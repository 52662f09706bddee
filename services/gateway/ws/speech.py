"""A room link's speech: `speech` frames, each encoded once per format, and the replies being
spoken, for sockets that join while one is.

A speech event becomes one frame per audio format some socket asked for (`opus`: a whole
Ogg/Opus stream of the sentence; `pcm`: the 16-bit samples as they came), encoded the first
time a socket needs it and then written as the same bytes to every socket of that format.
The sentences of a reply are kept until its final event, so a socket that joins (or resumes)
meanwhile gets that reply's speech so far after its text, before anything newer.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterable

from services.common.pb import room_pb2 as pb
from services.gateway.audio import OPUS_RATE, ogg_opus
from services.gateway.ws.connection import Connection
from services.gateway.ws.frames import SpeechFormat, SpeechHeard
from services.gateway.ws.protocol import encode

Frame = tuple[str, bytes]  # the frame's text, and the same in UTF-8


async def speech_frame(event: pb.SpeechEvent, fmt: SpeechFormat) -> str:
    """One speech event as a `speech` frame of `fmt` (Opus is encoded in a thread)."""
    if fmt == "opus":
        sample_rate = OPUS_RATE
        audio = (
            await asyncio.to_thread(ogg_opus, event.pcm, event.sample_rate) if event.pcm else b""
        )
    else:
        sample_rate, audio = event.sample_rate, event.pcm
    fields: dict[str, object] = {
        "message_id": event.message_id,
        "index": event.index,
        "text": event.text,
        "format": fmt,
        "sample_rate": sample_rate,
        "audio": base64.b64encode(audio).decode("ascii"),
        "final": event.final,
    }
    if event.error:
        fields["error"] = event.error
    return encode("speech", **fields)


class SpokenSentence:
    """One speech event and its frames, each format encoded at most once."""

    def __init__(self, event: pb.SpeechEvent) -> None:
        self.event = event
        self._frames: dict[SpeechFormat, asyncio.Future[Frame]] = {}

    @property
    def key(self) -> tuple[str, int]:
        return self.event.message_id, self.event.index

    async def frame(self, fmt: SpeechFormat) -> Frame:
        """The frame of `fmt` (encoded now if no socket needed it before)."""
        future = self._frames.get(fmt)
        if future is None:
            future = self._frames[fmt] = asyncio.ensure_future(self._encode(fmt))
        return await asyncio.shield(future)

    async def _encode(self, fmt: SpeechFormat) -> Frame:
        text = await speech_frame(self.event, fmt)
        return text, text.encode()


class SpeechRelay:
    """The sentences of the replies being spoken, in order, and their delivery to sockets."""

    def __init__(self) -> None:
        self._speaking: dict[str, list[SpokenSentence]] = {}  # by reply, in message order

    def add(self, event: pb.SpeechEvent) -> SpokenSentence | None:
        """A live speech event; None when it was had already (a new stream repeats some)."""
        sentences = self._speaking.setdefault(event.message_id, [])
        if any(s.event.index == event.index for s in sentences):
            return None
        spoken = SpokenSentence(event)
        if event.final:
            del self._speaking[event.message_id]  # nothing more comes: forget it
        else:
            sentences.append(spoken)
        return spoken

    def reopened(self, speaking: Iterable[pb.SpeechEvent]) -> list[SpokenSentence]:
        """A new stream's speech so far replaces what was kept; returns the sentences not had
        before (spoken while the stream was down). Replies no longer spoken are forgotten."""
        had = {s.key: s for sentences in self._speaking.values() for s in sentences}
        self._speaking = {}
        fresh = []
        for event in speaking:
            spoken = had.get((event.message_id, event.index))
            if spoken is None:
                spoken = SpokenSentence(event)
                fresh.append(spoken)
            if event.final:
                self._speaking.pop(event.message_id, None)
            else:
                self._speaking.setdefault(event.message_id, []).append(spoken)
        return fresh

    def so_far(self) -> list[SpokenSentence]:
        """Every kept sentence of the replies being spoken, in order."""
        return [s for sentences in self._speaking.values() for s in sentences]


async def deliver(sentences: Iterable[SpokenSentence], conns: Iterable[Connection]) -> None:
    """Push each sentence to the sockets that asked for audio, one encoding per format."""
    by_format: dict[SpeechFormat, list[Connection]] = {}
    for conn in conns:
        if conn.audio is not None:
            by_format.setdefault(conn.audio, []).append(conn)
    for spoken in sentences:
        for fmt, targets in by_format.items():
            frame, data = await spoken.frame(fmt)
            for conn in targets:
                conn.push(frame, data)


def unheard(sentences: list[SpokenSentence], heard: SpeechHeard | None) -> list[SpokenSentence]:
    """`sentences` less those a resuming client had: the ones of its last speech frame's reply
    up to that frame (sentences are sent in order, so it had every one before)."""
    if heard is None:
        return sentences
    return [
        s
        for s in sentences
        if not (s.event.message_id == heard.message_id and s.event.index <= heard.index)
    ]


async def frames_for(sentences: Iterable[SpokenSentence], fmt: SpeechFormat | None) -> list[str]:
    """The frames of `sentences` in `fmt` (none without a format): a joining socket's prelude."""
    if fmt is None:
        return []
    return [(await spoken.frame(fmt))[0] for spoken in sentences]
