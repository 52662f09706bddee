"""gRPC server bootstrap: health, reflection, size limits and graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

if TYPE_CHECKING:
    from services.common.grpc_security import GrpcSecurity

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A history page holds up to 200 messages of up to 16,000 characters, i.e. up to 64 KB each in
# UTF-8: about 13 MB. gRPC's 4 MB default refused such pages (REST 429, resume closed 1013).
MAX_MESSAGE_BYTES = 32 * 1024 * 1024


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run a service's main coroutine on uvloop (as uvicorn runs the gateway), else asyncio.

    Measured on the fan-out path: scripts/bench_fanout.py, docs/benchmarks.md.
    """
    try:
        import uvloop
    except ImportError:  # uvicorn[standard] brings it where it builds
        return asyncio.run(main)
    return uvloop.run(main)


def channel_options(max_message_bytes: int = MAX_MESSAGE_BYTES) -> list[tuple[str, int]]:
    """Options shared by servers and clients: size caps and keepalive."""
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.keepalive_time_ms", 20_000),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ]


class _HealthServicer(health.aio.HealthServicer):
    """The standard health service, except that Watch streams end once shutdown begins.

    The stock Watch never ends by itself, so every open watcher (gRPC's client-side health
    checking opens one) would hold a graceful stop for its whole grace period.
    """

    async def Watch(
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext
    ) -> None:
        condition = self._server_watchers[request.service]
        self._watcher_count_by_service[request.service] += 1
        last_status = None
        try:
            async with condition:
                while True:
                    status = self._server_status.get(
                        request.service, health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
                    )
                    if status != last_status:
                        await context.write(health_pb2.HealthCheckResponse(status=status))
                        last_status = status
                    if self._gracefully_shutting_down:
                        context.set_code(grpc.StatusCode.UNAVAILABLE)
                        context.set_details("server is shutting down")
                        return
                    await condition.wait()
        finally:
            self._watcher_count_by_service[request.service] -= 1
            if self._watcher_count_by_service[request.service] == 0:
                del self._server_watchers[request.service]
                del self._watcher_count_by_service[request.service]


class PortInUse(RuntimeError):
    """The server's address cannot be bound (another process listens there)."""


class GrpcServer:
    """A grpc.aio server with the standard health and reflection services."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        service_names: Iterable[str],
        reflection_enabled: bool = True,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        security: GrpcSecurity | None = None,
    ) -> None:
        self.address = f"{host}:{port}"
        self.service_names = list(service_names)
        self.security = security
        self.server = grpc.aio.server(
            # SO_REUSEPORT would let a second server bind a port already in use and share its
            # calls with the first; a port in use must be a start-up error instead.
            options=[*channel_options(max_message_bytes), ("grpc.so_reuseport", 0)],
            interceptors=security.server_interceptors() if security is not None else None,
        )
        self.health = _HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        if reflection_enabled:
            names = [*self.service_names, health.SERVICE_NAME, reflection.SERVICE_NAME]
            reflection.enable_server_reflection(names, self.server)
        self.port = 0

    async def start(self) -> int:
        """Bind, start serving and mark every service SERVING; return the bound port."""
        credentials = self.security.server_credentials() if self.security is not None else None
        try:
            if credentials is not None:
                self.port = self.server.add_secure_port(self.address, credentials)
            else:
                self.port = self.server.add_insecure_port(self.address)
        except RuntimeError:
            self.port = 0
        if self.port == 0:
            raise PortInUse(f"cannot listen on {self.address}: the address is in use or invalid")
        await self.server.start()
        for name in ["", *self.service_names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return self.port

    async def stop(
        self, grace: float, before_stop: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """Go NOT_SERVING, refuse new calls, let in-flight ones finish within `grace`."""
        await self.health.enter_graceful_shutdown()
        stopping = asyncio.create_task(self.server.stop(grace))
        # server.stop() refuses new calls at once; the hook then ends long-lived
        # streams itself rather than letting them hold the whole grace period.
        if before_stop is not None:
            await before_stop()
        await stopping


async def wait_for_signal() -> None:
    """Return on the first SIGINT or SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
