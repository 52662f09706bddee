"""One `model.generate` call of the transformers backend, in its worker thread: the streamer
that decodes tokens and hands text to the event loop, and the stopping criterion that ends the
call within one token of an abort."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from services.llm_node.backends.chat_text import IncrementalDecoder, StopMatcher

if TYPE_CHECKING:
    from services.llm_node.backends.transformers import TransformersBackend


@dataclass
class Done:
    completion_tokens: int
    finish_reason: str


class Generation:
    """One `model.generate` call in a worker thread; doubles as its streamer and stopping criterion."""

    def __init__(
        self,
        backend: TransformersBackend,
        prompt_ids: list[int],
        max_new_tokens: int,
        temperature: float | None,
        stops: list[str],
        cancel: threading.Event,
        emit: Callable[[object], object],
    ) -> None:
        self.backend = backend
        self.prompt_ids = prompt_ids
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.cancel = cancel
        self.emit = emit
        self.decoder = IncrementalDecoder(backend.tokenizer)
        self.matcher = StopMatcher(stops)
        self._prompt_seen = False

    # transformers' BaseStreamer protocol: `put` gets the prompt once, then each new token.
    def put(self, value: Any) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        if self.matcher.stopped or self.cancel.is_set():
            return
        self._send(self.matcher.feed(self.decoder.push(int(value.reshape(-1)[0]))))

    def end(self) -> None:
        if not self.cancel.is_set():
            self._send(self.matcher.feed(self.decoder.flush()) + self.matcher.flush())

    def _send(self, text: str) -> None:
        if text:
            try:
                self.emit(text)
            except RuntimeError:  # the event loop is gone: nobody is listening
                self.cancel.set()

    # transformers' StoppingCriteria protocol: checked after every token.
    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        stop = self.cancel.is_set() or self.matcher.stopped
        return self.backend.torch.full(
            (input_ids.shape[0],), stop, dtype=self.backend.torch.bool, device=input_ids.device
        )

    def run(self) -> None:
        """The worker thread's body: generate, then emit one `Done` or the exception."""
        with self.backend._running_lock:
            self.backend.generating += 1
        try:
            self.emit(self._generate())
        except BaseException as exc:
            try:
                self.emit(exc)
            except RuntimeError:
                pass
        finally:
            with self.backend._running_lock:
                self.backend.generating -= 1

    def _generate(self) -> Done:
        torch, model, tokenizer = self.backend.torch, self.backend.model, self.backend.tokenizer
        input_ids = torch.tensor([self.prompt_ids], device=model.device)
        sampling: dict[str, Any] = {
            "do_sample": False,
            "temperature": None,
            "top_p": None,
            "top_k": None,
        }
        if self.temperature:
            sampling = {"do_sample": True, "temperature": self.temperature}
        eos = model.generation_config.eos_token_id
        eos_ids = {eos} if isinstance(eos, int) else set(eos or [])
        pad = model.generation_config.pad_token_id
        if pad is None:
            pad = (
                tokenizer.pad_token_id
                if tokenizer.pad_token_id is not None
                else min(eos_ids, default=None)
            )
        with torch.inference_mode():
            output = model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                max_new_tokens=self.max_new_tokens,
                streamer=self,
                stopping_criteria=self.backend.transformers.StoppingCriteriaList([self]),
                pad_token_id=pad,
                **sampling,
            )
        generated = output[0, len(self.prompt_ids) :].tolist()
        if self.cancel.is_set():
            reason = "cancelled"
        elif self.matcher.stopped or (generated and generated[-1] in eos_ids):
            reason = "stop"
        elif len(generated) >= self.max_new_tokens:
            reason = "length"
        else:
            reason = "stop"
        return Done(completion_tokens=len(generated), finish_reason=reason)
