"""A voice that needs nothing: a tone as long as the text, for tests, demos and load runs.

Options (the registry entry's `options` table): `sample_rate` (default 16000), `ms_per_char`
(audio length, default 60), `delay_ms` (work per sentence before its audio, default 0),
`pieces` (PCM pieces per sentence, default 1), `fail` (a message: every sentence fails so).
It counts what it was asked, so tests can tell a synthesis stopped.
"""

from __future__ import annotations

import asyncio
import math
from array import array
from collections.abc import AsyncIterator

from services.tts_node.backends.base import BackendError, TtsBackend, VoiceSpec

TONE_HZ = 220.0


class FakeBackend(TtsBackend):
    """A sine tone per sentence, paced by `delay_ms`."""

    def __init__(self, spec: VoiceSpec) -> None:
        super().__init__(spec)
        options = spec.options
        self.sample_rate = int(options.get("sample_rate", 16000))
        self.language = spec.language or "en_US"
        self.speakers = tuple(str(s) for s in options.get("speakers", ()))
        self.ms_per_char = float(options.get("ms_per_char", 60))
        self.delay_s = float(options.get("delay_ms", 0)) / 1000
        self.pieces = max(1, int(options.get("pieces", 1)))
        self.fail = str(options.get("fail") or "")
        self.started: list[str] = []  # sentences begun, in order
        self.finished: list[str] = []  # sentences whose audio was all sent
        self.stopped: list[str] = []  # sentences closed before their end
        self.stop_seen = asyncio.Event()  # set when the first sentence is stopped

    async def _sentence(self, text: str, rate: float) -> AsyncIterator[bytes]:
        self.started.append(text)
        done = False
        try:
            if self.fail:
                raise BackendError(self.fail)
            samples = round(len(text) * self.ms_per_char / 1000 / rate * self.sample_rate)
            step = math.ceil(samples / self.pieces) or 1
            for start in range(0, samples, step):
                if self.delay_s:
                    await asyncio.sleep(self.delay_s / self.pieces)
                yield tone(start, min(samples, start + step), self.sample_rate)
            done = True
            self.finished.append(text)
        finally:
            if not done:
                self.stopped.append(text)
                self.stop_seen.set()


def tone(start: int, end: int, sample_rate: int) -> bytes:
    """Samples [start, end) of a half-scale sine tone, 16-bit little-endian."""
    scale = 2 * math.pi * TONE_HZ / sample_rate
    pcm = array("h", (round(16000 * math.sin(scale * n)) for n in range(start, end)))
    return pcm.tobytes()  # every platform Chimera runs on is little-endian
