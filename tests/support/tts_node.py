"""A real TTS node in-process: its servicer on a real gRPC server, voices on any backend.

Room-service tests speak through it with `fake` voices (a tone as long as the text) instead
of hand-written stand-ins for the node's stub.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import grpc

from services.common.grpc_server import GrpcServer
from services.common.pb import tts_pb2_grpc
from services.tts_node.backends.base import VoiceSpec
from services.tts_node.backends.fake import FakeBackend
from services.tts_node.registry import VoiceRegistry
from services.tts_node.server import SERVICE_NAME
from services.tts_node.servicer import TtsServicer


@dataclass
class TtsNode:
    """The stub the room service would hold, and the node behind it."""

    stub: tts_pb2_grpc.TtsServiceStub
    registry: VoiceRegistry
    server: GrpcServer

    def fake(self, voice_id: str) -> FakeBackend:
        """The started fake backend of `voice_id`."""
        voice = self.registry.get(voice_id)
        assert voice is not None and isinstance(voice.backend, FakeBackend), voice
        return voice.backend


def fake_voice(voice_id: str, **options: object) -> VoiceSpec:
    """A `fake` voice: a tone, 8 kHz and 2 ms a character unless `options` say otherwise."""
    return VoiceSpec(
        id=voice_id,
        backend="fake",
        model="tone",
        options={"sample_rate": 8000, "ms_per_char": 2, **options},
    )


@asynccontextmanager
async def tts_node(*specs: VoiceSpec) -> AsyncIterator[TtsNode]:
    """A node serving `specs` on a free port, reachable through `TtsNode.stub`."""
    registry = VoiceRegistry(list(specs))
    async with AsyncExitStack() as stack:
        await registry.start()
        stack.push_async_callback(registry.close)
        server = GrpcServer(host="127.0.0.1", port=0, service_names=[SERVICE_NAME])
        tts_pb2_grpc.add_TtsServiceServicer_to_server(TtsServicer(registry), server.server)
        port = await server.start()
        stack.push_async_callback(server.stop, 1.0)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        stack.push_async_callback(channel.close)
        yield TtsNode(tts_pb2_grpc.TtsServiceStub(channel), registry, server)
