"""An in-process image node on a free port, and helpers to read its job streams."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import grpc

from services.common.grpc_server import GrpcServer
from services.common.pb import image_pb2 as pb
from services.common.pb import image_pb2_grpc
from services.image_node.backends.base import ImageBackend, ModelSpec
from services.image_node.queue import DEFAULT_MAX_JOBS, JobQueue
from services.image_node.registry import ImageModelRegistry
from services.image_node.server import SERVICE_NAME
from services.image_node.servicer import ImageServicer

WAIT_S = 30.0  # generous: a loaded CI machine is slow, and nothing here waits that long when well


@dataclass
class Node:
    stub: image_pb2_grpc.ImageServiceStub
    registry: ImageModelRegistry
    queue: JobQueue

    def backend(self, model_id: str) -> Any:
        model = self.registry.get(model_id)
        assert model is not None and model.backend is not None, model and model.reason
        backend: ImageBackend = model.backend
        return backend


@asynccontextmanager
async def serving(
    specs: list[ModelSpec], *, max_jobs: int = DEFAULT_MAX_JOBS
) -> AsyncIterator[Node]:
    """The real servicer, registry and queue behind a real gRPC server."""
    registry = ImageModelRegistry(specs)
    queue = JobQueue(max_jobs)
    async with AsyncExitStack() as stack:
        await registry.start()
        stack.push_async_callback(registry.close)
        stack.push_async_callback(queue.close)
        server = GrpcServer(host="127.0.0.1", port=0, service_names=[SERVICE_NAME])
        image_pb2_grpc.add_ImageServiceServicer_to_server(
            ImageServicer(registry, queue), server.server
        )
        port = await server.start()
        stack.push_async_callback(server.stop, 1.0)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        stack.push_async_callback(channel.close)
        yield Node(image_pb2_grpc.ImageServiceStub(channel), registry, queue)


def fake(model_id: str = "fake", **options: Any) -> ModelSpec:
    return ModelSpec(id=model_id, backend="fake", model="fake", options=options)


def job(
    model_id: str, prompt: str = "a red fox in the snow", **fields: Any
) -> pb.GenerateImageRequest:
    return pb.GenerateImageRequest(model_id=model_id, prompt=prompt, **fields)


async def run(
    stub: image_pb2_grpc.ImageServiceStub, request: pb.GenerateImageRequest
) -> list[pb.GenerateEvent]:
    """Every event of one job, to its end."""
    async with asyncio.timeout(WAIT_S):
        return [event async for event in stub.Generate(request)]


async def read_until(call: Any, kind: str) -> list[pb.GenerateEvent]:
    """Events of a running call up to and including the first of `kind`."""
    seen: list[pb.GenerateEvent] = []
    async with asyncio.timeout(WAIT_S):
        while True:
            event = await call.read()
            assert event is not grpc.aio.EOF, f"the stream ended before a {kind} event: {seen}"
            seen.append(event)
            if event.WhichOneof("kind") == kind:
                return seen


def kinds(events: list[pb.GenerateEvent]) -> list[str]:
    return [str(e.WhichOneof("kind")) for e in events]


def of_kind(events: list[pb.GenerateEvent], kind: str) -> list[Any]:
    return [getattr(e, kind) for e in events if e.WhichOneof("kind") == kind]


def pixels(png: bytes) -> Any:
    """A PNG as an H x W x 3 int array."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(png)) as picture:
        assert picture.format == "PNG"
        return np.asarray(picture.convert("RGB")).astype(int)


def png_of(width: int, height: int, colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()
