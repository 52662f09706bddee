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
from services.common.pb import llm_pb2_grpc
from services.llm_node.backends.base import ModelSpec
from services.llm_node.backends.fake import FakeBackend, Step
from services.llm_node.registry import ModelRegistry
from services.llm_node.server import SERVICE_NAME
from services.llm_node.servicer import LlmServicer


@dataclass
class LlmNode:
    """The stub the room service would hold, and the registry behind it."""

    stub: llm_pb2_grpc.LlmServiceStub
    registry: ModelRegistry

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
async def serving(registry: ModelRegistry) -> AsyncIterator[llm_pb2_grpc.LlmServiceStub]:
    """`registry` started and served by a real gRPC server on a free port."""
    async with AsyncExitStack() as stack:
        await registry.start()
        stack.push_async_callback(registry.close)
        for model in registry.models.values():
            if model.backend is not None:
                model.backend.backoff_s = 0.01  # retries stay real, just quick
        server = GrpcServer(host="127.0.0.1", port=0, service_names=[SERVICE_NAME])
        llm_pb2_grpc.add_LlmServiceServicer_to_server(LlmServicer(registry), server.server)
        port = await server.start()
        stack.push_async_callback(server.stop, 1.0)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        stack.push_async_callback(channel.close)
        yield llm_pb2_grpc.LlmServiceStub(channel)


@asynccontextmanager
async def llm_node(*specs: ModelSpec) -> AsyncIterator[LlmNode]:
    """A node serving `specs`, reachable through `LlmNode.stub`."""
    registry = ModelRegistry(list(specs))
    async with serving(registry) as stub:
        yield LlmNode(stub, registry)
