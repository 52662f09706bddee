"""The LlmService servicer through a real in-process gRPC server, its models on fake providers."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import grpc
import pytest
import pytest_asyncio

from services.common.pb import llm_pb2 as pb
from services.common.pb import llm_pb2_grpc
from services.llm_node.backends.base import ModelSpec, estimate_tokens
from services.llm_node.registry import ModelRegistry
from tests.support.llm_node import serving
from tests.support.providers import FakeProvider, openai_server, split_tokens

pytestmark = [pytest.mark.unit, pytest.mark.asyncio(loop_scope="module")]

TEXT = "Hello room, this answer arrives one word at a time."
HOLD_AFTER = 2
MISSING_KEY_ENV = "CHIMERA_TEST_SERVICER_MISSING_KEY"
WAIT_S = 10.0
HELLO = [
    pb.ChatMessage(role="system", content="Be brief."),
    pb.ChatMessage(role="user", content="Hi"),
]


@dataclass
class Node:
    stub: llm_pb2_grpc.LlmServiceStub
    fast: FakeProvider
    held: FakeProvider  # holds every stream after HOLD_AFTER tokens until released
    refusing: FakeProvider  # answers generations with 400
    overloaded: FakeProvider  # answers generations with 503


def compatible(model_id: str, provider: FakeProvider, **fields: object) -> ModelSpec:
    return ModelSpec(
        id=model_id,
        backend="openai_compatible",
        model=f"fake-{model_id}",
        base_url=provider.base_url,
        **fields,  # type: ignore[arg-type]
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served() -> AsyncIterator[Node]:
    """One node for the module; `node` gives each test fresh provider records."""
    assert MISSING_KEY_ENV not in os.environ
    async with AsyncExitStack() as stack:
        fast = await stack.enter_async_context(openai_server(text=TEXT))
        held = await stack.enter_async_context(openai_server(text=TEXT, hold_after=HOLD_AFTER))
        refusing = await stack.enter_async_context(openai_server(failures=[400] * 100))
        overloaded = await stack.enter_async_context(openai_server(failures=[503] * 100))
        registry = ModelRegistry(
            [
                compatible("fast", fast, context_window=4096),
                compatible("held", held),
                compatible("refusing", refusing),
                compatible("overloaded", overloaded),
                ModelSpec(
                    id="keyless", backend="openai", model="gpt-4o-mini", api_key_env=MISSING_KEY_ENV
                ),
            ]
        )
        stub = await stack.enter_async_context(serving(registry))
        yield Node(stub, fast, held, refusing, overloaded)


@pytest_asyncio.fixture(loop_scope="module")
async def node(served: Node) -> AsyncIterator[Node]:
    for provider in (served.fast, served.held, served.refusing, served.overloaded):
        provider.requests.clear()
        provider.release.set()  # nothing an earlier test held stays held
        provider.holding, provider.release = asyncio.Event(), asyncio.Event()
        provider.stream_closed = asyncio.Event()
        provider.disconnects = provider.streams_completed = 0
    yield served
    served.held.release.set()


async def generate(node: Node, model_id: str, **fields: object) -> list[pb.GenerateChunk]:
    request = pb.GenerateRequest(request_id="r1", model_id=model_id, messages=HELLO, **fields)  # type: ignore[arg-type]
    return [chunk async for chunk in node.stub.Generate(request, timeout=WAIT_S)]


async def rpc_error(node: Node, model_id: str, **fields: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await generate(node, model_id, **fields)
    return caught.value


async def test_generate_streams_deltas_then_one_final(node: Node) -> None:
    chunks = await generate(node, "fast", temperature=0.3, max_tokens=100)
    *deltas, last = chunks
    assert all(c.WhichOneof("kind") == "delta" for c in deltas)
    # Tokens that pile up while one is sent go out together: never more chunks than tokens.
    assert "".join(c.delta.text for c in deltas) == TEXT
    assert 1 <= len(deltas) <= len(split_tokens(TEXT))
    assert last.WhichOneof("kind") == "final"
    final = last.final
    assert final.finish_reason == "stop"
    assert final.completion_tokens == len(split_tokens(TEXT))
    assert final.prompt_tokens == 3  # the fake counts the words it was sent: "Be brief." "Hi"
    assert final.model == "fake-fast"
    assert 0 <= final.time_to_first_token_ms <= final.total_ms
    (body,) = node.fast.bodies
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]
    assert body["temperature"] == pytest.approx(0.3)
    assert (body["max_tokens"], body["stream"]) == (100, True)


async def test_a_reply_cut_by_max_tokens_says_length(node: Node) -> None:
    *deltas, last = await generate(node, "fast", max_tokens=3)
    assert "".join(c.delta.text for c in deltas) == "".join(split_tokens(TEXT)[:3])
    assert last.final.finish_reason == "length"


async def test_an_unknown_model_is_not_found(node: Node) -> None:
    error = await rpc_error(node, "no-such-model")
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "no-such-model" in (error.details() or "")


async def test_an_unavailable_model_is_a_failed_precondition_with_the_reason(node: Node) -> None:
    error = await rpc_error(node, "keyless")
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"{MISSING_KEY_ENV} is not set" in (error.details() or "")


@pytest.mark.parametrize(
    "messages",
    [
        [],
        [pb.ChatMessage(role="tool", content="?")],
    ],
    ids=["no-messages", "unknown-role"],
)
async def test_malformed_requests_are_invalid_arguments(
    node: Node, messages: list[pb.ChatMessage]
) -> None:
    request = pb.GenerateRequest(model_id="fast", messages=messages)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in node.stub.Generate(request, timeout=WAIT_S):
            pass
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert node.fast.requests == []


async def test_provider_failures_end_the_stream_with_a_status_and_a_reason(node: Node) -> None:
    refused = await rpc_error(node, "refusing")
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION  # trying again will not help
    assert "rejected the request (400)" in (refused.details() or "")
    assert len(node.refusing.requests) == 1

    overloaded = await rpc_error(node, "overloaded")
    assert overloaded.code() == grpc.StatusCode.UNAVAILABLE  # retried, then given up
    assert "(503)" in (overloaded.details() or "")
    assert len(node.overloaded.requests) == 3


async def test_cancelling_generate_closes_the_provider_stream(node: Node) -> None:
    call = node.stub.Generate(
        pb.GenerateRequest(request_id="r-stop", model_id="held", messages=HELLO)
    )
    held_prefix = "".join(split_tokens(TEXT)[:HOLD_AFTER])
    received = ""
    while received != held_prefix:
        chunk = await asyncio.wait_for(call.read(), WAIT_S)
        received += chunk.delta.text
        assert held_prefix.startswith(received)
    await asyncio.wait_for(node.held.holding.wait(), WAIT_S)

    call.cancel()
    await asyncio.wait_for(node.held.stream_closed.wait(), WAIT_S)
    assert (node.held.disconnects, node.held.streams_completed) == (1, 0)
    node.held.release.set()
    assert (await generate(node, "fast"))[-1].final.finish_reason == "stop"  # the node goes on


async def test_list_models_says_which_are_available_and_why_not(node: Node) -> None:
    reply = await node.stub.ListModels(pb.ListModelsRequest(), timeout=WAIT_S)
    models = {m.id: m for m in reply.models}
    assert list(models) == ["fast", "held", "refusing", "overloaded", "keyless"]
    fast = models["fast"]
    assert (fast.backend, fast.model, fast.available, fast.reason, fast.context_window) == (
        "openai_compatible",
        "fake-fast",
        True,
        "",
        4096,
    )
    keyless = models["keyless"]
    assert (keyless.backend, keyless.available) == ("openai", False)
    assert keyless.reason == f"{MISSING_KEY_ENV} is not set"


async def test_list_providers_reports_health_per_backend(node: Node) -> None:
    reply = await node.stub.ListProviders(pb.ListProvidersRequest(), timeout=WAIT_S)
    providers = {p.backend: p for p in reply.providers}
    compatible = providers["openai_compatible"]
    assert (compatible.models, compatible.available, compatible.healthy) == (4, 4, True)
    openai = providers["openai"]
    assert (openai.models, openai.available, openai.healthy) == (1, 0, False)
    assert MISSING_KEY_ENV in openai.detail


async def test_list_providers_notices_a_provider_that_went_away() -> None:
    async with AsyncExitStack() as stack:
        async with openai_server(text=TEXT) as provider:
            registry = ModelRegistry([compatible("fast", provider)])
            stub = await stack.enter_async_context(serving(registry))
            reply = await stub.ListProviders(pb.ListProvidersRequest(), timeout=WAIT_S)
            assert reply.providers[0].healthy is True
        # The provider's server is gone now.
        reply = await stub.ListProviders(pb.ListProvidersRequest(), timeout=WAIT_S)
        (gone,) = reply.providers
        assert (gone.backend, gone.available, gone.healthy) == ("openai_compatible", 1, False)
        assert "Cannot reach the provider" in gone.detail


async def test_count_tokens_estimates_when_there_is_no_tokenizer(node: Node) -> None:
    texts = ["", "hello", "Ünïcödé text " * 20]
    for model_id in ("fast", "no-such-model"):
        reply = await node.stub.CountTokens(
            pb.CountTokensRequest(model_id=model_id, texts=texts), timeout=WAIT_S
        )
        assert reply.exact is False
        assert list(reply.counts) == [estimate_tokens(t) for t in texts]
        assert all(count >= len(t.split()) for count, t in zip(reply.counts, texts, strict=True))
