"""The piper backend on tiny random-weight voices built from piper's own VITS code (conftest)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.tts_node.backends.base import VoiceSpec
from services.tts_node.backends.piper import MAX_GAIN, PiperBackend
from services.tts_node.registry import VoiceRegistry

pytestmark = pytest.mark.unit

SENTENCE = "Hello there, how are you today?"


async def started(model: Path, **fields: object) -> PiperBackend:
    backend = PiperBackend(VoiceSpec(id="tiny", backend="piper", model=str(model), **fields))  # type: ignore[arg-type]
    await backend.start()
    return backend


async def say(backend: PiperBackend, text: str = SENTENCE, rate: float = 1.0) -> np.ndarray:
    pcm = b"".join([piece async for piece in backend.speak(text, rate)])
    return np.frombuffer(pcm, dtype="<i2")


async def test_a_voice_loads_once_and_speaks_16_bit_pcm_at_its_sample_rate(
    tiny_voice: Path,
) -> None:
    backend = await started(tiny_voice, threads=1)
    try:
        assert (backend.sample_rate, backend.language, backend.speakers) == (16000, "en_US", ())
        audio = await say(backend)
        assert audio.size > 0 and audio.size % 256 == 0  # whole frames of Piper's hop length
        assert np.any(audio != 0)
        assert np.array_equal(await say(backend), audio)  # noise scales 0: the same each time
    finally:
        await backend.close()


async def test_the_rate_changes_the_length_of_the_speech(tiny_voice: Path) -> None:
    backend = await started(tiny_voice)
    try:
        normal, slow = await say(backend), await say(backend, rate=0.5)
        assert slow.size >= 1.5 * normal.size
    finally:
        await backend.close()


async def test_one_gain_for_every_sentence_instead_of_normalizing_each(tiny_voice: Path) -> None:
    measured = await started(tiny_voice)
    given = await started(tiny_voice, gain=0.5)
    try:
        # A random-weight voice is quiet: the measured gain stops at its cap.
        assert (measured.gain, given.gain) == (MAX_GAIN, 0.5)
        loud, quiet = await say(measured), await say(given)
        ratio = np.abs(loud.astype(float)).sum() / np.abs(quiet.astype(float)).sum()
        assert ratio == pytest.approx(MAX_GAIN / 0.5, rel=0.02)
        # Two sentences, one gain: the quieter one is not scaled up to the other's peak.
        short, long = await say(given, "Oh."), await say(given, SENTENCE)
        assert np.abs(short).max() != np.abs(long).max()
    finally:
        await measured.close()
        await given.close()


async def test_speakers_of_a_multi_speaker_voice_by_name_or_number(tiny_multi_voice: Path) -> None:
    default = await started(tiny_multi_voice)
    bo = await started(tiny_multi_voice, speaker="bo")
    one = await started(tiny_multi_voice, speaker="1")
    try:
        assert default.speakers == ("ana", "bo")
        assert np.array_equal(await say(bo), await say(one))
        assert not np.array_equal(await say(default), await say(bo))
    finally:
        for backend in (default, bo, one):
            await backend.close()


async def test_a_speaker_the_voice_lacks_makes_it_unavailable_with_the_reason(
    tiny_voice: Path, tiny_multi_voice: Path
) -> None:
    registry = VoiceRegistry(
        [
            VoiceSpec(id="x", backend="piper", model=str(tiny_multi_voice), speaker="cy"),
            VoiceSpec(id="y", backend="piper", model=str(tiny_voice), speaker="ana"),
            VoiceSpec(id="z", backend="piper", model=str(tiny_voice), device="cuda"),
        ]
    )
    await registry.start()
    try:
        reasons = {v.spec.id: v.reason for v in registry.voices.values()}
        assert reasons["x"] == "the voice has no speaker 'cy'"
        assert reasons["y"] == "the voice has one speaker; remove `speaker`"
        assert reasons["z"] in ("ONNX Runtime here has no CUDA provider", "")
    finally:
        await registry.close()
