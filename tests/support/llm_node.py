"""A real LLM node in-process: its servicer on a real gRPC server, models on any backend.

Room-service tests use it with the `fake` backend instead of hand-written stand-ins for the
node's stub: what they talk to is the node's own servicer over a real channel.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import grpc

from services.common.grpc_server import GrpcServer
from services.common.pb import llm_pb2 as pb
from services.common.pb import llm_pb2_grpc
from services.llm_node.backends.base import ModelSpec
from services.llm_node.backends.fake import FakeBackend, Step
from services.llm_node.registry import ModelRegistry
from services.llm_node.server import SERVICE_NAME
from services.llm_node.servicer import LlmServicer


class RecordingServicer(LlmServicer):
    """The node's own servicer, noting the name of every call it serves, in order."""

    def __init__(self, registry: ModelRegistry) -> None:
        super().__init__(registry)
        self.calls: list[str] = []
        self.counted: list[list[str]] = []  # the texts of each CountTokens

    async def ListModels(
        self, request: pb.ListModelsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListModelsResponse:
        self.calls.append("ListModels")
        return await super().ListModels(request, context)

    async def CountTokens(
        self, request: pb.CountTokensRequest, context: grpc.aio.ServicerContext
    ) -> pb.CountTokensResponse:
        self.calls.append("CountTokens")
        self.counted.append(list(request.texts))
        return await super().CountTokens(request, context)

    async def Generate(
        self, request: pb.GenerateRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.GenerateChunk]:
        self.calls.append("Generate")
        async for chunk in super().Generate(request, context):
            yield chunk


@dataclass
class LlmNode:
    """The stub the room service would hold, and the node behind it."""

    stub: llm_pb2_grpc.LlmServiceStub
    registry: ModelRegistry
    servicer: RecordingServicer

    @property
    def calls(self) -> list[str]:
        """Every call the node served, by method name."""
        return self.servicer.calls

    def fake(self, model_id: str) -> FakeBackend:
        """The started fake backend of `model_id`."""
        model = self.registry.get(model_id)
        assert model is not None and isinstance(model.backend, FakeBackend), model
        return model.backend


def fake_model(
    model_id: str,
    *script: str | Step,
    context_window: int | None = None,
    delay_ms: float = 0,
    **fields: Any,
) -> ModelSpec:
    """A `fake` model that plays `script` (strings are reply texts)."""
    return ModelSpec(
        id=model_id,
        backend="fake",
        model=model_id,
        context_window=context_window,
        # Steps go in as objects, not tables: the backend takes either.
        options={"delay_ms": delay_ms, "script": list(script)},
        **fields,
    )


@asynccontextmanager
async def serving(
    registry: ModelRegistry, servicer: LlmServicer | None = None
) -> AsyncIterator[llm_pb2_grpc.LlmServiceStub]:
    """`registry` started and served (by `servicer`) on a real gRPC server on a free port."""
    async with AsyncExitStack() as stack:
        await registry.start()
        stack.push_async_callback(registry.close)
        for model in registry.models.values():
            if model.backend is not None:
                model.backend.backoff_s = 0.01  # retries stay real, just quick
        server = GrpcServer(host="127.0.0.1", port=0, service_names=[SERVICE_NAME])
        llm_pb2_grpc.add_LlmServiceServicer_to_server(
            servicer or LlmServicer(registry), server.server
        )
        port = await server.start()
        stack.push_async_callback(server.stop, 1.0)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        stack.push_async_callback(channel.close)
        yield llm_pb2_grpc.LlmServiceStub(channel)


@asynccontextmanager
async def llm_node(
    *specs: ModelSpec, servicer: type[RecordingServicer] = RecordingServicer
) -> AsyncIterator[LlmNode]:
    """A node serving `specs`, reachable through `LlmNode.stub`."""
    registry = ModelRegistry(list(specs))
    recording = servicer(registry)
    async with serving(registry, recording) as stub:
        yield LlmNode(stub, registry, recording)
