"""The ids the model nodes serve, so that a persona names a model or voice that exists.

The list is asked for (ListModels of the LLM node, ListVoices of the TTS node) and kept
briefly. An id the node says it does not have is refused at once with InvalidArgument. When
the node cannot be asked (down, or not deployed yet), the last list it gave decides; if it
never gave one, the id is accepted with a warning: rooms stay editable while the node is away,
and a reply with a model the node turns out not to have ends as an error message that says so
(speech with such a voice ends with the node's reason). A voice the node lists as unavailable
is accepted: its speech fails with the reason the node gives.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Generic, TypeVar

import grpc

from services.common.errors import InvalidArgument
from services.common.pb import llm_pb2, tts_pb2
from services.common.pb.llm_pb2_grpc import LlmServiceStub
from services.common.pb.tts_pb2_grpc import TtsServiceStub

logger = logging.getLogger(__name__)

S = TypeVar("S")

MODELS_TTL_S = 30.0  # how long a list is trusted for ids it has
REFRESH_AFTER_S = 2.0  # an id missing from an older list asks again (one just added)
LIST_TIMEOUT_S = 5.0


class _Catalog(Generic[S]):
    """Checks ids against the list a node gives; subclasses say how to ask and what to call it."""

    noun = "id"  # "model", "voice"
    node = "node"
    listing = ""  # the REST path that lists the ids

    def __init__(
        self,
        stub: S,
        *,
        ttl_s: float = MODELS_TTL_S,
        timeout_s: float = LIST_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stub = stub
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self.clock = clock
        self._ids: frozenset[str] | None = None
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def _list(self) -> frozenset[str]:
        raise NotImplementedError

    async def check(self, item_id: str, what: str) -> None:
        """InvalidArgument when the node does not have `item_id`; `what` names the field."""
        if not item_id:
            return
        known = await self._known(fresh_within=self.ttl_s)
        if known is not None and item_id not in known:
            known = await self._known(fresh_within=REFRESH_AFTER_S)
        if known is None:
            logger.warning(
                f"{self.noun} id not checked: the {self.node} could not be asked",
                extra={self.noun: item_id},
            )
            return
        if item_id not in known:
            raise InvalidArgument(
                f"{what}: unknown {self.noun} {item_id!r}; GET {self.listing} lists the "
                f"{self.noun}s this server has."
            )

    async def _known(self, fresh_within: float) -> frozenset[str] | None:
        async with self._lock:
            if self._ids is not None and self.clock() - self._fetched_at < fresh_within:
                return self._ids
            try:
                self._ids = await self._list()
            except grpc.aio.AioRpcError as exc:
                logger.warning(
                    f"listing the {self.node}'s {self.noun}s failed",
                    extra={"grpc_code": exc.code().name},
                )
                return self._ids  # what the node last said, if it ever answered
            self._fetched_at = self.clock()
            return self._ids


class ModelCatalog(_Catalog[LlmServiceStub]):
    """Checks model ids against the LLM node's registry."""

    noun, node, listing = "model", "LLM node", "/api/models"

    async def _list(self) -> frozenset[str]:
        reply = await self.stub.ListModels(llm_pb2.ListModelsRequest(), timeout=self.timeout_s)
        return frozenset(info.id for info in reply.models)


class VoiceCatalog(_Catalog[TtsServiceStub]):
    """Checks voice ids against the TTS node's registry (unavailable voices included)."""

    noun, node, listing = "voice", "TTS node", "/api/voices"

    async def _list(self) -> frozenset[str]:
        reply = await self.stub.ListVoices(tts_pb2.ListVoicesRequest(), timeout=self.timeout_s)
        return frozenset(info.id for info in reply.voices)
