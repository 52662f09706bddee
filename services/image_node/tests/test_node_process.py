"""The image node as its own process (`python -m services.image_node`, what `chimera image`
runs), over real gRPC with the internal secret, on a fake model and an unavailable one."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from services.common.grpc_security import GrpcSecurity, open_channel
from services.common.net import free_port, grpc_serving
from services.common.pb import image_pb2 as pb
from services.common.pb import image_pb2_grpc
from services.image_node.server import SERVICE_NAME
from services.image_node.tests.support import WAIT_S, job, kinds, of_kind, pixels
from tests.support.stack import ServiceProcess

pytestmark = pytest.mark.integration

SECRET = "image-test-secret"


@dataclass
class Running:
    stub: image_pb2_grpc.ImageServiceStub
    address: str
    process: ServiceProcess


async def wait_until_checked(stub: image_pb2_grpc.ImageServiceStub) -> None:
    """Models say "starting" until checked; the node has no event to wait on for them."""
    async with asyncio.timeout(WAIT_S):
        while True:
            reply = await stub.ListModels(pb.ListImageModelsRequest(), timeout=5)
            if all(m.reason != "starting" for m in reply.models):
                return
            await asyncio.sleep(0.05)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Running]:
    models = tmp_path / "models.toml"
    models.write_text(
        '[[models]]\nid = "demo"\nbackend = "fake"\nmodel = "fake"\n\n'
        '[[models]]\nid = "held"\nbackend = "fake"\nmodel = "fake"\noptions = { hold_after = 1 }\n\n'
        '[[models]]\nid = "lost"\nbackend = "diffusers"\nmodel = "./lost"\npipeline = "sd15"\n'
    )
    port = free_port("127.0.0.1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIMERA_")}
    env.update(
        CHIMERA_IMAGE_MODELS=str(models),
        CHIMERA_IMAGE_PORT=str(port),
        CHIMERA_IMAGE_QUEUE_MAX="4",
        CHIMERA_SHUTDOWN_GRACE_S="1",
        CHIMERA_DATA_DIR=str(tmp_path / "data"),
        CHIMERA_INTERNAL_SECRET=SECRET,
        CHIMERA_LOG_FORMAT="json",
    )
    process = ServiceProcess("image", "services.image_node", env, tmp_path / "image.log")
    await process.start()
    address = f"127.0.0.1:{port}"
    channel = open_channel(address, GrpcSecurity(secret=SECRET))
    try:
        await process.wait_ready(lambda: grpc_serving(address, SERVICE_NAME))
        stub = image_pb2_grpc.ImageServiceStub(channel)
        await wait_until_checked(stub)
        yield Running(stub, address, process)
    finally:
        await channel.close()
        if process.running:
            assert await process.signal(signal.SIGTERM) == 0, process.log_tail()


async def test_the_node_process_serves_images_behind_the_secret(node: Running) -> None:
    models = {m.id: m for m in (await node.stub.ListModels(pb.ListImageModelsRequest())).models}
    assert (models["demo"].available, models["lost"].available) == (True, False)
    assert models["lost"].reason.startswith("model directory ") and "does not exist" in (
        models["lost"].reason
    )
    events = [e async for e in node.stub.Generate(job("demo", width=64, height=64, steps=2))]
    assert kinds(events) == ["queued", "progress", "progress", "image", "final"]
    assert pixels(of_kind(events, "image")[0].png).shape == (64, 64, 3)

    async with grpc.aio.insecure_channel(node.address) as bare:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await image_pb2_grpc.ImageServiceStub(bare).ListModels(pb.ListImageModelsRequest())
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_the_node_stops_cleanly_with_a_job_running(node: Running) -> None:
    call = node.stub.Generate(job("held"))
    async with asyncio.timeout(WAIT_S):
        while (await call.read()).WhichOneof("kind") != "progress":
            pass  # running now, and held there
    assert await node.process.signal(signal.SIGTERM) == 0, node.process.log_tail()
    with pytest.raises(grpc.aio.AioRpcError):  # the stream ended with the node
        await call.read()
