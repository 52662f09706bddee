"""A real TTS node on the fake backend's voices, in a thread of its own, for gateway tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from services.common.grpc_server import GrpcServer
from services.common.pb import tts_pb2_grpc
from services.tts_node.backends.base import VoiceSpec
from services.tts_node.registry import VoiceRegistry
from services.tts_node.server import SERVICE_NAME
from services.tts_node.servicer import TtsServicer

TONE_RATE = 8_000
MS_PER_CHAR = 10


def tone_voice(voice_id: str, **options: object) -> VoiceSpec:
    """A fake voice: a tone of MS_PER_CHAR milliseconds a character, at TONE_RATE."""
    return VoiceSpec(
        id=voice_id,
        backend="fake",
        model="tone",
        name=voice_id.title(),
        options={"sample_rate": TONE_RATE, "ms_per_char": MS_PER_CHAR, **options},
    )


@contextmanager
def tts_node(specs: list[VoiceSpec]) -> Iterator[int]:
    """Serve `specs` on a loopback port until the block ends; yields the port."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    registry = VoiceRegistry(specs)
    servers: list[GrpcServer] = []

    async def start() -> int:
        # Made on the node's own loop: a grpc.aio server belongs to the loop it was made on.
        server = GrpcServer(host="127.0.0.1", port=0, service_names=[SERVICE_NAME])
        servers.append(server)
        await registry.start()
        tts_pb2_grpc.add_TtsServiceServicer_to_server(TtsServicer(registry), server.server)
        return await server.start()

    async def stop() -> None:
        for server in servers:
            await server.stop(1.0)
        await registry.close()

    try:
        yield asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
