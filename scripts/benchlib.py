"""What the benchmark scripts share: figures, the machine line, CPU sampling, child processes.

The scripts run as `python scripts/bench_X.py`, so this folder is on sys.path and they
`import benchlib`; each script puts the repository root on sys.path before it does.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import os
import platform
import resource
import signal
import sys
import time
from collections.abc import Coroutine, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx
    from websockets.asyncio.client import ClientConnection

    from services.common.pb.llm_pb2_grpc import LlmServiceStub
    from tests.support.stack import Stack

SETTLE_QUIET_S = 0.5  # joins have settled once no frame arrived for this long


# --- figures -------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    if pos == lo or ordered[hi] == ordered[lo]:
        return ordered[lo]
    if math.isinf(ordered[hi]):  # a sample that never came (an undelivered message)
        return ordered[hi]
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def machine() -> str:
    """CPU count and model, memory, Python: the line recorded next to the figures."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    mem_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return (
        f"{os.cpu_count()} CPUs ({model}), {mem_kib / 2**20:.0f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


# --- CPU -----------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; OSError once it is gone)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (steal included), from /proc/stat."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


class CpuWindow:
    """CPU seconds used from its creation to stop(): per process, by this one, by the rest."""

    def __init__(self, processes: Iterable[tuple[str, int]]) -> None:
        self.before = {pid: cpu_seconds(pid) for _, pid in processes}
        self.own0, self.busy0, self.t0 = time.process_time(), machine_busy_s(), time.perf_counter()

    def stop(
        self, processes: Iterable[tuple[str, int]], own: str
    ) -> tuple[dict[str, float], float]:
        """(CPU seconds per process name, then `own` for this process, then "others"; seconds).

        A process started during the window (a new database backend) counts whole; one that is
        gone by now is left out.
        """
        window = time.perf_counter() - self.t0
        cpu: dict[str, float] = {}
        for name, pid in processes:
            with contextlib.suppress(OSError):
                cpu[name] = cpu.get(name, 0.0) + cpu_seconds(pid) - self.before.get(pid, 0.0)
        cpu[own] = time.process_time() - self.own0
        # CPU the rest of the machine took meanwhile (other users' work, steal): noise to note.
        cpu["others"] = max(0.0, machine_busy_s() - self.busy0 - sum(cpu.values()))
        return cpu, window


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No collector pauses in this process over the block: they would land in what it times."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def server_pids(stack: Stack) -> dict[str, int]:
    """The pid of every service process the stack runs, by name."""
    processes = [stack.llm, stack.room, *stack.gateways]
    return {p.name: p.process.pid for p in processes if p is not None and p.process is not None}


def raise_open_files(needed: int) -> None:
    """Lift the soft RLIMIT_NOFILE (children inherit it) so ~2 sockets per member fit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        limit = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
        if limit < needed:
            print(f"warning: open-files limit {limit} < {needed} needed", file=sys.stderr)


# --- child processes -----------------------------------------------------------------------------


async def start_announcing(
    name: str, command: Sequence[str], log_path: Path, timeout: float, **kwargs: Any
) -> tuple[asyncio.subprocess.Process, str]:
    """Start a child that prints one line (its URL) when it serves; return it and that line."""
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=log, **kwargs
        )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(timeout):
            line = await process.stdout.readline()
        if not line:
            raise RuntimeError(f"{name} exited {await process.wait()}; see {log_path}")
    except BaseException:
        await stop_process(process)
        raise
    return process, line.decode().strip()


async def stop_process(process: asyncio.subprocess.Process, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it outlives `grace` seconds."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(grace):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


async def gather_limited(coros: Sequence[Coroutine[Any, Any, Any]], limit: int) -> list[Any]:
    """Run coroutines at most `limit` at a time; results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(coro: Coroutine[Any, Any, Any]) -> Any:
        async with gate:
            return await coro

    return await asyncio.gather(*(one(c) for c in coros))


# --- the system under test -----------------------------------------------------------------------


async def wait_available(stub: LlmServiceStub, model_id: str, timeout: float) -> None:
    """Wait until the LLM node lists `model_id` as available (models start in the background)."""
    from services.common.pb import llm_pb2

    deadline = time.monotonic() + timeout
    while True:
        reply = await stub.ListModels(llm_pb2.ListModelsRequest(), timeout=5)
        model = next((m for m in reply.models if m.id == model_id), None)
        if model is not None and model.available:
            return
        if time.monotonic() > deadline:
            reason = model.reason if model is not None else "not listed"
            raise RuntimeError(f"model {model_id!r} not available: {reason}")
        await asyncio.sleep(0.05)  # the node has no readiness event to wait on for one model


async def sign_in(http: httpx.AsyncClient, name: str) -> str:
    """A new user's token (POST /api/session)."""
    reply = await http.post("/api/session", json={"name": name})
    reply.raise_for_status()
    return str(reply.json()["token"])


async def create_room(
    http: httpx.AsyncClient, token: str, name: str, personas: Sequence[dict[str, Any]] = ()
) -> str:
    """A new room's id (POST /api/rooms), with `personas` in it."""
    # Open to every signed-in account, guests included: the benchmark's members join by id.
    body: dict[str, Any] = {"name": name, "access": "open", "allow_guests": True}
    if personas:
        body["personas"] = list(personas)
    reply = await http.post("/api/rooms", json=body, headers={"Authorization": f"Bearer {token}"})
    reply.raise_for_status()
    return str(reply.json()["id"])


async def hello(ws: ClientConnection, token: str) -> None:
    """Say hello on a fresh room socket and check that a welcome comes back."""
    await ws.send(json.dumps({"type": "hello", "token": token}))
    welcome = json.loads(await ws.recv())
    if welcome.get("type") != "welcome":
        raise RuntimeError(f"expected welcome, got {welcome}")


async def join_room(url: str, token: str, deflate: bool, max_queue: int | None) -> ClientConnection:
    """One of many member sockets: open it, say hello, wait for welcome."""
    import websockets

    ws = await websockets.connect(
        url,
        compression="deflate" if deflate else None,
        ping_interval=None,  # the server pings; 1,000 client pingers would only load this process
        max_size=2**20,
        max_queue=max_queue,
        open_timeout=60,
        close_timeout=5,
        proxy=None,
    )
    await hello(ws, token)
    return ws


def run_like_servers(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` on uvloop when it is installed, as uvicorn runs the servers; else asyncio."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


async def settle(frames: Any, timeout: float) -> None:
    """Wait until the join traffic (presence frames) has stopped: `frames.frames` stays put."""
    deadline = time.monotonic() + timeout
    seen = -1
    while seen != frames.frames and time.monotonic() < deadline:
        seen = frames.frames
        await asyncio.sleep(SETTLE_QUIET_S)
