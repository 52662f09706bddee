"""The model ids the LLM node serves, so that a persona or summarizer names one that exists.

The list is asked for with ListModels and kept briefly. An id the node says it does not have is
refused at once with InvalidArgument. When the node cannot be asked (down, or not deployed yet),
the last list it gave decides; if it never gave one, the id is accepted with a warning: rooms
stay editable while the node is away, and a reply with a model the node turns out not to have
ends as an error message that says so.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import grpc

from services.common.errors import InvalidArgument
from services.common.pb import llm_pb2
from services.common.pb.llm_pb2_grpc import LlmServiceStub

logger = logging.getLogger(__name__)

MODELS_TTL_S = 30.0  # how long a list is trusted for ids it has
REFRESH_AFTER_S = 2.0  # an id missing from an older list asks again (a model just added)
LIST_TIMEOUT_S = 5.0


class ModelCatalog:
    """Checks model ids against the LLM node's registry."""

    def __init__(
        self,
        llm: LlmServiceStub,
        *,
        ttl_s: float = MODELS_TTL_S,
        timeout_s: float = LIST_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.llm = llm
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self.clock = clock
        self._ids: frozenset[str] | None = None
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def check(self, model_id: str, what: str) -> None:
        """InvalidArgument when the node does not have `model_id`; `what` names the field."""
        if not model_id:
            return
        known = await self._known(fresh_within=self.ttl_s)
        if known is not None and model_id not in known:
            known = await self._known(fresh_within=REFRESH_AFTER_S)
        if known is None:
            logger.warning(
                "model id not checked: the LLM node could not be asked", extra={"model": model_id}
            )
            return
        if model_id not in known:
            raise InvalidArgument(
                f"{what}: unknown model {model_id!r}; GET /api/models lists the models "
                "this server has."
            )

    async def _known(self, fresh_within: float) -> frozenset[str] | None:
        async with self._lock:
            if self._ids is not None and self.clock() - self._fetched_at < fresh_within:
                return self._ids
            try:
                reply = await self.llm.ListModels(
                    llm_pb2.ListModelsRequest(), timeout=self.timeout_s
                )
            except grpc.aio.AioRpcError as exc:
                logger.warning("ListModels failed", extra={"grpc_code": exc.code().name})
                return self._ids  # what the node last said, if it ever answered
            self._ids = frozenset(info.id for info in reply.models)
            self._fetched_at = self.clock()
            return self._ids
