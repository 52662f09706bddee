"""TTS node process: serve gRPC at once, start the registry's voices in the background."""

from __future__ import annotations

from services.common.node.server import node_main, serve_node
from services.common.pb import tts_pb2, tts_pb2_grpc
from services.tts_node.config import TtsSettings
from services.tts_node.registry import VoiceRegistry, load_specs
from services.tts_node.servicer import TtsServicer

SERVICE_NAME = tts_pb2.DESCRIPTOR.services_by_name["TtsService"].full_name


async def serve(settings: TtsSettings) -> None:
    """Run the TTS node until SIGINT/SIGTERM."""
    registry = VoiceRegistry(load_specs(settings.voices))
    await serve_node(
        "tts",
        settings,
        host=settings.tts_host,
        port=settings.tts_port,
        service_name=SERVICE_NAME,
        registry=registry,
        add_servicer=lambda s: tts_pb2_grpc.add_TtsServiceServicer_to_server(
            TtsServicer(registry), s
        ),
        shutdown_grace_s=settings.shutdown_grace_s,
        reflection=settings.grpc_reflection,
        extra={"voices": str(settings.voices)},
    )


def main() -> None:
    """Entry point for `chimera tts`."""
    node_main("tts", TtsSettings(), serve)


if __name__ == "__main__":
    main()
