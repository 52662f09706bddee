"""The anthropic backend against a real local server speaking Anthropic's Messages API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from services.llm_node.backends.anthropic import OPENING_TURN, AnthropicBackend, to_messages
from services.llm_node.backends.base import (
    BackendError,
    BackendUnavailable,
    ChatTurn,
    Delta,
    Final,
    GenerationRequest,
    ModelSpec,
)
from tests.support.providers import anthropic_server

pytestmark = pytest.mark.unit

KEY_ENV = "CHIMERA_TEST_ANTHROPIC_KEY"
KEY = "sk-ant-test-0123456789"
WAIT_S = 5.0
HELLO = GenerationRequest("req-1", [ChatTurn("system", "Be brief."), ChatTurn("user", "Say hello")])
MANY_TOKENS = [f" w{i}" for i in range(200)]


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, KEY)
    return KEY


@asynccontextmanager
async def started(base_url: str, **fields: Any) -> AsyncIterator[AnthropicBackend]:
    backend = AnthropicBackend(
        ModelSpec(
            id="claude",
            backend="anthropic",
            model="claude-test",
            base_url=base_url,
            api_key_env=KEY_ENV,
            **fields,
        )
    )
    await backend.start()
    backend.backoff_s = 0.01  # retries stay real, just quick
    try:
        yield backend
    finally:
        await backend.close()


async def collect(
    backend: AnthropicBackend, request: GenerationRequest = HELLO
) -> tuple[list[str], Final]:
    deltas: list[str] = []
    async for event in backend.generate(request):
        if isinstance(event, Delta):
            deltas.append(event.text)
        else:
            return deltas, event
    raise AssertionError("no Final")


async def test_streams_the_answer_as_deltas_then_a_final_with_usage() -> None:
    async with anthropic_server(api_key=KEY) as srv, started(srv.base_url) as backend:
        deltas, final = await collect(backend)

    assert "".join(deltas) == srv.text
    assert len(deltas) == len(srv.tokens) > 1
    assert final.finish_reason == "stop"
    assert (final.prompt_tokens, final.completion_tokens) == (
        4,
        len(srv.tokens),
    )  # words in, tokens out
    assert final.model == "claude-test"


async def test_sends_system_apart_and_alternating_turns() -> None:
    request = GenerationRequest(
        "req-2",
        [
            ChatTurn("system", "You are Bolt."),
            ChatTurn("assistant", "Welcome, all."),
            ChatTurn("system", "Answer in English."),
            ChatTurn("user", "Ada: hi", name="Ada"),
            ChatTurn("user", "Bob: hello", name="Bob"),
            ChatTurn("assistant", "Hi both."),
            ChatTurn("user", "Ada: @bolt how are you?"),
        ],
        temperature=0.3,
        max_tokens=77,
        stop=["\nAda:"],
    )
    async with anthropic_server() as srv, started(srv.base_url) as backend:
        await collect(backend, request)

    body = srv.bodies[0]
    assert body["model"] == "claude-test"
    assert body["system"] == "You are Bolt.\n\nAnswer in English."
    assert body["messages"] == [
        {"role": "user", "content": OPENING_TURN},
        {"role": "assistant", "content": "Welcome, all."},
        {"role": "user", "content": "Ada: hi\n\nBob: hello"},
        {"role": "assistant", "content": "Hi both."},
        {"role": "user", "content": "Ada: @bolt how are you?"},
    ]
    assert (body["max_tokens"], body["temperature"], body["stop_sequences"]) == (
        77,
        0.3,
        ["\nAda:"],
    )
    assert body["stream"] is True


def test_turns_are_reshaped_for_anthropic() -> None:
    system, messages = to_messages(
        [ChatTurn("user", "  "), ChatTurn("assistant", "Once upon a time ")]
    )
    assert system == ""
    assert messages == [
        {"role": "user", "content": OPENING_TURN},
        {"role": "assistant", "content": "Once upon a time"},  # a prefix may not end in whitespace
    ]
    assert to_messages([ChatTurn("system", "Only rules.")]) == (
        "Only rules.",
        [{"role": "user", "content": OPENING_TURN}],
    )


async def test_the_spec_budget_applies_and_running_out_finishes_with_length() -> None:
    async with (
        anthropic_server(tokens=MANY_TOKENS) as srv,
        started(srv.base_url, max_tokens=3) as backend,
    ):
        deltas, final = await collect(backend)

    assert srv.bodies[0]["max_tokens"] == 3
    assert "".join(deltas) == " w0 w1 w2"
    assert (final.finish_reason, final.completion_tokens) == ("length", 3)


async def test_closing_the_generation_early_closes_the_provider_stream() -> None:
    async with (
        anthropic_server(tokens=MANY_TOKENS, hold_after=2) as srv,
        started(srv.base_url) as backend,
    ):
        generation = backend.generate(HELLO)
        assert await anext(generation) == Delta(" w0")
        await generation.aclose()

        await asyncio.wait_for(srv.stream_closed.wait(), WAIT_S)
        assert (srv.disconnects, srv.streams_completed, srv.tokens_sent) == (1, 0, 2)


async def test_cancelling_the_consumer_closes_the_provider_stream_of_a_paced_answer() -> None:
    async with (
        anthropic_server(tokens=MANY_TOKENS, tokens_per_second=100) as srv,
        started(srv.base_url) as backend,
    ):
        first = asyncio.Event()

        async def consume() -> None:
            async for _ in backend.generate(HELLO):
                first.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(first.wait(), WAIT_S)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        await asyncio.wait_for(srv.stream_closed.wait(), WAIT_S)
        assert srv.disconnects == 1
        assert srv.tokens_sent < len(MANY_TOKENS)


async def test_abort_closes_the_stream_and_the_generation_ends_cancelled() -> None:
    async with (
        anthropic_server(tokens=MANY_TOKENS, hold_after=2) as srv,
        started(srv.base_url) as backend,
    ):
        generation = backend.generate(HELLO)
        assert await anext(generation) == Delta(" w0")
        await asyncio.wait_for(srv.holding.wait(), WAIT_S)
        await backend.abort(HELLO.request_id)

        rest = [event async for event in generation]
        await asyncio.wait_for(srv.stream_closed.wait(), WAIT_S)

    assert isinstance(rest[-1], Final) and rest[-1].finish_reason == "cancelled"
    assert all(isinstance(e, Delta) for e in rest[:-1]) and len(rest) <= 2


@pytest.mark.parametrize("failures", [[500], [429], [529], ["drop"], [529, "drop"]], ids=str)
async def test_failures_before_the_first_token_are_retried(failures: list[int | str]) -> None:
    async with anthropic_server(failures=failures) as srv, started(srv.base_url) as backend:
        deltas, final = await collect(backend)

    assert "".join(deltas) == srv.text
    assert final.finish_reason == "stop"
    assert len(srv.requests) == len(failures) + 1


async def test_a_provider_that_keeps_failing_gives_up_with_a_retryable_error() -> None:
    async with anthropic_server(failures=[529] * 5) as srv, started(srv.base_url) as backend:
        with pytest.raises(BackendError) as caught:
            await collect(backend)

    assert caught.value.retryable and caught.value.message == "The provider is overloaded (529)."
    assert len(srv.requests) == backend.max_attempts


@pytest.mark.parametrize("how", ["drop", "error"])
async def test_a_failure_after_tokens_were_sent_is_not_retried(how: str) -> None:
    async with (
        anthropic_server(fail_after_tokens=2, fail_mid_stream=how) as srv,
        started(srv.base_url) as backend,
    ):
        deltas: list[str] = []
        with pytest.raises(BackendError) as caught:
            async for event in backend.generate(HELLO):
                assert isinstance(event, Delta)
                deltas.append(event.text)

    assert "".join(deltas) == "".join(srv.tokens[:2])
    assert "answering" in caught.value.message
    assert len(srv.requests) == 1


async def test_a_model_that_cannot_stream_is_delivered_as_one_delta() -> None:
    async with anthropic_server() as srv, started(srv.base_url, stream=False) as backend:
        deltas, final = await collect(backend)

    assert deltas == [srv.text]
    assert (final.finish_reason, final.completion_tokens) == ("stop", len(srv.tokens))
    assert not srv.bodies[0].get("stream")


async def test_a_missing_key_makes_the_model_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV)
    spec = ModelSpec(id="claude", backend="anthropic", model="claude-test", api_key_env=KEY_ENV)
    with pytest.raises(BackendUnavailable, match=f"^{KEY_ENV} is not set$"):
        await AnthropicBackend(spec).start()


async def test_a_wrong_key_is_a_readable_error_that_is_not_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-ant-wrong-secret")
    async with anthropic_server(api_key=KEY) as srv, started(srv.base_url) as backend:
        with pytest.raises(BackendError) as caught:
            await collect(backend)
        healthy, detail = await backend.health()

    assert caught.value.message == "The provider rejected the API key (401)."
    assert not caught.value.retryable and len(srv.requests) == 1
    assert not healthy and "401" in detail and "sk-ant-wrong" not in detail


async def test_health_is_ok_when_the_provider_answers() -> None:
    async with anthropic_server(api_key=KEY) as srv, started(srv.base_url) as backend:
        assert await backend.health() == (True, "ok")
        assert srv.model_listings == 1
