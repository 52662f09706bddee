"""WAV and Ogg/Opus from 16-bit PCM: decodable, at the right rate and length."""

from __future__ import annotations

import io
import math
import wave
from array import array

import av
import pytest

from services.gateway.audio import OPUS_RATE, encode, ogg_opus, wav

pytestmark = pytest.mark.unit

RATE = 22_050


def tone(seconds: float, rate: int = RATE) -> bytes:
    samples = round(seconds * rate)
    return array(
        "h", (round(12_000 * math.sin(2 * math.pi * 220 * i / rate)) for i in range(samples))
    ).tobytes()


def opus_seconds(data: bytes) -> float:
    """How long an Ogg/Opus stream plays, decoded."""
    with av.open(io.BytesIO(data), mode="r") as container:
        return sum(f.samples for f in container.decode(container.streams.audio[0])) / OPUS_RATE


def test_wav_holds_the_pcm_as_it_is() -> None:
    pcm = tone(0.5)
    with wave.open(io.BytesIO(wav(pcm, RATE))) as file:
        assert (file.getnchannels(), file.getsampwidth(), file.getframerate()) == (1, 2, RATE)
        assert file.readframes(file.getnframes()) == pcm


@pytest.mark.parametrize("seconds", [0.05, 1.3])
def test_ogg_opus_decodes_at_48k_to_the_same_length(seconds: float) -> None:
    data = ogg_opus(tone(seconds), RATE)
    assert data[:4] == b"OggS"
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.audio[0]
        assert (stream.codec_context.name, stream.rate) == ("opus", OPUS_RATE)
        frames = list(container.decode(stream))
    decoded = sum(f.samples for f in frames) / OPUS_RATE
    assert decoded == pytest.approx(seconds, abs=0.025)  # Opus pads to whole 20 ms frames
    loudest = max(float(abs(f.to_ndarray()).max()) for f in frames)  # type: ignore[attr-defined]
    assert loudest > 0.1  # the tone, not silence


def test_encode_picks_the_format() -> None:
    pcm = tone(0.1)
    assert encode(pcm, RATE, "wav")[:4] == b"RIFF"
    assert encode(pcm, RATE, "opus")[:4] == b"OggS"
