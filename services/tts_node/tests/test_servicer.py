"""TtsService over a real gRPC channel, on fake voices: streams, errors and Stop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import grpc
import pytest

from services.common.grpc_server import GrpcServer
from services.common.pb import tts_pb2 as pb
from services.common.pb import tts_pb2_grpc
from services.tts_node.backends.base import VoiceSpec
from services.tts_node.backends.fake import FakeBackend
from services.tts_node.registry import VoiceRegistry
from services.tts_node.server import SERVICE_NAME
from services.tts_node.servicer import TtsServicer

pytestmark = pytest.mark.unit

Node = tuple[tts_pb2_grpc.TtsServiceStub, VoiceRegistry]

WAIT_S = 10.0


def tone(voice_id: str, **options: object) -> VoiceSpec:
    return VoiceSpec(
        id=voice_id,
        backend="fake",
        model="tone",
        name=voice_id.title(),
        options={"sample_rate": 8000, "ms_per_char": 5, **options},
    )


@pytest.fixture
async def node() -> AsyncIterator[Node]:
    registry = VoiceRegistry(
        [
            tone("quick"),
            tone("slow", delay_ms=200, pieces=4),
            tone("broken", fail="The voice broke."),
            VoiceSpec(id="gone", backend="piper", model="/nowhere/gone.onnx"),
        ]
    )
    async with AsyncExitStack() as stack:
        await registry.start()
        stack.push_async_callback(registry.close)
        server = GrpcServer(host="127.0.0.1", port=0, service_names=[SERVICE_NAME])
        tts_pb2_grpc.add_TtsServiceServicer_to_server(TtsServicer(registry), server.server)
        port = await server.start()
        stack.push_async_callback(server.stop, 1.0)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        stack.push_async_callback(channel.close)
        yield tts_pb2_grpc.TtsServiceStub(channel), registry


def backend(registry: VoiceRegistry, voice_id: str) -> FakeBackend:
    voice = registry.get(voice_id)
    assert voice is not None and isinstance(voice.backend, FakeBackend)
    return voice.backend


async def test_synthesize_streams_each_sentence_then_a_final(node: Node) -> None:
    stub, _ = node
    text = "Hello there. How are you?"
    replies = [r async for r in stub.Synthesize(pb.SynthesizeRequest(voice_id="quick", text=text))]
    audio = [r.audio for r in replies[:-1]]
    assert [(a.sentence_index, a.sentence_end, a.text) for a in audio] == [
        (0, True, "Hello there."),
        (1, True, "How are you?"),
    ]
    assert {(a.format, a.sample_rate) for a in audio} == {(pb.AUDIO_FORMAT_PCM_S16LE, 8000)}
    # 5 ms per character at 8 kHz: 40 samples, 80 bytes a character.
    assert [len(a.audio) for a in audio] == [len("Hello there.") * 80, len("How are you?") * 80]
    final = replies[-1].final
    assert replies[-1].WhichOneof("kind") == "final"
    assert (final.sentences, final.audio_ms) == (2, (12 + 12) * 5)


@pytest.mark.parametrize(
    ("request_fields", "code", "details"),
    [
        ({"voice_id": "nobody", "text": "Hi."}, grpc.StatusCode.NOT_FOUND, "Unknown voice"),
        (
            {"voice_id": "gone", "text": "Hi."},
            grpc.StatusCode.FAILED_PRECONDITION,
            "Voice 'gone' is unavailable: voice model /nowhere/gone.onnx does not exist",
        ),
        ({"voice_id": "quick", "text": " ... "}, grpc.StatusCode.INVALID_ARGUMENT, "nothing"),
        ({"voice_id": "quick", "text": "x" * 10_001}, grpc.StatusCode.INVALID_ARGUMENT, "10,000"),
        ({"voice_id": "quick", "text": "Hi.", "rate": 3}, grpc.StatusCode.INVALID_ARGUMENT, "0.5"),
        (
            {"voice_id": "broken", "text": "Hi."},
            grpc.StatusCode.FAILED_PRECONDITION,
            "The voice broke.",
        ),
    ],
)
async def test_bad_requests_end_with_a_status_that_says_why(
    node: Node,
    request_fields: dict[str, Any],
    code: grpc.StatusCode,
    details: str,
) -> None:
    stub, _ = node
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        async for _ in stub.Synthesize(pb.SynthesizeRequest(**request_fields)):
            pass
    assert failed.value.code() == code
    assert details in (failed.value.details() or "")


async def test_cancelling_the_call_stops_the_synthesis(node: Node) -> None:
    stub, registry = node
    slow = backend(registry, "slow")
    text = "One sentence here. Another sentence there. And a third one."
    call = stub.Synthesize(pb.SynthesizeRequest(voice_id="slow", text=text, max_chunk_ms=0))
    first = await call.read()
    assert first.audio.sentence_index == 0
    call.cancel()
    await asyncio.wait_for(slow.stop_seen.wait(), WAIT_S)
    assert slow.stopped == ["One sentence here."]
    assert slow.finished == []
    assert slow.started == ["One sentence here."]  # the later sentences never began


async def test_list_voices_shows_the_unavailable_with_their_reason(node: Node) -> None:
    stub, _ = node
    voices = {v.id: v for v in (await stub.ListVoices(pb.ListVoicesRequest())).voices}
    assert list(voices) == ["quick", "slow", "broken", "gone"]
    quick, gone = voices["quick"], voices["gone"]
    assert (quick.backend, quick.name, quick.language, quick.sample_rate) == (
        "fake",
        "Quick",
        "en_US",
        8000,
    )
    assert (quick.available, quick.reason) == (True, "")
    assert (gone.available, gone.sample_rate, gone.name) == (False, 0, "gone")
    assert gone.reason == "voice model /nowhere/gone.onnx does not exist"
