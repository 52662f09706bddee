"""The vLLM backend, as far as it can honestly run without vLLM or a GPU.

vLLM itself is not exercised here: these tests cover the unavailable paths, the pure
prompt/sampling/delta helpers, and the wiring against a stand-in `vllm` module that follows the
signatures of vLLM's `AsyncLLM` (`generate(prompt, sampling_params, request_id)`, `abort`,
`get_tokenizer`, `check_health`, `shutdown`) and its cumulative `RequestOutput`s.
"""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from services.llm_node.backends.base import (
    BackendUnavailable,
    ChatTurn,
    Delta,
    Final,
    GenerationRequest,
    ModelSpec,
)
from services.llm_node.backends.chat_text import encode_chat
from services.llm_node.backends.vllm import (
    NO_GPU,
    NOT_INSTALLED,
    VllmBackend,
    events_from_outputs,
    finish_reason,
    sampling_kwargs,
    text_delta,
)
from tests.support.tiny_models import build_tiny_tokenizer

pytestmark = pytest.mark.unit

TURNS = [ChatTurn("system", "Be brief."), ChatTurn("user", "Hi", name="Ada")]


def spec(**kwargs: Any) -> ModelSpec:
    return ModelSpec(id="v", backend="vllm", model="Qwen/Qwen2.5-0.5B-Instruct", **kwargs)


def output(text: str, n: int, finished: bool = False, reason: str | None = None) -> Any:
    """The fields of `vllm.outputs.RequestOutput` the backend reads (cumulative, as vLLM sends)."""
    completion = SimpleNamespace(text=text, token_ids=list(range(n)), finish_reason=reason)
    return SimpleNamespace(outputs=[completion], prompt_token_ids=[0] * 7, finished=finished)


class Source:
    """An async iterator of outputs that records whether it was closed (vLLM aborts on close)."""

    def __init__(self, outputs: list[Any]) -> None:
        self.outputs = outputs
        self.closed = False

    async def gen(self) -> AsyncIterator[Any]:
        try:
            for item in self.outputs:
                yield item
        finally:
            self.closed = True


async def collect(events: AsyncIterator[Delta | Final]) -> list[Delta | Final]:
    return [event async for event in events]


# -- unavailable ----------------------------------------------------------------------------


async def test_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # `import vllm` fails, as on this machine
    with pytest.raises(BackendUnavailable) as caught:
        await VllmBackend(spec()).start()
    assert caught.value.message == NOT_INSTALLED


def cuda(monkeypatch: pytest.MonkeyPatch, available: bool) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)


async def test_no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", types.ModuleType("vllm"))
    cuda(monkeypatch, False)
    with pytest.raises(BackendUnavailable) as caught:
        await VllmBackend(spec()).start()
    assert caught.value.message == NO_GPU


# -- a stand-in vllm module ------------------------------------------------------------------


@dataclass
class FakeEngine:
    outputs: list[Any]
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    model_config: Any = field(default_factory=lambda: SimpleNamespace(max_model_len=4096))

    def get_tokenizer(self) -> Any:
        return build_tiny_tokenizer()

    def generate(self, prompt: Any, params: Any, request_id: str) -> AsyncIterator[Any]:
        self.calls.append(("generate", prompt, params, request_id))
        source = Source(self.outputs)
        self.sources.append(source)
        return source.gen()

    async def abort(self, request_id: str) -> None:
        self.calls.append(("abort", request_id))

    async def check_health(self) -> None:
        return None

    def shutdown(self) -> None:
        self.calls.append(("shutdown",))


def fake_vllm(monkeypatch: pytest.MonkeyPatch, engine: FakeEngine | Exception) -> list[Any]:
    built: list[Any] = []
    module = types.ModuleType("vllm")

    def engine_args(**kwargs: Any) -> Any:
        built.append(kwargs)
        return kwargs

    def from_engine_args(args: Any) -> FakeEngine:
        if isinstance(engine, Exception):
            raise engine
        return engine

    module.AsyncEngineArgs = engine_args  # type: ignore[attr-defined]
    module.AsyncLLMEngine = SimpleNamespace(from_engine_args=from_engine_args)  # type: ignore[attr-defined]
    module.SamplingParams = lambda **kwargs: kwargs  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vllm", module)
    cuda(monkeypatch, True)
    return built


async def test_engine_that_fails_to_build(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_vllm(monkeypatch, ValueError("Bfloat16 is only supported on GPUs\nwith compute >= 8.0"))
    with pytest.raises(BackendUnavailable) as caught:
        await VllmBackend(spec()).start()
    assert caught.value.message == (
        "vLLM could not start Qwen/Qwen2.5-0.5B-Instruct: ValueError: Bfloat16 is only supported on GPUs"
    )


async def test_wiring_with_a_stand_in_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = FakeEngine(
        [output("Hel", 1), output("Hello", 2), output("Hello!", 3, finished=True, reason="stop")]
    )
    built = fake_vllm(monkeypatch, engine)
    backend = VllmBackend(spec(dtype="bfloat16", options={"gpu_memory_utilization": 0.5}))
    await backend.start()
    assert built == [
        {"model": "Qwen/Qwen2.5-0.5B-Instruct", "dtype": "bfloat16", "gpu_memory_utilization": 0.5}
    ]
    assert backend.context_window == 4096  # the engine's max_model_len
    assert await backend.health() == (True, "ok")

    req = GenerationRequest("r1", TURNS, temperature=0.7, max_tokens=50, stop=["\n\n"])
    events = await collect(backend.generate(req))

    _, prompt, params, request_id = engine.calls[0]
    assert prompt == {"prompt_token_ids": encode_chat(backend.tokenizer, TURNS)}
    assert params == {"temperature": 0.7, "max_tokens": 50, "stop": ["\n\n"]}
    assert request_id == "r1"
    assert [e.text for e in events if isinstance(e, Delta)] == ["Hel", "lo", "!"]
    final = events[-1]
    assert isinstance(final, Final)
    assert (final.finish_reason, final.prompt_tokens, final.completion_tokens) == ("stop", 7, 3)

    await backend.abort("r1")
    assert engine.calls[-1] == ("abort", "r1")
    assert backend.count_tokens(["hello world"]) == [
        len(backend.tokenizer.encode("hello world", add_special_tokens=False))
    ]
    await backend.close()
    assert engine.calls[-1:] == [("shutdown",)]
    assert await backend.health() == (False, "not started")


async def test_closing_early_closes_the_engine_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = FakeEngine([output("a", 1), output("ab", 2), output("abc", 3)])
    fake_vllm(monkeypatch, engine)
    backend = VllmBackend(spec())
    await backend.start()
    stream = backend._stream(GenerationRequest("r1", TURNS))
    assert isinstance(stream, AsyncGenerator)
    assert await anext(stream) == Delta("a")
    await stream.aclose()
    assert engine.sources[0].closed  # vLLM's generate() aborts the request when closed


async def test_context_window_from_the_spec_is_passed_to_the_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = fake_vllm(monkeypatch, FakeEngine([]))
    backend = VllmBackend(spec(context_window=2048))
    await backend.start()
    assert built[0]["max_model_len"] == 2048
    assert backend.context_window == 2048


# -- pure helpers ---------------------------------------------------------------------------


def test_sampling_kwargs() -> None:
    greedy = GenerationRequest("r", TURNS)
    assert sampling_kwargs(greedy, 1024, room=4000) == {
        "temperature": 0.0,
        "max_tokens": 1024,
        "stop": None,
    }
    sampled = GenerationRequest("r", TURNS, temperature=0.8, max_tokens=300, stop=["", "END"])
    assert sampling_kwargs(sampled, 1024, room=100) == {
        "temperature": 0.8,
        "max_tokens": 100,  # what is left of the context window
        "stop": ["END"],
    }


def test_text_delta() -> None:
    assert text_delta("", "Hel") == "Hel"
    assert text_delta("Hel", "Hello") == "lo"
    assert text_delta("Hello", "Hello") == ""


@pytest.mark.parametrize(
    ("reason", "ours"),
    [("stop", "stop"), ("length", "length"), ("abort", "cancelled"), (None, "stop")],
)
def test_finish_reason(reason: str | None, ours: str) -> None:
    assert finish_reason(reason) == ours


async def test_events_from_cumulative_outputs() -> None:
    source = Source([output("", 1), output("Hi", 2), output("Hi there", 4, True, "length")])
    events = await collect(events_from_outputs(source.gen(), 5, "m"))
    assert events == [
        Delta("Hi"),
        Delta(" there"),
        Final("length", prompt_tokens=7, completion_tokens=4, model="m"),
    ]


async def test_an_aborted_request_ends_as_cancelled() -> None:
    aborted = Source([output("Hi", 1), output("Hi", 1, True, "abort")])
    assert (await collect(events_from_outputs(aborted.gen(), 5, "m")))[-1] == Final(
        "cancelled", prompt_tokens=7, completion_tokens=1, model="m"
    )
    cut = Source([output("Hi", 1)])  # the engine's stream ended without a finished output
    events = await collect(events_from_outputs(cut.gen(), 5, "m"))
    assert isinstance(events[-1], Final) and events[-1].finish_reason == "cancelled"


async def test_closing_the_events_closes_the_source() -> None:
    source = Source([output("a", 1), output("ab", 2), output("abc", 3, True, "stop")])
    events = events_from_outputs(source.gen(), 5, "m")
    assert await anext(events) == Delta("a")
    await events.aclose()
    assert source.closed


def test_importing_the_backends_imports_nothing_heavy() -> None:
    code = (
        "import sys, services.llm_node.backends.vllm, services.llm_node.backends.transformers;"
        "print(sorted({'torch', 'transformers', 'vllm'} & set(sys.modules)))"
    )
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
