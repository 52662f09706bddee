"""The chunks of a streamed chat completion: text, finish reason, usage, and what goes wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.llm_node.backends.base import BackendError, Final
from services.llm_node.backends.openai_stream import ChatChunks

pytestmark = pytest.mark.unit


def chunk(**fields: Any) -> bytes:
    return json.dumps({"id": "chatcmpl-1", "model": "gpt-test", **fields}).encode()


def choice(content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {"index": 0, "delta": delta, "finish_reason": finish}


def test_text_finish_and_usage_make_the_final() -> None:
    chunks = ChatChunks()
    texts = [
        chunks.read(chunk(choices=[{"index": 0, "delta": {"role": "assistant", "content": ""}}])),
        chunks.read(chunk(choices=[choice("Hel")])),
        chunks.read(chunk(choices=[choice("lo")])),
        chunks.read(chunk(choices=[choice(finish="length")])),
        chunks.read(chunk(choices=[], usage={"prompt_tokens": 5, "completion_tokens": 2})),
        chunks.read(b"[DONE]"),
    ]

    assert texts == [[], ["Hel"], ["lo"], [], [], []]
    assert chunks.done
    assert chunks.final() == Final("length", 5, 2, "gpt-test")


def test_a_stream_without_usage_or_finish_reason_ends_with_stop_and_no_counts() -> None:
    chunks = ChatChunks()
    chunks.read(chunk(choices=[choice("hi")], usage=None, model=None))

    assert chunks.final() == Final("stop", 0, 0, "")


def test_an_error_event_is_a_retryable_provider_error() -> None:
    with pytest.raises(BackendError) as caught:
        ChatChunks().read(json.dumps({"error": {"message": "overloaded"}}).encode())

    assert caught.value.message == "The provider reported an error while answering."
    assert caught.value.retryable


@pytest.mark.parametrize(
    "data",
    [b"{not json", b"[1, 2]", chunk(choices=[None]), chunk(choices=[{"delta": "text"}])],
    ids=["malformed", "not-an-object", "null-choice", "delta-not-an-object"],
)
def test_an_unreadable_event_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(BackendError) as caught:
        ChatChunks().read(data)

    assert caught.value.message == "The provider sent an answer that could not be read."
    assert not caught.value.retryable
