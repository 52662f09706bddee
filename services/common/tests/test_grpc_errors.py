"""The servicer decorators: typed errors end a call with their status, anything else INTERNAL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

import grpc
import pytest

from services.common.errors import NotFound, ResourceExhausted
from services.common.grpc_errors import INTERNAL_DETAILS, streaming, unary

pytestmark = pytest.mark.unit


class Ended(Exception):
    """What a real context's abort raises, here with what it was given."""


class Context:
    def __init__(self) -> None:
        self.ended: tuple[grpc.StatusCode, str, dict[str, str]] | None = None

    async def abort(self, code: grpc.StatusCode, details: str, trailing_metadata: Any = ()) -> None:
        self.ended = (code, details, dict(trailing_metadata))
        raise grpc.aio.AbortError()


class Slow(ResourceExhausted):
    retry_after_s = 2.5


class Servicer:
    def __init__(self) -> None:
        self.closed = asyncio.Event()

    @unary
    async def Get(self, request: str, context: Any) -> str:
        if request == "missing":
            raise NotFound("No such thing.")
        if request == "slow":
            raise Slow("Too many; wait.")
        if request == "bug":
            raise KeyError("/srv/secret/path")
        return request.upper()

    @streaming
    async def Watch(self, request: str, context: Any) -> AsyncIterator[str]:
        try:
            yield "first"
            if request == "bug":
                raise RuntimeError("SELECT * FROM secrets")
            yield "second"
            await asyncio.Event().wait()  # until the caller goes away
        finally:
            self.closed.set()


async def ended(call: Any, context: Context) -> tuple[grpc.StatusCode, str, dict[str, str]]:
    with pytest.raises(grpc.aio.AbortError):
        await call
    assert context.ended is not None
    return context.ended


async def test_a_typed_error_ends_the_call_with_its_status_and_message() -> None:
    context = Context()
    code, details, _ = await ended(Servicer().Get("missing", context), context)
    assert (code, details) == (grpc.StatusCode.NOT_FOUND, "No such thing.")


async def test_an_error_that_says_when_to_retry_carries_retry_after() -> None:
    context = Context()
    code, _, metadata = await ended(Servicer().Get("slow", context), context)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert metadata["retry-after"] == "3"


async def test_an_unexpected_error_is_internal_and_tells_the_client_nothing() -> None:
    context = Context()
    code, details, _ = await ended(Servicer().Get("bug", context), context)
    assert (code, details) == (grpc.StatusCode.INTERNAL, INTERNAL_DETAILS)
    assert await Servicer().Get("fine", Context()) == "FINE"


async def test_a_stream_delivers_what_it_yielded_then_ends_with_a_generic_internal() -> None:
    context = Context()
    got: list[str] = []

    async def read() -> None:
        async for item in Servicer().Watch("bug", context):
            got.append(item)

    code, details, _ = await ended(read(), context)
    assert got == ["first"]
    assert (code, details) == (grpc.StatusCode.INTERNAL, INTERNAL_DETAILS)


async def test_a_stream_the_caller_leaves_runs_its_cleanup_at_once() -> None:
    servicer = Servicer()
    stream = cast(Any, servicer.Watch("ok", Context()))
    assert [await anext(stream), await anext(stream)] == ["first", "second"]
    await stream.aclose()
    assert servicer.closed.is_set()
