"""LLM node process: serve gRPC at once, start the registry's models in the background."""

from __future__ import annotations

import asyncio
import logging
import sys

from services.common.grpc_security import GrpcSecurity
from services.common.grpc_server import GrpcServer, PortInUse, run, wait_for_signal
from services.common.log import setup_logging
from services.common.pb import llm_pb2, llm_pb2_grpc
from services.common.threads import DaemonThreadExecutor
from services.llm_node.config import LlmSettings
from services.llm_node.registry import ModelRegistry, RegistryError, load_specs
from services.llm_node.servicer import LlmServicer

logger = logging.getLogger(__name__)

SERVICE_NAME = llm_pb2.DESCRIPTOR.services_by_name["LlmService"].full_name


async def serve(settings: LlmSettings) -> None:
    """Run the LLM node until SIGINT/SIGTERM."""
    # Weight loading runs in worker threads that may hang on the network; they must not keep
    # the process alive after a stop.
    asyncio.get_running_loop().set_default_executor(DaemonThreadExecutor())
    registry = ModelRegistry(load_specs(settings.models))
    server = GrpcServer(
        host=settings.llm_host,
        port=settings.llm_port,
        service_names=[SERVICE_NAME],
        reflection_enabled=settings.grpc_reflection,
        security=GrpcSecurity.from_settings(settings),
    )
    llm_pb2_grpc.add_LlmServiceServicer_to_server(LlmServicer(registry), server.server)
    port = await server.start()
    logger.info(
        "llm node serving",
        extra={"address": f"{settings.llm_host}:{port}", "models": str(settings.models)},
    )
    # Loading local weights can take minutes; models report "starting" until then.
    starting = asyncio.create_task(registry.start())
    try:
        await wait_for_signal()
        logger.info("llm node stopping")
        await server.stop(settings.shutdown_grace_s)
    finally:
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        await registry.close()
    logger.info("llm node stopped")


def main() -> None:
    """Entry point for `chimera llm`."""
    settings = LlmSettings()
    setup_logging("llm", settings.log_level, settings.log_format)
    try:
        run(serve(settings))
    except (RegistryError, PortInUse) as exc:
        logger.error("%s", exc)
        sys.exit(2)


if __name__ == "__main__":
    main()
