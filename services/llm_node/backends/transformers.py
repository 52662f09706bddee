"""Local models through Hugging Face transformers: real loading, chat template, token streaming.

Each generation runs `model.generate` in a worker thread. A streamer decodes its tokens there and
hands text to the event loop with `call_soon_threadsafe`; a stopping criterion checks a per-request
flag, so `abort()` or closing the stream stops the thread within one token. `spec.max_concurrency`
generations run at once; the rest wait in line. torch and transformers are imported in `start()`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from services.common.node.backend import resolve_device, resolve_dtype
from services.llm_node.backends.base import (
    DEFAULT_CONTEXT_WINDOW,
    BackendError,
    BackendUnavailable,
    ChatTurn,
    Delta,
    Final,
    GenerationRequest,
    LlmBackend,
    ModelSpec,
)
from services.llm_node.backends.chat_text import encode_chat, one_line
from services.llm_node.backends.transformers_thread import Done, Generation

logger = logging.getLogger(__name__)

NOT_INSTALLED = "transformers is not installed: pip install 'chimera[local]'"
# `options` passed through to `from_pretrained`; anything else is a configuration mistake.
LOAD_OPTIONS = ("revision", "trust_remote_code", "attn_implementation")


def _is_local_path(model: str) -> bool:
    """Hub ids are `name` or `org/name`; anything else (or anything that exists) is a path."""
    return (
        Path(model).expanduser().exists()
        or model.startswith(("/", "./", "../", "~"))
        or model.count("/") > 1
    )


def _offline() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().lower() in {"1", "true", "yes", "on"}


class _Line:
    """At most `size` generations at once; the rest wait first come, first served.

    Unlike a semaphore, a waiter can be let go (an aborted request leaves the line at once).
    """

    def __init__(self, size: int) -> None:
        self.free = size
        self.waiting: dict[object, asyncio.Future[bool]] = {}  # oldest first

    async def enter(self, key: object) -> bool:
        """True once in (call `exit` later); False when `let_go(key)` came first."""
        if self.free > 0 and not self.waiting:
            self.free -= 1
            return True
        turn: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.waiting[key] = turn
        try:
            return await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled() and turn.result():
                self.exit()  # our turn came as we were cancelled: pass it on
            raise
        finally:
            self.waiting.pop(key, None)

    def exit(self) -> None:
        """Hand the place to the oldest waiter, or free it."""
        for key, turn in list(self.waiting.items()):
            del self.waiting[key]
            if not turn.done():
                turn.set_result(True)
                return
        self.free += 1

    def let_go(self, key: object) -> None:
        turn = self.waiting.pop(key, None)
        if turn is not None and not turn.done():
            turn.set_result(False)


class TransformersBackend(LlmBackend):
    """A Hugging Face causal LM on this machine's CPU or GPU."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self.torch: Any = None
        self.transformers: Any = None
        self.model: Any = None
        self.tokenizer: Any = None
        self.device = ""
        self.dtype = ""
        self.generating = 0  # generations running now (worker threads inside `generate`)
        self._running_lock = threading.Lock()
        self._line = _Line(max(1, spec.max_concurrency))
        self._executor: ThreadPoolExecutor | None = None
        self._cancels: dict[str, list[threading.Event]] = {}

    @property
    def waiting(self) -> int:
        """Requests waiting in line for a generation slot."""
        return len(self._line.waiting)

    async def start(self) -> None:
        """Load tokenizer and weights in a worker thread; BackendUnavailable with the reason if not."""
        unknown = sorted(set(self.spec.options) - set(LOAD_OPTIONS))
        if unknown:
            raise BackendUnavailable(f"unknown transformers option(s): {', '.join(unknown)}")
        try:
            import torch
            import transformers
        except ImportError:
            raise BackendUnavailable(NOT_INSTALLED) from None
        self.torch, self.transformers = torch, transformers
        cuda = torch.cuda.is_available()
        self.device = resolve_device(self.spec.device, cuda)
        self.dtype = resolve_dtype(
            self.spec.dtype, self.device, cuda and torch.cuda.is_bf16_supported()
        )
        await asyncio.to_thread(self._load, transformers)
        config_window = getattr(self.model.config, "max_position_embeddings", None)
        self.context_window = self.spec.context_window or config_window or DEFAULT_CONTEXT_WINDOW
        self._executor = ThreadPoolExecutor(
            max_workers=max(1, self.spec.max_concurrency), thread_name_prefix=f"llm-{self.spec.id}"
        )
        logger.info(
            "transformers model loaded",
            extra={"model_id": self.spec.id, "device": self.device, "dtype": self.dtype},
        )

    def _load(self, transformers: Any) -> None:
        model = self.spec.model
        options = {k: v for k, v in self.spec.options.items() if k in LOAD_OPTIONS}
        if _is_local_path(model):
            path = Path(model).expanduser()
            if not path.is_dir():
                raise BackendUnavailable(f"model directory {model} does not exist")
            if not (path / "config.json").is_file():
                raise BackendUnavailable(
                    f"{model} is not a model directory (it has no config.json)"
                )
            self._load_from(transformers, str(path), local_files_only=True, options=options)
            return
        try:  # a model already in the Hugging Face cache loads without the network
            self._load_from(transformers, model, local_files_only=True, options=options)
        except OSError:
            if _offline():
                raise BackendUnavailable(
                    f"{model} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set"
                ) from None
            self._load_from(transformers, model, local_files_only=False, options=options)

    def _load_from(
        self, transformers: Any, source: str, *, local_files_only: bool, options: dict[str, Any]
    ) -> None:
        transformers.utils.logging.disable_progress_bar()
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(
                source, local_files_only=local_files_only, **options
            )
            model = transformers.AutoModelForCausalLM.from_pretrained(
                source,
                dtype=getattr(self.torch, self.dtype),
                local_files_only=local_files_only,
                **options,
            )
        except Exception as exc:
            if isinstance(exc, OSError) and local_files_only and not Path(source).exists():
                raise  # a hub id that is not cached: the caller may try the hub
            raise BackendUnavailable(f"could not load {self.spec.model}: {one_line(exc)}") from None
        self.tokenizer, self.model = tokenizer, model.to(self.device).eval()

    def _prompt_ids(self, turns: list[ChatTurn]) -> list[int]:
        return encode_chat(self.tokenizer, turns)

    async def _stream(self, request: GenerationRequest) -> AsyncIterator[Delta | Final]:
        if self.model is None or self._executor is None:
            raise BackendUnavailable("the model is not loaded")
        prompt_ids = await asyncio.to_thread(self._prompt_ids, request.messages)
        room = self.context_window - len(prompt_ids)
        if room <= 0:
            raise BackendError("The conversation does not fit in the model's context window.")
        max_new_tokens = min(request.max_tokens or self.spec.max_tokens, room)
        cancel = threading.Event()
        self._cancels.setdefault(request.request_id, []).append(cancel)
        try:
            async for event in self._run(request, prompt_ids, max_new_tokens, cancel):
                yield event
        finally:
            cancel.set()
            waiting = self._cancels.get(request.request_id, [])
            if cancel in waiting:
                waiting.remove(cancel)
            if not waiting:
                self._cancels.pop(request.request_id, None)

    async def _run(
        self,
        request: GenerationRequest,
        prompt_ids: list[int],
        max_new_tokens: int,
        cancel: threading.Event,
    ) -> AsyncIterator[Delta | Final]:
        assert self._executor is not None
        entered = await self._line.enter(cancel)
        if entered and cancel.is_set():
            self._line.exit()
            entered = False
        if not entered:  # aborted while waiting in line
            yield Final("cancelled", prompt_tokens=len(prompt_ids), model=self.spec.model)
            return
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        job = Generation(
            self,
            prompt_ids,
            max_new_tokens,
            request.temperature,
            request.stop,
            cancel,
            lambda item: loop.call_soon_threadsafe(queue.put_nowait, item),
        )
        try:
            future = loop.run_in_executor(self._executor, job.run)
        except BaseException:
            self._line.exit()
            raise
        # The slot is free when the thread is, not when the consumer stops listening.
        future.add_done_callback(lambda _: self._line.exit())
        try:
            while True:
                item = await queue.get()
                if isinstance(item, str):
                    yield Delta(item)
                    continue
                await asyncio.wait([future])
                if isinstance(item, Done):
                    yield Final(
                        item.finish_reason,
                        prompt_tokens=len(prompt_ids),
                        completion_tokens=item.completion_tokens,
                        model=self.spec.model,
                    )
                    return
                logger.error(
                    "local generation failed",
                    exc_info=item if isinstance(item, BaseException) else None,
                    extra={"model_id": self.spec.id, "request_id": request.request_id},
                )
                raise BackendError("The local model failed while generating.")
        finally:
            cancel.set()
            if not future.done():
                await asyncio.wait([future])

    async def abort(self, request_id: str) -> None:
        """Stop the request's generation within one token (or drop it from the line)."""
        for cancel in self._cancels.get(request_id, []):
            cancel.set()
            self._line.let_go(cancel)

    async def health(self) -> tuple[bool, str]:
        """Loaded or not, where, and how busy."""
        if self.model is None:
            return False, "not loaded"
        return True, (
            f"{self.device} {self.dtype}, {self.generating}/{self.spec.max_concurrency} generating, "
            f"{len(self._line.waiting)} waiting"
        )

    def count_tokens(self, texts: list[str]) -> list[int] | None:
        """Exact counts with the model's tokenizer (no special tokens added)."""
        if self.tokenizer is None:
            return None
        if not texts:
            return []
        encoded = self.tokenizer(texts, add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]

    async def close(self) -> None:
        """Stop running generations, wait for their threads, and free the weights."""
        for cancels in self._cancels.values():
            for cancel in cancels:
                cancel.set()
        if self._executor is not None:
            await asyncio.to_thread(self._executor.shutdown, wait=True)
            self._executor = None
        self.model = self.tokenizer = None
        if self.device.startswith("cuda") and self.torch is not None:
            gc.collect()  # weights caught in reference cycles must go before the cache is emptied
            self.torch.cuda.empty_cache()
