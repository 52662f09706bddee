"""How a generation's deltas are paced onto the gRPC stream: one send per frame, not per token.

The backend is read in a task of its own. The first delta goes out as soon as it exists; after
that, text that arrives while a send is in progress, or before the caller's delta interval has
passed since the last send, is merged into the next one. The end (the final, or an error) is
never held back: it flushes what is waiting at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import Any

from services.llm_node.backends.base import Delta, Final

_END = object()


async def paced(
    events: AsyncGenerator[Delta | Final, None], interval_s: float = 0.0
) -> AsyncGenerator[Delta | Final, None]:
    """The backend's events, deltas merged: at most one per `interval_s` after the first."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    ended = asyncio.Event()  # set once anything but a delta is waiting: nothing is held then
    loop = asyncio.get_running_loop()
    sender_waiting = True  # the sender is blocked on the queue (not sending, not pacing)

    async def pump() -> None:
        try:
            async for event in events:
                if not isinstance(event, Delta):
                    ended.set()
                queue.put_nowait(event)
                # A burst already buffered would otherwise be read to its end before a waiting
                # sender runs at all: let it send the first text now; the rest gathers
                # meanwhile. A sender that is busy or pacing needs no such turn per token.
                if sender_waiting:
                    await asyncio.sleep(0)
            queue.put_nowait(_END)
        except Exception as exc:
            queue.put_nowait(exc)
        ended.set()

    async def next_item() -> Any:
        nonlocal sender_waiting
        if not queue.empty():
            return queue.get_nowait()
        sender_waiting = True
        try:
            return await queue.get()
        finally:
            sender_waiting = False

    reader = asyncio.create_task(pump())
    last_sent = float("-inf")
    try:
        item = await next_item()
        while item is not _END:
            if isinstance(item, Exception):
                raise item
            if isinstance(item, Delta):
                wait = last_sent + interval_s - loop.time()
                if wait > 0 and not ended.is_set():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await ended.wait()
                texts = [item.text]
                item = None
                while not queue.empty():
                    waiting = queue.get_nowait()
                    if not isinstance(waiting, Delta):
                        item = waiting
                        break
                    texts.append(waiting.text)
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
