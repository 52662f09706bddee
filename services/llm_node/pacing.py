"""How a generation's deltas are paced onto the gRPC stream: one send per frame, not per token.

The backend is read in a task of its own. The first delta goes out as soon as it exists; after
that, text that arrives while a send is in progress, or before the caller's delta interval has
passed since the last send, is merged into the next one. The end (the final, or an error) is
never held back: it flushes what is waiting at once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator
from typing import Any

from services.llm_node.backends.base import Delta, Final

_END = object()


async def paced(
    events: AsyncGenerator[Delta | Final, None], interval_s: float = 0.0
) -> AsyncGenerator[Delta | Final, None]:
    """The backend's events, deltas merged: at most one per `interval_s` after the first."""
    loop = asyncio.get_running_loop()
    waiting: deque[Any] = deque()
    ended = False  # anything but a delta is waiting: nothing is held then
    # The sender's one wait (for text, or for the end while it paces): a future of this loop and
    # a plain list, not a Queue and Events, as they cost a little more on every token.
    wake: asyncio.Future[None] | None = None
    wake_on_text = False

    def put(item: Any, *, end: bool) -> None:
        nonlocal ended
        waiting.append(item)
        ended = ended or end
        if wake is not None and not wake.done() and (end or wake_on_text):
            wake.set_result(None)

    async def pump() -> None:
        try:
            async for event in events:
                put(event, end=not isinstance(event, Delta))
                # A burst already buffered would otherwise be read to its end before a waiting
                # sender runs at all: let it send the first text now; the rest gathers
                # meanwhile. A sender that is busy or pacing needs no such turn per token.
                if wake is not None and wake_on_text:
                    await asyncio.sleep(0)
            put(_END, end=True)
        except Exception as exc:
            put(exc, end=True)

    async def sleep_until(deadline: float | None, *, for_text: bool) -> None:
        """Until the pump puts text (`for_text`) or the end, or `deadline` passes."""
        nonlocal wake, wake_on_text
        wake, wake_on_text = loop.create_future(), for_text
        timer = None if deadline is None else loop.call_at(deadline, _resolve, wake)
        try:
            await wake
        finally:
            wake = None
            if timer is not None:
                timer.cancel()

    async def next_item() -> Any:
        if not waiting:
            await sleep_until(None, for_text=True)
        return waiting.popleft()

    reader = asyncio.create_task(pump())
    last_sent = float("-inf")
    try:
        item = await next_item()
        while item is not _END:
            if isinstance(item, Exception):
                raise item
            if isinstance(item, Delta):
                deadline = last_sent + interval_s
                if deadline > loop.time() and not ended:
                    await sleep_until(deadline, for_text=False)
                texts = [item.text]
                item = None
                while waiting:
                    if not isinstance(waiting[0], Delta):
                        item = waiting.popleft()
                        break
                    texts.append(waiting.popleft().text)
                last_sent = loop.time()
                yield Delta("".join(texts))
                if item is None:
                    item = await next_item()
                continue
            yield item
            item = await next_item()
    finally:
        # Cancelling the reader closes the backend's stream where it waits.
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
