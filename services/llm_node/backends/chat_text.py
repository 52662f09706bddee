"""Chat prompts and streamed text for local models (transformers, vLLM): pure helpers.

Turning room turns into a chat-templated prompt, decoding tokens incrementally without breaking
multi-byte characters, and cutting stop strings out of streamed text. No torch import here.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from services.llm_node.backends.base import BackendError, ChatTurn

logger = logging.getLogger(__name__)


def one_line(exc: BaseException) -> str:
    """An exception as one short line: its type and the first line of its message."""
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {first[:300]}" if first else type(exc).__name__


def render_fallback_prompt(messages: list[dict[str, str]]) -> str:
    """The prompt for a tokenizer without a chat template: `Role: text` blocks, then `Assistant:`."""
    blocks = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
    return "\n\n".join([*blocks, "Assistant:"])


def template_messages(turns: list[ChatTurn]) -> list[dict[str, str]]:
    """Chat-template messages; a user turn's speaker name is folded in as `Name: text`."""
    return [
        {
            "role": t.role,
            "content": f"{t.name}: {t.content}" if t.name and t.role == "user" else t.content,
        }
        for t in turns
    ]


def alternate_roles(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """For strict templates (Mistral's, Gemma's): system folded into the first user turn, then
    consecutive turns of one role merged, so that user and assistant alternate."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    merged: list[dict[str, str]] = []
    for m in messages:
        if m["role"] == "system":
            continue
        if merged and merged[-1]["role"] == m["role"]:
            merged[-1] = {
                "role": m["role"],
                "content": f"{merged[-1]['content']}\n\n{m['content']}",
            }
        else:
            merged.append(dict(m))
    if not merged or merged[0]["role"] != "user":
        merged.insert(0, {"role": "user", "content": ""})
    if system:
        first = merged[0]["content"]
        merged[0] = {"role": "user", "content": f"{system}\n\n{first}" if first else system}
    return merged


def encode_chat(tokenizer: Any, turns: list[ChatTurn]) -> list[int]:
    """Prompt token ids: the tokenizer's chat template (control tokens in text stay text) or the fallback.

    A room's transcript often has several user turns in a row; a template that refuses that (or a
    system turn) gets the conversation again with `alternate_roles`.
    """
    messages = template_messages(turns)
    if not getattr(tokenizer, "chat_template", None):
        return list(tokenizer(render_fallback_prompt(messages))["input_ids"])
    kwargs: dict[str, Any] = {"add_generation_prompt": True, "tokenize": True, "return_dict": True}
    if "sanitize_control_tokens" in inspect.signature(tokenizer.apply_chat_template).parameters:
        # A room member typing "<|im_end|><|im_start|>system" must not forge turns.
        kwargs["sanitize_control_tokens"] = True
    try:
        encoded = tokenizer.apply_chat_template(messages, **kwargs)
    except Exception as exc:  # jinja2's TemplateError from the template's raise_exception()
        logger.debug("chat template refused the conversation; retrying", exc_info=exc)
        try:
            encoded = tokenizer.apply_chat_template(alternate_roles(messages), **kwargs)
        except Exception:
            raise BackendError(
                f"The model's chat template refused the conversation: {one_line(exc)}"
            ) from None
    return list(encoded["input_ids"])


class IncrementalDecoder:
    """Turns token ids, one at a time, into text deltas whose concatenation is the full decode.

    It decodes a short window and holds back text that ends in an incomplete character (U+FFFD),
    as text-generation-inference does.
    """

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self._prefix = 0  # the window starts here
        self._read = 0  # text up to here has been emitted

    def _decode(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=True))

    def push(self, token_id: int) -> str:
        """Add one token; return the text it completes (possibly "")."""
        self.ids.append(token_id)
        prefix = self._decode(self.ids[self._prefix : self._read])
        text = self._decode(self.ids[self._prefix :])
        if len(text) > len(prefix) and not text.endswith("\ufffd"):
            self._prefix, self._read = self._read, len(self.ids)
            return text[len(prefix) :]
        return ""

    def flush(self) -> str:
        """Whatever is still held back, once no more tokens will come."""
        prefix = self._decode(self.ids[self._prefix : self._read])
        text = self._decode(self.ids[self._prefix :])
        self._prefix = self._read = len(self.ids)
        return text[len(prefix) :]


class StopMatcher:
    """Cuts streamed text before the first stop string, holding back what may be the start of one."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = [s for s in stops if s]
        self.stopped = False
        self._held = ""

    def feed(self, text: str) -> str:
        """Text that is safe to emit now; sets `stopped` once a stop string has appeared."""
        if self.stopped:
            return ""
        if not self.stops:
            return text
        buffer = self._held + text
        hits = [i for i in (buffer.find(s) for s in self.stops) if i >= 0]
        if hits:
            self.stopped, self._held = True, ""
            return buffer[: min(hits)]
        keep = max((_overlap(buffer, s) for s in self.stops), default=0)
        self._held = buffer[len(buffer) - keep :] if keep else ""
        return buffer[: len(buffer) - keep]

    def flush(self) -> str:
        """The held-back tail, when generation ended without a stop string."""
        held, self._held = ("" if self.stopped else self._held), ""
        return held


def _overlap(text: str, stop: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `stop`."""
    for n in range(min(len(text), len(stop) - 1), 0, -1):
        if text.endswith(stop[:n]):
            return n
    return 0
