"""TTS node process: serve gRPC at once, start the registry's voices in the background."""

from __future__ import annotations

import asyncio
import logging
import sys

from services.common.grpc_security import GrpcSecurity
from services.common.grpc_server import GrpcServer, PortInUse, run, wait_for_signal
from services.common.log import setup_logging
from services.common.pb import tts_pb2, tts_pb2_grpc
from services.common.threads import DaemonThreadExecutor
from services.tts_node.config import TtsSettings
from services.tts_node.registry import RegistryError, VoiceRegistry, load_specs
from services.tts_node.servicer import TtsServicer

logger = logging.getLogger(__name__)

SERVICE_NAME = tts_pb2.DESCRIPTOR.services_by_name["TtsService"].full_name


async def serve(settings: TtsSettings) -> None:
    """Run the TTS node until SIGINT/SIGTERM."""
    # Imports and model loads run in worker threads; they must not keep the process alive
    # after a stop.
    asyncio.get_running_loop().set_default_executor(DaemonThreadExecutor())
    registry = VoiceRegistry(load_specs(settings.voices))
    server = GrpcServer(
        host=settings.tts_host,
        port=settings.tts_port,
        service_names=[SERVICE_NAME],
        reflection_enabled=settings.grpc_reflection,
        security=GrpcSecurity.from_settings(settings),
    )
    tts_pb2_grpc.add_TtsServiceServicer_to_server(TtsServicer(registry), server.server)
    port = await server.start()
    logger.info(
        "tts node serving",
        extra={"address": f"{settings.tts_host}:{port}", "voices": str(settings.voices)},
    )
    # Voices report "starting" until loaded (a second or so each for Piper).
    starting = asyncio.create_task(registry.start())
    try:
        await wait_for_signal()
        logger.info("tts node stopping")
        await server.stop(settings.shutdown_grace_s)
    finally:
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        await registry.close()
    logger.info("tts node stopped")


def main() -> None:
    """Entry point for `chimera tts`."""
    settings = TtsSettings()
    setup_logging("tts", settings.log_level, settings.log_format)
    try:
        run(serve(settings))
    except (RegistryError, PortInUse) as exc:
        logger.error("%s", exc)
        sys.exit(2)


if __name__ == "__main__":
    main()
