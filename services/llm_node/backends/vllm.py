"""vLLM's async engine in-process (Linux with an NVIDIA GPU only), behind the same interface.

The engine is `vllm.AsyncLLMEngine` (in vLLM v1 an alias of `vllm.v1.engine.async_llm.AsyncLLM`):
`generate(prompt, sampling_params, request_id)` is an async iterator of `RequestOutput`s whose
`outputs[0].text` and `.token_ids` are cumulative; `abort(request_id)` frees the request, and
closing the iterator early aborts it too. The prompt is rendered with the engine's tokenizer and
sent as token ids, so the chat template's BOS is not doubled.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from services.llm_node.backends.base import (
    DEFAULT_CONTEXT_WINDOW,
    BackendError,
    BackendUnavailable,
    Delta,
    Final,
    GenerationRequest,
    LlmBackend,
    ModelSpec,
)
from services.llm_node.backends.chat_text import encode_chat

logger = logging.getLogger(__name__)

NOT_INSTALLED = "vllm is not installed (GPU hosts only): pip install 'chimera[vllm]'"
NO_GPU = "vLLM needs an NVIDIA GPU; none found"


def sampling_kwargs(
    request: GenerationRequest, default_max_tokens: int, room: int
) -> dict[str, Any]:
    """`SamplingParams` arguments: temperature 0 or None is greedy; at most `room` new tokens."""
    return {
        "temperature": float(request.temperature or 0.0),
        "max_tokens": max(1, min(request.max_tokens or default_max_tokens, room)),
        "stop": [s for s in request.stop if s] or None,
    }


def text_delta(previous: str, current: str) -> str:
    """The new text in a cumulative output."""
    return current[len(previous) :] if current.startswith(previous) else current


def finish_reason(reason: str | None) -> str:
    """vLLM's finish reason in our words: stop | length | cancelled."""
    if reason == "length":
        return "length"
    if reason == "abort":
        return "cancelled"
    return "stop"


async def events_from_outputs(
    outputs: AsyncIterator[Any], prompt_tokens: int, model: str
) -> AsyncGenerator[Delta | Final, None]:
    """Deltas then one Final from vLLM's cumulative `RequestOutput`s; closing this closes `outputs`.

    vLLM's own `generate()` aborts the engine request when it is closed early.
    """
    previous, completion_tokens, reason = "", 0, None
    finished = False
    try:
        async for output in outputs:
            completion = output.outputs[0]
            delta = text_delta(previous, completion.text)
            previous = completion.text
            completion_tokens = len(completion.token_ids)
            if output.prompt_token_ids is not None:
                prompt_tokens = len(output.prompt_token_ids)
            if delta:
                yield Delta(delta)
            if output.finished:  # the engine's iterator ends right after this one
                finished, reason = True, completion.finish_reason
    finally:
        aclose = getattr(outputs, "aclose", None)
        if aclose is not None:
            await aclose()
    yield Final(
        finish_reason(reason) if finished else "cancelled",
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        model=model,
    )


def _one_line(exc: BaseException) -> str:
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {first[:300]}" if first else type(exc).__name__


class VllmBackend(LlmBackend):
    """A model served by vLLM's engine inside this process."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self.engine: Any = None
        self.tokenizer: Any = None
        self._sampling_params: Any = None

    async def start(self) -> None:
        """Build the engine (minutes: weights, KV cache, CUDA graphs) in a worker thread."""
        try:
            import vllm
        except ImportError:
            raise BackendUnavailable(NOT_INSTALLED) from None
        try:
            import torch

            has_gpu = bool(torch.cuda.is_available())
        except ImportError:
            has_gpu = False
        if not has_gpu:
            raise BackendUnavailable(NO_GPU)
        args: dict[str, Any] = {"model": self.spec.model, "dtype": self.spec.dtype}
        if self.spec.context_window:
            args["max_model_len"] = self.spec.context_window
        args.update(self.spec.options)
        try:
            engine_args = vllm.AsyncEngineArgs(**args)
            self.engine = await asyncio.to_thread(vllm.AsyncLLMEngine.from_engine_args, engine_args)
            tokenizer = self.engine.get_tokenizer()
            self.tokenizer = await tokenizer if inspect.isawaitable(tokenizer) else tokenizer
        except Exception as exc:
            raise BackendUnavailable(
                f"vLLM could not start {self.spec.model}: {_one_line(exc)}"
            ) from None
        self._sampling_params = vllm.SamplingParams
        model_config = getattr(self.engine, "model_config", None)
        self.context_window = (
            self.spec.context_window
            or getattr(model_config, "max_model_len", None)
            or DEFAULT_CONTEXT_WINDOW
        )

    async def _stream(self, request: GenerationRequest) -> AsyncIterator[Delta | Final]:
        if self.engine is None:
            raise BackendUnavailable("the vLLM engine is not running")
        prompt_ids = await asyncio.to_thread(encode_chat, self.tokenizer, request.messages)
        room = self.context_window - len(prompt_ids)
        if room <= 0:
            raise BackendError("The conversation does not fit in the model's context window.")
        params = self._sampling_params(**sampling_kwargs(request, self.spec.max_tokens, room))
        outputs = self.engine.generate({"prompt_token_ids": prompt_ids}, params, request.request_id)
        events = events_from_outputs(outputs, len(prompt_ids), self.spec.model)
        try:
            async for event in events:
                yield event
        except BackendError:
            raise
        except Exception as exc:
            logger.error(
                "vLLM generation failed",
                exc_info=exc,
                extra={"model_id": self.spec.id, "request_id": request.request_id},
            )
            raise BackendError("The vLLM engine failed while generating.") from None
        finally:
            await events.aclose()

    async def abort(self, request_id: str) -> None:
        """Free the request in the engine now."""
        if self.engine is not None:
            await self.engine.abort(request_id)

    async def health(self) -> tuple[bool, str]:
        """The engine's own health check."""
        if self.engine is None:
            return False, "not started"
        try:
            await self.engine.check_health()
        except Exception as exc:
            return False, f"engine unhealthy: {_one_line(exc)}"
        return True, "ok"

    def count_tokens(self, texts: list[str]) -> list[int] | None:
        """Exact counts with the engine's tokenizer (no special tokens added)."""
        if self.tokenizer is None:
            return None
        return [len(self.tokenizer.encode(text, add_special_tokens=False)) for text in texts]

    async def close(self) -> None:
        """Shut the engine (and its worker processes) down."""
        engine, self.engine = self.engine, None
        if engine is None:
            return
        shutdown = getattr(engine, "shutdown", None) or getattr(
            engine, "shutdown_background_loop", None
        )
        if shutdown is not None:
            await asyncio.to_thread(shutdown)
