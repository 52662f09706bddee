"""Free TCP ports and readiness probes: how a service is placed and how to tell it serves.

`chimera up`, the test stacks and the benchmarks start services on these ports and wait on
these probes.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Collection

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc


def free_port(host: str) -> int:
    """A TCP port that is free on `host` right now."""
    return free_ports(host, 1)[0]


def free_ports(host: str, count: int, avoid: Collection[int] = ()) -> list[int]:
    """`count` different TCP ports free on `host` right now, none of them in `avoid`.

    Each is held while the next is picked, so they differ; `avoid` keeps out ports that are
    promised elsewhere but not bound yet (the gateway's, when the user chose an ephemeral one).
    """
    ports: list[int] = []
    with contextlib.ExitStack() as held:
        while len(ports) < count:
            s = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            s.bind((host, 0))
            port = int(s.getsockname()[1])
            if port not in avoid:
                ports.append(port)
    return ports


async def grpc_serving(address: str, service: str) -> bool:
    """True when the gRPC health service at `address` reports `service` SERVING."""
    async with grpc.aio.insecure_channel(address) as channel:
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=1
            )
        except grpc.aio.AioRpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


async def http_ok(url: str) -> bool:
    """True when GET `url` answers 200."""
    async with httpx.AsyncClient(timeout=1) as client:
        try:
            return (await client.get(url)).status_code == 200
        except httpx.HTTPError:
            return False
