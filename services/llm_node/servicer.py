"""The LlmService gRPC servicer: registry lookups, streaming, and backend errors to status."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import grpc

from services.common.errors import FailedPrecondition, InvalidArgument, Unavailable
from services.common.grpc_errors import streaming, unary
from services.common.pb import llm_pb2 as pb
from services.common.pb import llm_pb2_grpc
from services.llm_node.backends.base import (
    BackendError,
    ChatTurn,
    Delta,
    GenerationRequest,
    estimate_tokens,
)
from services.llm_node.pacing import paced
from services.llm_node.registry import Model, ModelRegistry

logger = logging.getLogger(__name__)

ROLES = ("system", "user", "assistant")
MAX_MESSAGES = 10_000
HEALTH_TIMEOUT_S = 5.0
MAX_DELTA_INTERVAL_MS = 60_000


class LlmServicer(llm_pb2_grpc.LlmServiceServicer):
    """Serves generations from the model registry."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry

    def _model(self, model_id: str) -> Model:
        return self.registry.usable(model_id, "model")

    @streaming
    async def Generate(
        self, request: pb.GenerateRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.GenerateChunk]:
        model = self._model(request.model_id)
        backend = model.backend
        assert backend is not None
        if not request.messages or len(request.messages) > MAX_MESSAGES:
            raise InvalidArgument("Give between 1 and 10,000 messages.")
        if any(m.role not in ROLES for m in request.messages):
            raise InvalidArgument("Message roles are system, user or assistant.")
        if not 0 <= request.delta_interval_ms <= MAX_DELTA_INTERVAL_MS:
            raise InvalidArgument("delta_interval_ms is between 0 and 60,000.")
        interval_s = request.delta_interval_ms / 1000
        generation = GenerationRequest(
            request_id=request.request_id or f"gen-{id(request)}",
            messages=[
                ChatTurn(role=m.role, content=m.content, name=m.name or None)
                for m in request.messages
            ],
            temperature=request.temperature if request.HasField("temperature") else None,
            max_tokens=request.max_tokens or None,
            stop=list(request.stop),
        )
        stream = backend.generate(generation)
        finished = False
        try:
            # aclosing: leaving the loop stops the reader task before the stream is closed below.
            async with contextlib.aclosing(paced(stream, interval_s)) as events:
                async for event in events:
                    if isinstance(event, Delta):
                        yield pb.GenerateChunk(delta=pb.GenerateDelta(text=event.text))
                    else:
                        finished = True
                        yield pb.GenerateChunk(
                            final=pb.GenerateFinal(
                                finish_reason=event.finish_reason,
                                prompt_tokens=event.prompt_tokens,
                                completion_tokens=event.completion_tokens,
                                time_to_first_token_ms=event.time_to_first_token_ms,
                                total_ms=event.total_ms,
                                model=event.model,
                            )
                        )
        except BackendError as exc:
            # Retryable (overloaded, unreachable): the caller may try again; else it must change.
            raise (Unavailable if exc.retryable else FailedPrecondition)(exc.message) from exc
        finally:
            # Cancelled (the caller pressed Stop or went away): close the backend's stream and
            # abort the request, so the provider stops and the GPU is freed.
            await stream.aclose()
            if not finished:
                await backend.abort(generation.request_id)
                logger.info("generation stopped early", extra={"model_id": request.model_id})

    @unary
    async def ListModels(
        self, request: pb.ListModelsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListModelsResponse:
        return pb.ListModelsResponse(
            models=[
                pb.ModelInfo(
                    id=m.spec.id,
                    backend=m.spec.backend,
                    model=m.spec.model,
                    available=m.available,
                    reason=m.reason,
                    context_window=m.context_window,
                )
                for m in self.registry.models.values()
            ]
        )

    @unary
    async def ListProviders(
        self, request: pb.ListProvidersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListProvidersResponse:
        by_backend: dict[str, list[Model]] = {}
        for model in self.registry.models.values():
            by_backend.setdefault(model.spec.backend, []).append(model)
        providers = await asyncio.gather(
            *(self._provider(name, models) for name, models in by_backend.items())
        )
        return pb.ListProvidersResponse(providers=providers)

    async def _provider(self, name: str, models: list[Model]) -> pb.ProviderInfo:
        available = [m for m in models if m.available and m.backend is not None]
        healthy, detail = False, "no available models"
        if available:
            healthy, detail = await self._health(available[0])
        elif models:
            detail = models[0].reason
        return pb.ProviderInfo(
            backend=name,
            models=len(models),
            available=len(available),
            healthy=healthy,
            detail=detail,
        )

    async def _health(self, model: Model) -> tuple[bool, str]:
        assert model.backend is not None
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_S):
                return await model.backend.health()
        except TimeoutError:
            return False, "health check timed out"
        except Exception as exc:
            return False, f"health check failed: {type(exc).__name__}"

    @unary
    async def CountTokens(
        self, request: pb.CountTokensRequest, context: grpc.aio.ServicerContext
    ) -> pb.CountTokensResponse:
        model = self.registry.get(request.model_id)
        texts = list(request.texts)
        counts = None
        if model is not None and model.backend is not None:
            counts = await asyncio.to_thread(model.backend.count_tokens, texts)
        window = model.context_window if model is not None else 0
        if counts is not None:
            return pb.CountTokensResponse(counts=counts, exact=True, context_window=window)
        return pb.CountTokensResponse(
            counts=[estimate_tokens(t) for t in texts], exact=False, context_window=window
        )
