"""Model ids are checked against the LLM node's list, kept briefly; an unreachable node decides
nothing."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from services.common.errors import InvalidArgument
from services.common.pb import llm_pb2, tts_pb2
from services.room.catalog import ModelCatalog, VoiceCatalog

pytestmark = [pytest.mark.unit, pytest.mark.asyncio]


class _Unavailable(grpc.aio.AioRpcError):
    def __init__(self) -> None:
        super().__init__(
            grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "down"
        )


class FakeLlm:
    """ListModels from a list that tests change; `down` makes it fail."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.down = False
        self.calls = 0

    async def ListModels(self, request: Any, timeout: float) -> llm_pb2.ListModelsResponse:
        self.calls += 1
        if self.down:
            raise _Unavailable()
        return llm_pb2.ListModelsResponse(models=[llm_pb2.ModelInfo(id=i) for i in self.ids])


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_known_ids_pass_and_unknown_ones_name_the_model() -> None:
    llm = FakeLlm(["fast"])
    catalog = ModelCatalog(llm, clock=Clock())  # type: ignore[arg-type]
    await catalog.check("fast", "Persona @a")
    with pytest.raises(InvalidArgument, match=r"Persona @a: unknown model 'slow'.*/api/models"):
        await catalog.check("slow", "Persona @a")


async def test_the_list_is_kept_briefly_and_asked_again_for_a_new_id() -> None:
    llm, clock = FakeLlm(["fast"]), Clock()
    catalog = ModelCatalog(llm, clock=clock)  # type: ignore[arg-type]
    await catalog.check("fast", "m")
    await catalog.check("fast", "m")
    assert llm.calls == 1
    llm.ids.append("new")
    clock.now += 5  # older than the refresh window: a missing id asks again
    await catalog.check("new", "m")
    assert llm.calls == 2


async def test_a_node_that_never_answered_accepts_and_one_that_did_keeps_its_word() -> None:
    llm, clock = FakeLlm(["fast"]), Clock()
    catalog = ModelCatalog(llm, clock=clock)  # type: ignore[arg-type]
    llm.down = True
    await catalog.check("anything", "m")  # nothing known: accepted (with a warning)
    llm.down = False
    await catalog.check("fast", "m")
    llm.down, clock.now = True, clock.now + 60
    with pytest.raises(InvalidArgument):
        await catalog.check("anything", "m")
    await catalog.check("fast", "m")


class FakeTts:
    """ListVoices: one available voice, one unavailable; `down` makes it fail."""

    def __init__(self) -> None:
        self.down = False

    async def ListVoices(self, request: Any, timeout: float) -> tts_pb2.ListVoicesResponse:
        if self.down:
            raise _Unavailable()
        return tts_pb2.ListVoicesResponse(
            voices=[
                tts_pb2.VoiceInfo(id="joe", available=True),
                tts_pb2.VoiceInfo(id="gone", available=False, reason="no model file"),
            ]
        )


async def test_voices_are_checked_like_models_and_an_unavailable_one_is_accepted() -> None:
    tts = FakeTts()
    catalog = VoiceCatalog(tts, clock=Clock())  # type: ignore[arg-type]
    await catalog.check("joe", "Persona @a")
    await catalog.check("gone", "Persona @a")  # its speech fails later, with the reason
    await catalog.check("", "Persona @a")  # no voice
    with pytest.raises(InvalidArgument, match=r"Persona @a: unknown voice 'bob'.*/api/voices"):
        await catalog.check("bob", "Persona @a")


async def test_a_voice_is_accepted_while_the_tts_node_was_never_reached() -> None:
    tts = FakeTts()
    tts.down = True
    catalog = VoiceCatalog(tts, clock=Clock())  # type: ignore[arg-type]
    await catalog.check("anything", "Persona @a")
