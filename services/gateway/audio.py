"""16-bit mono PCM as the audio clients take: a WAV file, or Ogg/Opus.

WAV is written by the standard library. Opus is encoded through PyAV (its wheels bundle libopus);
Opus runs at 48 kHz, so the PCM (Piper's voices are 22,050 Hz) is resampled first. Both are
CPU work of a few milliseconds a sentence (Opus at complexity 5): callers on the event loop run `ogg_opus` in a thread.
"""

from __future__ import annotations

import io
import wave
from typing import Literal

import av

AudioFormat = Literal["wav", "opus"]
MEDIA_TYPES: dict[AudioFormat, str] = {"wav": "audio/wav", "opus": "audio/ogg"}

SAMPLE_BYTES = 2  # 16-bit
OPUS_RATE = 48_000  # what Opus encodes at (and decoders play back at)
OPUS_BIT_RATE = 32_000  # speech, mono: clear at a tenth of the PCM's size
# libopus's complexity (0-10; FFmpeg's default is 10). 5 encodes a sentence ~3x faster
# (4.5 s of speech: 14 ms instead of 40 ms on a 2-core EPYC VM) at a quality difference that
# does not show in speech at 32 kbit/s; every sentence waits for this before anyone hears it.
OPUS_COMPLEXITY = 5


def wav(pcm: bytes, sample_rate: int) -> bytes:
    """A WAV file of 16-bit little-endian mono PCM."""
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(SAMPLE_BYTES)
        file.setframerate(sample_rate)
        file.writeframes(pcm)
    return out.getvalue()


def ogg_opus(pcm: bytes, sample_rate: int) -> bytes:
    """A complete Ogg/Opus stream of 16-bit little-endian mono PCM (decodable on its own)."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="ogg") as container:
        stream = container.add_stream(
            "libopus",
            rate=OPUS_RATE,
            layout="mono",
            options={"compression_level": str(OPUS_COMPLEXITY)},
        )
        stream.bit_rate = OPUS_BIT_RATE
        resampler = av.AudioResampler(format="s16", layout="mono", rate=OPUS_RATE)
        samples = len(pcm) // SAMPLE_BYTES
        frames = []
        if samples:
            frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
            frame.sample_rate = sample_rate
            frame.planes[0].update(pcm[: samples * SAMPLE_BYTES])
            frames = resampler.resample(frame)
        for resampled in [*frames, *resampler.resample(None)]:
            container.mux(stream.encode(resampled))
        container.mux(stream.encode(None))
    return out.getvalue()


def encode(pcm: bytes, sample_rate: int, fmt: AudioFormat) -> bytes:
    """PCM as a file of `fmt`."""
    return ogg_opus(pcm, sample_rate) if fmt == "opus" else wav(pcm, sample_rate)
