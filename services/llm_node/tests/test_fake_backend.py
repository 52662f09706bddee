"""The `fake` backend through a real node: scripted replies, failures, holds, and its file form."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from services.common.pb import llm_pb2 as pb
from services.llm_node.backends.base import ModelSpec
from services.llm_node.backends.fake import Step
from services.llm_node.registry import ModelRegistry, load_specs
from tests.support.llm_node import LlmNode, fake_model, llm_node

pytestmark = pytest.mark.unit

WAIT_S = 10.0
ASK = [
    pb.ChatMessage(role="system", content="Be brief."),
    pb.ChatMessage(role="user", content="What is the plan?"),
]


async def generate(node: LlmNode, model_id: str, **fields: object) -> list[pb.GenerateChunk]:
    request = pb.GenerateRequest(request_id="r1", model_id=model_id, messages=ASK, **fields)  # type: ignore[arg-type]
    return [chunk async for chunk in node.stub.Generate(request, timeout=WAIT_S)]


def text_of(chunks: list[pb.GenerateChunk]) -> str:
    return "".join(c.delta.text for c in chunks if c.WhichOneof("kind") == "delta")


async def test_steps_play_in_order_and_the_last_one_repeats() -> None:
    async with llm_node(fake_model("m", "Hello there, room.", "Second answer.")) as node:
        first, second, third = [await generate(node, "m") for _ in range(3)]
        assert text_of(first) == "Hello there, room."
        assert (text_of(second), text_of(third)) == ("Second answer.", "Second answer.")
        final = first[-1].final
        assert final.finish_reason == "stop"
        assert (final.prompt_tokens, final.completion_tokens) == (6, 3)  # words in, words out
        assert final.model == "m"
        assert [r.messages[-1].content for r in node.fake("m").requests] == [
            "What is the plan?"
        ] * 3


async def test_without_a_script_it_echoes_the_last_user_message() -> None:
    async with llm_node(fake_model("echo")) as node:
        assert text_of(await generate(node, "echo")) == "What is the plan?"


async def test_counts_are_words_and_the_window_is_the_models() -> None:
    async with llm_node(fake_model("m", context_window=300)) as node:
        request = pb.CountTokensRequest(model_id="m", texts=["one two three", ""])
        answer = await node.stub.CountTokens(request, timeout=WAIT_S)
        assert (list(answer.counts), answer.exact, answer.context_window) == ([3, 0], True, 300)


async def test_a_reply_past_max_tokens_is_cut_with_finish_reason_length() -> None:
    async with llm_node(fake_model("m", "one two three four five")) as node:
        chunks = await generate(node, "m", max_tokens=2)
        assert text_of(chunks) == "one two"
        assert chunks[-1].final.finish_reason == "length"


async def test_an_error_after_some_text_ends_the_call_with_its_message() -> None:
    async with llm_node(fake_model("m", Step(text="a b c d", error="model crashed", after=2))) as n:
        request = pb.GenerateRequest(model_id="m", messages=ASK)
        received: list[str] = []
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for chunk in n.stub.Generate(request, timeout=WAIT_S):
                received.append(chunk.delta.text)
        assert "".join(received) == "a b"
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert caught.value.details() == "model crashed"


async def test_a_retryable_failure_before_the_first_token_is_retried_by_the_base() -> None:
    script = (Step(error="overloaded", retryable=True), "Fine now.")
    async with llm_node(fake_model("m", *script)) as node:
        assert text_of(await generate(node, "m")) == "Fine now."
        assert len(node.fake("m").requests) == 2


async def test_a_held_stream_waits_until_released_and_a_cancel_aborts_it() -> None:
    async with llm_node(fake_model("m", Step(text="first then more", after=1, hold=True))) as n:
        call = n.stub.Generate(pb.GenerateRequest(request_id="held", model_id="m", messages=ASK))
        first = await asyncio.wait_for(call.read(), WAIT_S)
        assert first.delta.text == "first"
        call.cancel()
        backend = n.fake("m")
        await asyncio.wait_for(backend.abort_seen.wait(), WAIT_S)
        assert backend.aborted == ["held"]
        backend.release()
        assert text_of(await generate(n, "m")) == "first then more"


def test_a_registry_file_scripts_a_fake_model(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text(
        '[[models]]\nid = "echo"\nbackend = "fake"\nmodel = "fake"\n'
        "[models.options]\ndelay_ms = 5\n"
        'script = [{ text = "Hi." }, { error = "down", retryable = true }]\n'
    )
    (spec,) = load_specs(path)
    assert spec.backend == "fake"
    assert spec.options["script"][1] == {"error": "down", "retryable": True}


async def test_unknown_options_leave_the_model_unavailable_with_their_names() -> None:
    def fake(model_id: str, **options: object) -> ModelSpec:
        return ModelSpec(id=model_id, backend="fake", model="fake", options=options)

    registry = ModelRegistry([fake("typo", speed=3), fake("bad", script=[{"txt": "x"}])])
    await registry.start()
    typo, bad = registry.get("typo"), registry.get("bad")
    assert typo is not None and bad is not None
    assert (typo.available, typo.reason) == (False, "unknown fake options: speed")
    assert (bad.available, bad.reason) == (False, "unknown fake script keys: txt")


async def test_a_delta_interval_merges_what_arrives_and_never_holds_the_end() -> None:
    answer = Step(text="first and then the rest of it", after=1, hold=True)
    async with llm_node(fake_model("m", answer)) as node:
        request = pb.GenerateRequest(model_id="m", messages=ASK, delta_interval_ms=60_000)
        call = node.stub.Generate(request, timeout=WAIT_S)
        first = await asyncio.wait_for(call.read(), WAIT_S)
        assert first.delta.text == "first"  # the first delta goes out at once
        node.fake("m").release()
        # Inside the minute every later word waits for, the end arrives: it flushes them.
        rest = []
        while (chunk := await asyncio.wait_for(call.read(), WAIT_S)) is not grpc.aio.EOF:
            rest.append(chunk)
        assert [c.WhichOneof("kind") for c in rest] == ["delta", "final"]
        assert rest[0].delta.text == " and then the rest of it"


async def test_a_delta_interval_out_of_range_is_refused() -> None:
    async with llm_node(fake_model("m", "Hi")) as node:
        for interval in (-1, 60_001):
            request = pb.GenerateRequest(model_id="m", messages=ASK, delta_interval_ms=interval)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await node.stub.Generate(request, timeout=WAIT_S).read()
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
