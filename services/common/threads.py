"""A thread executor whose threads never hold up process exit."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any


class DaemonThreadExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs each call in its own daemon thread.

    For blocking work that cannot be interrupted (loading weights, a hub download that keeps
    retrying): on shutdown the process exits without waiting for it. It subclasses
    ThreadPoolExecutor only because asyncio accepts nothing else as a loop's default executor;
    the pool itself is never used.
    """

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:
                future.set_exception(exc)

        threading.Thread(target=run, daemon=True, name="chimera-worker").start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to wait for: the threads are daemons."""
