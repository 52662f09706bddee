"""The openai and openai_compatible backends against a real local server speaking OpenAI's API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest

from services.llm_node.backends.base import (
    BackendError,
    BackendUnavailable,
    ChatTurn,
    Delta,
    Final,
    GenerationRequest,
    LlmBackend,
    ModelSpec,
)
from services.llm_node.backends.openai import OpenAIBackend
from services.llm_node.backends.openai_compatible import OpenAICompatibleBackend
from tests.support.providers import FakeProvider, openai_server
from tests.support.providers._serve import reserved_port

pytestmark = pytest.mark.unit

KEY_ENV = "CHIMERA_TEST_OPENAI_KEY"
KEY = "sk-test-0123456789"
WAIT_S = 5.0
HELLO = GenerationRequest("req-1", [ChatTurn("user", "Say hello to the room")])
MANY_TOKENS = [f" w{i}" for i in range(200)]


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, KEY)
    return KEY


def openai_spec(base_url: str, **fields: Any) -> ModelSpec:
    return ModelSpec(
        id="gpt",
        backend="openai",
        model="gpt-test",
        base_url=base_url,
        api_key_env=KEY_ENV,
        **fields,
    )


def compatible_spec(base_url: str | None, **fields: Any) -> ModelSpec:
    return ModelSpec(
        id="local", backend="openai_compatible", model="llama-test", base_url=base_url, **fields
    )


@asynccontextmanager
async def started(backend: LlmBackend) -> AsyncIterator[LlmBackend]:
    await backend.start()
    backend.backoff_s = 0.01  # retries stay real, just quick
    try:
        yield backend
    finally:
        await backend.close()


async def collect(
    backend: LlmBackend, request: GenerationRequest = HELLO
) -> tuple[list[str], Final]:
    deltas: list[str] = []
    async for event in backend.generate(request):
        if isinstance(event, Delta):
            deltas.append(event.text)
        else:
            return deltas, event
    raise AssertionError("no Final")


async def test_streams_the_answer_as_deltas_then_a_final_with_usage() -> None:
    async with (
        openai_server(api_key=KEY) as srv,
        started(OpenAIBackend(openai_spec(srv.base_url))) as backend,
    ):
        deltas, final = await collect(backend)

    assert "".join(deltas) == srv.text
    assert len(deltas) == len(srv.tokens) > 1
    assert final.finish_reason == "stop"
    assert (final.prompt_tokens, final.completion_tokens) == (
        5,
        len(srv.tokens),
    )  # words in the prompt, tokens sent
    assert final.model == "gpt-test"


async def test_sends_the_model_messages_and_sampling_settings() -> None:
    request = GenerationRequest(
        "req-2",
        [
            ChatTurn("system", "You are Bolt."),
            ChatTurn("user", "Ada: hi", name="Ada Lovelace"),
            ChatTurn("user", "hm", name="!!!"),
            ChatTurn("assistant", "Hello Ada."),
        ],
        temperature=0.2,
        max_tokens=50,
        stop=["\n\n"],
    )
    async with openai_server() as srv, started(OpenAIBackend(openai_spec(srv.base_url))) as backend:
        await collect(backend, request)

    body = srv.bodies[0]
    assert body["model"] == "gpt-test"
    assert body["messages"] == [
        {"role": "system", "content": "You are Bolt."},
        {"role": "user", "content": "Ada: hi", "name": "Ada_Lovelace"},
        {"role": "user", "content": "hm"},
        {"role": "assistant", "content": "Hello Ada."},
    ]
    assert (body["temperature"], body["max_completion_tokens"], body["stop"]) == (0.2, 50, ["\n\n"])
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


async def test_the_spec_budget_applies_and_running_out_finishes_with_length() -> None:
    async with (
        openai_server(tokens=MANY_TOKENS) as srv,
        started(OpenAIBackend(openai_spec(srv.base_url, max_tokens=3))) as backend,
    ):
        deltas, final = await collect(backend)

    assert srv.bodies[0]["max_completion_tokens"] == 3
    assert "".join(deltas) == " w0 w1 w2"
    assert (final.finish_reason, final.completion_tokens) == ("length", 3)


async def test_closing_the_generation_early_closes_the_provider_stream() -> None:
    async with (
        openai_server(tokens=MANY_TOKENS, hold_after=2) as srv,
        started(OpenAIBackend(openai_spec(srv.base_url))) as backend,
    ):
        generation = backend.generate(HELLO)
        assert await anext(generation) == Delta(" w0")
        await generation.aclose()

        await asyncio.wait_for(srv.stream_closed.wait(), WAIT_S)
        assert (srv.disconnects, srv.streams_completed, srv.tokens_sent) == (1, 0, 2)


async def test_cancelling_the_consumer_closes_the_provider_stream_of_a_paced_answer() -> None:
    async with (
        openai_server(tokens=MANY_TOKENS, tokens_per_second=100) as srv,
        started(OpenAIBackend(openai_spec(srv.base_url))) as backend,
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
        openai_server(tokens=MANY_TOKENS, hold_after=2) as srv,
        started(OpenAIBackend(openai_spec(srv.base_url))) as backend,
    ):
        generation = backend.generate(HELLO)
        assert await anext(generation) == Delta(" w0")
        await asyncio.wait_for(srv.holding.wait(), WAIT_S)
        await backend.abort(HELLO.request_id)

        rest = [event async for event in generation]
        await asyncio.wait_for(srv.stream_closed.wait(), WAIT_S)

    assert isinstance(rest[-1], Final) and rest[-1].finish_reason == "cancelled"
    assert all(isinstance(e, Delta) for e in rest[:-1]) and len(rest) <= 2


@pytest.mark.parametrize("failures", [[500], [429], [503], ["drop"], [500, "drop"]], ids=str)
async def test_failures_before_the_first_token_are_retried(failures: list[int | str]) -> None:
    async with (
        openai_server(failures=failures) as srv,
        started(OpenAIBackend(openai_spec(srv.base_url))) as backend,
    ):
        deltas, final = await collect(backend)

    assert "".join(deltas) == srv.text
    assert final.finish_reason == "stop"
    assert len(srv.requests) == len(failures) + 1


async def test_a_refused_connection_is_retried_until_the_provider_is_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Bound but not listening: the first attempt is refused, and no other test's server can
    # take the port before the provider comes up on this very socket.
    reserved = reserved_port()
    port = reserved.getsockname()[1]
    backend = OpenAIBackend(openai_spec(f"http://127.0.0.1:{port}/v1"))
    attempts: list[FakeProvider | None] = []
    async with AsyncExitStack() as stack:
        stack.callback(reserved.close)
        one_attempt = backend._stream

        async def provider_up_from_second_attempt(
            request: GenerationRequest,
        ) -> AsyncIterator[Delta | Final]:
            srv = (
                await stack.enter_async_context(openai_server(sock=reserved))
                if len(attempts) == 1
                else None
            )
            attempts.append(srv)
            async for event in one_attempt(request):
                yield event

        monkeypatch.setattr(backend, "_stream", provider_up_from_second_attempt)
        async with started(backend):
            deltas, _ = await collect(backend)

        srv = attempts[1]
        assert srv is not None and "".join(deltas) == srv.text
        assert len(attempts) == 2 and len(srv.requests) == 1


async def test_a_provider_that_keeps_failing_gives_up_with_a_retryable_error() -> None:
    async with (
        openai_server(failures=[503] * 5) as srv,
        started(OpenAIBackend(openai_spec(srv.base_url))) as backend,
    ):
        with pytest.raises(BackendError) as caught:
            await collect(backend)

    assert caught.value.retryable and "503" in caught.value.message
    assert len(srv.requests) == backend.max_attempts


@pytest.mark.parametrize("how", ["drop", "error"])
async def test_a_failure_after_tokens_were_sent_is_not_retried(how: str) -> None:
    async with (
        openai_server(fail_after_tokens=2, fail_mid_stream=how) as srv,
        started(OpenAIBackend(openai_spec(srv.base_url))) as backend,
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
    async with (
        openai_server() as srv,
        started(OpenAIBackend(openai_spec(srv.base_url, stream=False))) as backend,
    ):
        deltas, final = await collect(backend)

    assert deltas == [srv.text]
    assert (final.finish_reason, final.completion_tokens) == ("stop", len(srv.tokens))
    assert not srv.bodies[0].get("stream")


async def test_a_missing_key_makes_the_model_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "")
    with pytest.raises(BackendUnavailable, match=f"^{KEY_ENV} is not set$"):
        await OpenAIBackend(openai_spec("http://127.0.0.1:9/v1")).start()


async def test_a_wrong_key_is_a_readable_error_that_is_not_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-wrong-secret")
    async with (
        openai_server(api_key=KEY) as srv,
        started(OpenAIBackend(openai_spec(srv.base_url))) as backend,
    ):
        with pytest.raises(BackendError) as caught:
            await collect(backend)
        healthy, detail = await backend.health()

    assert caught.value.message == "The provider rejected the API key (401)."
    assert not caught.value.retryable and len(srv.requests) == 1
    assert not healthy and "401" in detail and "sk-wrong" not in detail


async def test_a_rejected_request_shows_the_providers_reason_and_is_not_retried() -> None:
    async with (
        openai_server(failures=[400]) as srv,
        started(OpenAIBackend(openai_spec(srv.base_url))) as backend,
    ):
        with pytest.raises(BackendError) as caught:
            await collect(backend)

    assert (
        caught.value.message == "The provider rejected the request (400): The request is invalid."
    )
    assert not caught.value.retryable and len(srv.requests) == 1


async def test_health_is_ok_when_the_provider_answers() -> None:
    async with (
        openai_server(api_key=KEY) as srv,
        started(OpenAIBackend(openai_spec(srv.base_url))) as backend,
    ):
        assert await backend.health() == (True, "ok")
        assert srv.model_listings == 1


async def test_compatible_server_works_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    request = GenerationRequest("req-3", [ChatTurn("user", "Ada: hi", name="Ada")], max_tokens=64)
    async with (
        openai_server() as srv,
        started(
            OpenAICompatibleBackend(compatible_spec(srv.base_url, api_key_env="UNSET_TEST_KEY"))
        ) as backend,
    ):
        deltas, final = await collect(backend, request)

    assert "".join(deltas) == srv.text and final.model == "llama-test"
    assert srv.bodies[0]["max_tokens"] == 64  # the name every compatible server knows
    assert srv.bodies[0]["messages"] == [{"role": "user", "content": "Ada: hi"}]


async def test_compatible_server_without_a_model_list_is_available() -> None:
    async with openai_server(list_models=False) as srv:
        backend = OpenAICompatibleBackend(compatible_spec(srv.base_url))
        async with started(backend):
            assert srv.model_listings == 1  # probed once, answered 404
            deltas, _ = await collect(backend)
    assert "".join(deltas) == srv.text


async def test_compatible_server_that_is_down_is_unavailable_with_the_reason() -> None:
    with reserved_port() as down:  # nothing listens, and nothing else can take the port
        url = f"http://127.0.0.1:{down.getsockname()[1]}/v1"
        with pytest.raises(BackendUnavailable) as caught:
            await OpenAICompatibleBackend(compatible_spec(url)).start()
    assert caught.value.message == f"cannot reach {url}: connection refused"


async def test_compatible_server_that_wants_a_key_we_lack_is_unavailable() -> None:
    async with openai_server(api_key=KEY) as srv:
        with pytest.raises(BackendUnavailable) as caught:
            await OpenAICompatibleBackend(
                compatible_spec(srv.base_url, api_key_env="UNSET_TEST_KEY")
            ).start()
    assert (
        caught.value.message
        == f"{srv.base_url} rejected the API key (401); UNSET_TEST_KEY is not set"
    )


async def test_compatible_needs_a_base_url() -> None:
    with pytest.raises(BackendUnavailable, match="base_url is not set"):
        await OpenAICompatibleBackend(compatible_spec(None)).start()
