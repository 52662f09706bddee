"""The gRPC server bootstrap: a port in use is a start-up error, never a shared port."""

from __future__ import annotations

import pytest

from services.common.grpc_server import GrpcServer, PortInUse

pytestmark = pytest.mark.unit


async def test_a_second_server_on_a_port_in_use_fails_to_start() -> None:
    first = GrpcServer(host="127.0.0.1", port=0, service_names=[])
    port = await first.start()
    second = GrpcServer(host="127.0.0.1", port=port, service_names=[])
    try:
        with pytest.raises(PortInUse, match=f"127.0.0.1:{port}"):
            await second.start()
    finally:
        await second.server.stop(None)
        await first.server.stop(None)
