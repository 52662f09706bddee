"""The daemon executor: results, errors, and no wait on exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from services.common.threads import DaemonThreadExecutor

pytestmark = pytest.mark.unit


def test_results_and_errors_come_back() -> None:
    executor = DaemonThreadExecutor()
    assert executor.submit(lambda x: x * 2, 21).result(timeout=5) == 42
    with pytest.raises(ZeroDivisionError):
        executor.submit(lambda: 1 / 0).result(timeout=5)


def test_a_stuck_call_does_not_keep_the_process_alive() -> None:
    script = textwrap.dedent(
        """
        import asyncio, threading
        from services.common.threads import DaemonThreadExecutor

        async def main():
            asyncio.get_running_loop().set_default_executor(DaemonThreadExecutor())
            stuck = asyncio.ensure_future(asyncio.to_thread(threading.Event().wait))
            await asyncio.sleep(0)
            stuck.cancel()

        asyncio.run(main())
        print("exited")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "exited" in done.stdout
