"""A streamed chat completion read straight off the HTTP response: deltas, then one Final.

The SDK's own stream builds a pydantic chunk object per token and decodes SSE line by line
through several generators; this reads the socket's chunks, splits them into events
(`sse.EventSplitter`) and takes from each JSON chunk only the text, the finish reason, the usage
and the model. Transport failures are raised as the SDK's own errors, as its stream raises them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncGenerator
from types import TracebackType
from typing import Any

import anyio
import httpx2
import openai

from services.llm_node.backends.base import BackendError, Delta, Final
from services.llm_node.backends.sse import EventSplitter

DRAIN_TIMEOUT_S = 0.1  # after [DONE]: the body's end, so the connection can be reused
UNREADABLE = "The provider sent an answer that could not be read."
STREAM_ERROR = "The provider reported an error while answering."
# What the SDK's stream maps to APIConnectionError (anyio's: TLS failures httpx2 leaves unmapped).
_REQUEST_ERRORS = (httpx2.RequestError, ssl.SSLError, anyio.EndOfStream)


class ChatResponse:
    """The open HTTP response of one streamed chat completion; closing it stops the provider."""

    def __init__(self, response: httpx2.Response) -> None:
        self.response = response

    async def __aenter__(self) -> ChatResponse:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the response (and, unless it was read to its end, its connection)."""
        await self.response.aclose()


class ChatChunks:
    """What the chunks of one streamed chat completion have said so far."""

    def __init__(self) -> None:
        self.done = False  # [DONE] was read
        self.finish_reason: str | None = None
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.model = ""

    def read(self, data: bytes) -> list[str]:
        """The text in one event's data; a BackendError for an error event or unreadable data."""
        if data.startswith(b"[DONE]"):
            self.done = True
            return []
        try:
            chunk = json.loads(data)
        except ValueError:
            raise BackendError(UNREADABLE) from None
        if not isinstance(chunk, dict):
            raise BackendError(UNREADABLE)
        if chunk.get("error"):
            raise BackendError(STREAM_ERROR, retryable=True)
        try:
            return self._take(chunk)
        except (AttributeError, TypeError, ValueError):
            raise BackendError(UNREADABLE) from None

    def _take(self, chunk: dict[str, Any]) -> list[str]:
        self.model = chunk.get("model") or self.model
        usage = chunk.get("usage")
        if usage is not None:  # the last chunk, where the server sends it
            self.prompt_tokens = int(usage.get("prompt_tokens") or 0)
            self.completion_tokens = int(usage.get("completion_tokens") or 0)
        texts = []
        for choice in chunk.get("choices") or ():
            text = (choice.get("delta") or {}).get("content")
            if text:
                texts.append(str(text))
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
        return texts

    def final(self) -> Final:
        """The end of the answer, as far as the chunks told it."""
        reason = finish_reason(self.finish_reason)
        return Final(reason, self.prompt_tokens, self.completion_tokens, self.model)


def finish_reason(reason: str | None) -> str:
    """OpenAI's finish reason as ours: "length" when the budget ran out, else "stop"."""
    return "length" if reason == "length" else "stop"


async def read_chat(response: httpx2.Response) -> AsyncGenerator[Delta | Final, None]:
    """The response's text as deltas, then one Final once the body has ended."""
    splitter = EventSplitter()
    chunks = ChatChunks()
    # An SSE body is rarely compressed; when it is, let httpx2 decode it.
    body = (
        response.aiter_bytes() if "content-encoding" in response.headers else response.aiter_raw()
    )
    try:
        async with asyncio.timeout(None) as drain, contextlib.aclosing(body):
            async for piece in body:
                if chunks.done:
                    continue  # reading on to the body's end returns the connection to the pool
                for data in splitter.feed(piece):
                    for text in chunks.read(data):
                        yield Delta(text)
                    if chunks.done:
                        drain.reschedule(asyncio.get_running_loop().time() + DRAIN_TIMEOUT_S)
                        break
            for data in [] if chunks.done else splitter.finish():
                for text in chunks.read(data):
                    yield Delta(text)
    except TimeoutError:
        if not chunks.done:
            raise
    except httpx2.TimeoutException as exc:
        raise openai.APITimeoutError(request=response.request) from exc
    except _REQUEST_ERRORS as exc:
        raise openai.APIConnectionError(request=response.request) from exc
    yield chunks.final()
