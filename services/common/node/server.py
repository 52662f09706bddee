"""What the node processes (LLM, TTS, and image next) share: serve gRPC at once, start the
registry's backends in the background, stop cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import grpc

from services.common.grpc_security import GrpcSecurity
from services.common.grpc_server import GrpcServer, PortInUse, run, wait_for_signal
from services.common.log import setup_logging
from services.common.node.registry import RegistryError
from services.common.settings import CommonSettings
from services.common.threads import DaemonThreadExecutor

logger = logging.getLogger(__name__)


class Registry(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...


async def serve_node(
    name: str,
    settings: CommonSettings,
    *,
    host: str,
    port: int,
    service_name: str,
    registry: Registry,
    add_servicer: Callable[[grpc.aio.Server], None],
    shutdown_grace_s: float,
    reflection: bool,
    extra: dict[str, str],
) -> None:
    """Run a node until SIGINT/SIGTERM: entries report "starting" until their backends load
    (seconds for a voice, minutes for big local weights), while the node already answers."""
    # Imports and weight loads run in worker threads that may hang (on the network, say);
    # they must not keep the process alive after a stop.
    asyncio.get_running_loop().set_default_executor(DaemonThreadExecutor())
    server = GrpcServer(
        host=host,
        port=port,
        service_names=[service_name],
        reflection_enabled=reflection,
        security=GrpcSecurity.from_settings(settings),
    )
    add_servicer(server.server)
    bound = await server.start()
    logger.info(f"{name} node serving", extra={"address": f"{host}:{bound}", **extra})
    starting = asyncio.create_task(registry.start())
    try:
        await wait_for_signal()
        logger.info(f"{name} node stopping")
        await server.stop(shutdown_grace_s)
    finally:
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        await registry.close()
    logger.info(f"{name} node stopped")


def node_main(
    name: str, settings: CommonSettings, serve: Callable[[Any], Coroutine[Any, Any, None]]
) -> None:
    """A node's entry point: log setup, run, and exit 2 with one line for a bad registry file
    or a port in use."""
    setup_logging(name, settings.log_level, settings.log_format)
    try:
        run(serve(settings))
    except (RegistryError, PortInUse) as exc:
        logger.error("%s", exc)
        sys.exit(2)
