"""How `chimera up` runs each service as its own process, watches them and stops them cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

# Not __name__: users (and the end-to-end tests) read "chimera.up: ... is serving" lines.
logger = logging.getLogger("chimera.up")

START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0
MAX_RESTARTS = 5  # within RESTART_WINDOW_S; past that, `chimera up` gives up
RESTART_WINDOW_S = 60.0


def _die_with_parent() -> None:
    # Linux: children get SIGTERM if `chimera up` itself is killed, so none are orphaned.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Child:
    """One service process: how to start it and how to tell it is serving."""

    name: str
    module: str
    ready: Callable[[], Awaitable[bool]]
    env: dict[str, str]
    process: asyncio.subprocess.Process | None = None
    restarts: list[float] = field(default_factory=list)

    async def start(self) -> None:
        """Start the process and wait until it serves; raise if it dies first."""
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            self.module,
            env=self.env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not await self.ready():
            if self.process.returncode is not None:
                raise RuntimeError(
                    f"{self.name} exited with code {self.process.returncode} while starting"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} did not become ready within {START_TIMEOUT_S:.0f} s"
                )
            await asyncio.sleep(0.1)
        logger.info("%s is serving (pid %d)", self.name, self.process.pid)

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited in time."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await process.wait()
        except TimeoutError:
            logger.warning("%s did not stop in %.0f s; killing it", self.name, STOP_TIMEOUT_S)
            process.kill()
            await process.wait()

    def may_restart(self) -> bool:
        """Record a restart; False once it has crashed too often."""
        now = time.monotonic()
        self.restarts = [t for t in self.restarts if now - t < RESTART_WINDOW_S] + [now]
        return len(self.restarts) <= MAX_RESTARTS


async def supervise(children: list[Child], url: str) -> int:
    """Start children in order, restart any that die, stop all on SIGINT/SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    code = 0
    try:
        for child in children:
            await _race(child.start(), stop)
            if stop.is_set():
                return 0
        print(f"Chimera is up: {url}  (Ctrl-C to stop)", flush=True)
        code = await _watch(children, stop)
    except RuntimeError as exc:
        logger.error("%s", exc)
        code = 1
    finally:
        for child in reversed(children):
            await child.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        logger.info("stopped")
    return code


async def _race(work: Awaitable[None], stop: asyncio.Event) -> None:
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    for pending in (task, stopper):
        if pending not in done:
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
    if task in done:
        task.result()


async def _watch(children: list[Child], stop: asyncio.Event) -> int:
    while not stop.is_set():
        waits = {asyncio.ensure_future(c.process.wait()): c for c in children if c.process}
        stopper = asyncio.ensure_future(stop.wait())
        done, pending = await asyncio.wait({*waits, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            child = waits.get(task)
            if child is None:
                continue
            logger.error("%s exited unexpectedly with code %s", child.name, task.result())
            if not child.may_restart():
                logger.error("%s keeps crashing; giving up", child.name)
                return 1
            logger.warning("restarting %s", child.name)
            await _race(child.start(), stop)
    return 0


def base_env(overrides: dict[str, str]) -> dict[str, str]:
    """The environment for a child: ours, plus CHIMERA_* overrides."""
    env = dict(os.environ)
    env.update(overrides)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
