"""LLM node overhead: one local OpenAI-compatible server called three ways, alternating in one run.

  direct  the openai SDK (AsyncOpenAI, stream=True) -> the fake provider
  node    gRPC LlmService.Generate -> LLM node (`python -m services.llm_node`) -> the fake provider
  room    WebSocket "@bot ..." -> gateway -> room service -> LLM node -> the fake provider, and the
          persona's reply back to the same WebSocket as `delta` frames and a final `message`

The fake provider is tests.support.providers as its own process (`python -m
tests.support.providers openai --tokens N`, started through this script's provider role so that
its connections get TCP_NODELAY like any production server's; see tcp_listener, and
--stock-provider for it as is): a real uvicorn HTTP server speaking OpenAI's SSE wire format,
streaming N tokens, unpaced unless --tokens-per-second is given. Every process is real; every
time is taken in this one client process with time.perf_counter().

Time to first token (TTFT) runs from the call (or the WebSocket send) to the first non-empty
text: the SDK's first content chunk, the first `delta` chunk, the first `delta` frame. Total time
runs to the end of the stream (the SDK's [DONE], the gRPC stream's end, the final `message`).
Requests go one at a time; each round sends one request per path, the order rotating from round
to round, so drift and background load hit every path alike. Room requests cycle over --rooms
rooms (one member socket each), so a persona's context stays short.

Usage: python scripts/bench_llm_node.py [--requests 200] [--warmup 20] [--tokens 100]
           [--tokens-per-second R] [--rooms 10] [--db sqlite|postgres] [--deflate]
           [--paths direct,node,room] [--stock-provider] [--py-spy DIR]

--py-spy DIR records each server process's stacks over the measured rounds, as collapsed stacks
(DIR/<process>.folded; speedscope.app and flamegraph.pl read them). py-spy must be installed and
may need ptrace permission; it slows what it samples, so take figures from runs without it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `tests.support` is not an installed package

import grpc  # noqa: E402
import httpx  # noqa: E402
import websockets  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402
from websockets.asyncio.client import ClientConnection  # noqa: E402

from services.common.grpc_server import channel_options  # noqa: E402
from services.common.pb import llm_pb2  # noqa: E402
from services.common.pb.llm_pb2_grpc import LlmServiceStub  # noqa: E402
from tests.support.databases import sqlite_url  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

MODEL_ID = "fake"
PROVIDER_MODEL = "fake-model"
PROMPT = "Tell me a story in exactly one hundred words."
PATHS = ("direct", "node", "room")
TARGET_ADDED_TTFT_S, TARGET_TOTAL_RATIO = 0.002, 1.05
REQUEST_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 60.0


# --- the systems under test ----------------------------------------------------------------------


# tests/support/providers/_serve.py binds with socket.create_server(), whose proto is 0, so asyncio
# does not set TCP_NODELAY on the connections it accepts: a small write waits for the ACK of the
# one before, and the client delays that ACK up to 40 ms unless the connection was idle. An answer
# asked for less than ~45 ms after the previous one on the same connection then starts ~40 ms
# late, and token chunks bunch up. Real providers do not do that, and the stall would land on
# whichever path happened to ask soonest, so by default the provider runs with TCP_NODELAY.
def tcp_listener(address: tuple[str, int], **_: Any) -> socket.socket:
    """socket.create_server's job, with proto=IPPROTO_TCP: asyncio then sets TCP_NODELAY on
    every accepted connection, as it does for the sockets uvicorn or vLLM bind themselves."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen()
    return sock


def serve_provider(argv: list[str]) -> None:
    """`python -m tests.support.providers ARGV`, with TCP_NODELAY on its connections."""
    from tests.support.providers import __main__ as provider_cli

    socket.create_server = tcp_listener  # type: ignore[assignment]  # this process only
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(provider_cli.main(provider_cli.parse_args(argv)))


@contextlib.asynccontextmanager
async def fake_provider(
    tokens: int, tokens_per_second: float | None, log_path: Path, *, stock: bool = False
) -> AsyncIterator[tuple[str, int]]:
    """The fake provider as a child; yield (base URL ending /v1, pid)."""
    if stock:
        command = [sys.executable, "-m", "tests.support.providers"]
    else:
        command = [sys.executable, __file__, "--role", "provider"]
    command += ["openai", "--port", "0", "--tokens", str(tokens)]
    if tokens_per_second:
        command += ["--tokens-per-second", str(tokens_per_second)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIMERA_")}
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=log
        )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(READY_TIMEOUT_S):
            line = await process.stdout.readline()
        if not line:
            raise RuntimeError(f"the fake provider exited {await process.wait()}; see {log_path}")
        yield line.decode().strip(), process.pid
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(10):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


def registry(base_url: str, tokens: int) -> str:
    """A model registry with one model: the fake provider, through the openai_compatible backend."""
    return (
        "[[models]]\n"
        f'id = "{MODEL_ID}"\n'
        'backend = "openai_compatible"\n'
        f'base_url = "{base_url}"\n'
        f'model = "{PROVIDER_MODEL}"\n'
        "context_window = 8192\n"
        f"max_tokens = {tokens}\n"
    )


async def wait_available(stub: LlmServiceStub) -> None:
    """Wait until the node lists the fake model as available (models start in the background)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        reply = await stub.ListModels(llm_pb2.ListModelsRequest(), timeout=5)
        model = next((m for m in reply.models if m.id == MODEL_ID), None)
        if model is not None and model.available:
            return
        if time.monotonic() > deadline:
            reason = model.reason if model is not None else "not listed"
            raise RuntimeError(f"model {MODEL_ID!r} not available: {reason}")
        await asyncio.sleep(0.05)  # the node has no readiness event to wait on for one model


async def database(kind: str, workdir: Path) -> tuple[str, Callable[[], Awaitable[None]] | None]:
    """A fresh database URL and how to drop it afterwards."""
    if kind == "sqlite":
        return sqlite_url(workdir / "data"), None
    from tests.support.databases import create_postgres_database, drop_postgres_database

    url = await create_postgres_database()
    return url, lambda: drop_postgres_database(url)


# --- the three clients ---------------------------------------------------------------------------


@dataclass
class Sample:
    """One request: time to first token and total, in seconds; ok when the whole answer came."""

    ttft: float
    total: float
    ok: bool


class Direct:
    """The openai SDK straight to the fake provider, with the parameters the node sends it."""

    def __init__(self, base_url: str, tokens: int) -> None:
        self.client = AsyncOpenAI(base_url=base_url, api_key="not-needed", max_retries=0)
        self.tokens = tokens

    async def __call__(self, n: int) -> Sample:
        perf = time.perf_counter
        start = perf()
        first = None
        pieces = 0
        stream = await self.client.chat.completions.create(
            model=PROVIDER_MODEL,
            messages=[{"role": "user", "content": PROMPT}],
            max_tokens=self.tokens,
            stream=True,
            stream_options={"include_usage": True},
        )
        async with stream:
            async for chunk in stream:
                for choice in chunk.choices:
                    if choice.delta.content:
                        if first is None:
                            first = perf()
                        pieces += 1
        end = perf()
        return Sample((first or end) - start, end - start, pieces == self.tokens)

    async def close(self) -> None:
        await self.client.close()


class Node:
    """LlmService.Generate through the generated stub, as the room service calls it."""

    def __init__(self, address: str, expected: str, tokens: int) -> None:
        self.channel = grpc.aio.insecure_channel(address, options=channel_options())
        self.stub = LlmServiceStub(self.channel)
        self.expected = expected
        self.tokens = tokens

    async def __call__(self, n: int) -> Sample:
        perf = time.perf_counter
        start = perf()
        first = None
        text: list[str] = []
        call = self.stub.Generate(
            llm_pb2.GenerateRequest(
                request_id=f"bench-{n}",
                model_id=MODEL_ID,
                messages=[llm_pb2.ChatMessage(role="user", content=PROMPT)],
                max_tokens=self.tokens,
            ),
            timeout=REQUEST_TIMEOUT_S,
        )
        async for chunk in call:
            if chunk.HasField("delta"):
                if first is None:
                    first = perf()
                text.append(chunk.delta.text)
        end = perf()
        return Sample((first or end) - start, end - start, "".join(text) == self.expected)

    async def close(self) -> None:
        await self.channel.close()


@dataclass
class Member:
    """One WebSocket in a room with the persona; frames queued with their receipt time."""

    ws: ClientConnection
    frames: asyncio.Queue[tuple[float, dict[str, Any]]] = field(default_factory=asyncio.Queue)
    reader: asyncio.Task[None] | None = None

    async def read(self) -> None:
        perf = time.perf_counter
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                self.frames.put_nowait((perf(), json.loads(raw)))


class Room:
    """A member says "@bot ..." and waits for the persona's whole reply on the same socket."""

    def __init__(self, members: list[Member], expected: str) -> None:
        self.members = members
        self.expected = expected

    async def __call__(self, n: int) -> Sample:
        member = self.members[n % len(self.members)]
        while not member.frames.empty():  # presence and other leftovers from earlier
            member.frames.get_nowait()
        perf = time.perf_counter
        frame = json.dumps(
            {"type": "send", "content": f"@bot request {n}", "client_msg_id": f"bench-{n}"}
        )
        start = perf()
        await member.ws.send(frame)
        first = None
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            while True:
                at, event = await member.frames.get()
                if event["type"] == "delta" and first is None:
                    first = at
                elif event["type"] == "message":
                    message = event["message"]
                    if message["author"]["kind"] == "ai" and message["status"] != "streaming":
                        ok = message["status"] == "complete" and message["content"] == self.expected
                        return Sample((first or at) - start, at - start, ok)

    async def close(self) -> None:
        for member in self.members:
            await member.ws.close()
            if member.reader is not None:
                await asyncio.gather(member.reader, return_exceptions=True)


async def room_members(
    base_url: str, ws_url: Callable[[str], str], rooms: int, tokens: int, deflate: bool
) -> list[Member]:
    """Rooms with a persona @bot on the fake model, and one connected member in each."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        reply = await http.post("/api/session", json={"name": "bench"})
        reply.raise_for_status()
        token = reply.json()["token"]
        persona = {"handle": "bot", "name": "Bot", "model": MODEL_ID, "max_tokens": tokens}
        room_ids = []
        for r in range(rooms):
            reply = await http.post(
                "/api/rooms",
                json={"name": f"bench {r}", "personas": [persona]},
                headers={"Authorization": f"Bearer {token}"},
            )
            reply.raise_for_status()
            room_ids.append(reply.json()["id"])
    members = []
    for room_id in room_ids:
        ws = await websockets.connect(
            ws_url(room_id), compression="deflate" if deflate else None, max_size=None, proxy=None
        )
        await ws.send(json.dumps({"type": "hello", "token": token}))
        welcome = json.loads(await ws.recv())
        if welcome.get("type") != "welcome":
            raise RuntimeError(f"expected welcome, got {welcome}")
        member = Member(ws)
        member.reader = asyncio.create_task(member.read())
        members.append(member)
    return members


# --- measurement ---------------------------------------------------------------------------------


def server_pids(stack: Stack) -> dict[str, int]:
    """The pid of every service process the stack runs, by name."""
    processes = [stack.llm, stack.room, *stack.gateways]
    return {p.name: p.process.pid for p in processes if p is not None and p.process is not None}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (steal included), from /proc/stat."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
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


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


async def run(args: argparse.Namespace) -> None:
    expected = "".join(f"{' ' if i else ''}w{i}" for i in range(args.tokens))  # the fake's --tokens
    pace = f"paced at {args.tokens_per_second:g} tokens/s" if args.tokens_per_second else "unpaced"
    print(f"LLM node overhead, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}")
    print(
        f"Fake provider: tests.support.providers openai "
        f"({'as is, Nagle on' if args.stock_provider else 'with TCP_NODELAY'}), "
        f"{args.tokens} tokens per answer, {pace}. "
        f"{args.warmup} warm-up + {args.requests} measured rounds; each round one request per "
        f"path, order rotating, one request at a time; room path on {args.db}, {args.rooms} rooms.",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-llm-node-") as tmp:
        workdir = Path(tmp)
        (workdir / "data").mkdir()
        provider = fake_provider(
            args.tokens, args.tokens_per_second, workdir / "provider.log", stock=args.stock_provider
        )
        async with provider as (base_url, provider_pid):
            (workdir / "models.toml").write_text(registry(base_url, args.tokens))
            url, drop = await database(args.db, workdir)
            stack = Stack(workdir, url)
            clients: dict[str, Any] = {}
            try:
                await stack.start(gateways=1)
                await stack.start_llm(workdir / "models.toml")
                clients["direct"] = Direct(base_url, args.tokens)
                clients["node"] = Node(f"127.0.0.1:{stack.llm_port}", expected, args.tokens)
                await wait_available(clients["node"].stub)
                members = await room_members(
                    stack.base_url(0), stack.ws_url, args.rooms, args.tokens, args.deflate
                )
                clients["room"] = Room(members, expected)
                pids = {"provider": provider_pid}
                pids.update(server_pids(stack))
                samples = await measure(clients, pids, args)
            except BaseException:
                print(stack.logs(), file=sys.stderr)
                raise
            finally:
                for client in clients.values():
                    await client.close()
                await stack.stop()
                if drop is not None:
                    await drop()
    report(*samples, args)


async def measure(
    clients: dict[str, Any], pids: dict[str, int], args: argparse.Namespace
) -> tuple[dict[str, list[Sample]], dict[str, float], float]:
    """Warm up, then alternate the paths for --requests rounds; also CPU per process."""
    paths = tuple(args.paths)
    samples: dict[str, list[Sample]] = {path: [] for path in paths}
    samples["rtt"] = []
    for n in range(args.warmup):
        for path in paths:
            await clients[path](n)
    async with profiling(pids, args.py_spy):
        # This process's own collector pauses would land on whichever path was running.
        gc.collect()
        gc.freeze()
        gc.disable()
        cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
        cpu0["bench"], busy0, t0 = time.process_time(), machine_busy_s(), time.perf_counter()
        try:
            for n in range(args.requests):
                shift = n % len(paths)
                for path in paths[shift:] + paths[:shift]:
                    samples[path].append(await clients[path](args.warmup + n))
                # One unary call per round: the floor any gRPC hop costs on this machine.
                start = time.perf_counter()
                await clients["node"].stub.ListModels(llm_pb2.ListModelsRequest(), timeout=5)
                samples["rtt"].append(Sample(0.0, time.perf_counter() - start, True))
        finally:
            gc.enable()
            gc.unfreeze()
        window = time.perf_counter() - t0
        cpu = {name: cpu_seconds(pid) - cpu0[name] for name, pid in pids.items()}
        cpu["bench"] = time.process_time() - cpu0["bench"]
        cpu["others"] = max(0.0, machine_busy_s() - busy0 - sum(cpu.values()))
    return samples, cpu, window


@contextlib.asynccontextmanager
async def profiling(pids: dict[str, int], out: Path | None) -> AsyncIterator[None]:
    """With --py-spy: py-spy's collapsed stacks of every server process over the block."""
    if out is None:
        yield
        return
    spies = []
    for name, pid in pids.items():
        with (out / f"{name}.log").open("ab") as log:
            spies.append(
                await asyncio.create_subprocess_exec(
                    "py-spy",
                    "record",
                    "--pid",
                    str(pid),
                    "--rate",
                    "200",
                    "--nonblocking",
                    "--format",
                    "raw",  # collapsed stacks: greppable, and speedscope.app opens them
                    "--output",
                    str(out / f"{name}.folded"),
                    stdout=log,
                    stderr=log,
                )
            )
    try:
        yield
    finally:
        for spy in spies:
            if spy.returncode is None:
                spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        await asyncio.gather(*(spy.wait() for spy in spies))
        print(f"py-spy stacks in {out} (profiling slows the processes it samples)")


def report(
    samples: dict[str, list[Sample]], cpu: dict[str, float], window: float, args: argparse.Namespace
) -> None:
    labels = {
        "direct": "direct (openai SDK)",
        "node": "node (gRPC Generate)",
        "room": "room (WebSocket)",
    }
    print(f"\n{'':22} {'TTFT p50':>11} {'TTFT p99':>11} {'total p50':>11} {'total p99':>11}  ok")
    stats: dict[str, dict[str, float]] = {}
    rtt = [s.total for s in samples.pop("rtt")]
    for path, runs in samples.items():
        good = [s for s in runs if s.ok]
        ttft, total = [s.ttft for s in good], [s.total for s in good]
        stats[path] = s = {
            "ttft50": percentile(ttft, 0.5),
            "ttft99": percentile(ttft, 0.99),
            "total50": percentile(total, 0.5),
            "total99": percentile(total, 0.99),
        }
        print(
            f"{labels[path]:22} {ms(s['ttft50'])} {ms(s['ttft99'])} {ms(s['total50'])} "
            f"{ms(s['total99'])}  {len(good)}/{len(runs)}"
        )
    if "direct" in stats and "node" in stats:
        report_node(samples, stats, args)
    print(
        f"One gRPC round trip to the node (ListModels, once per round): p50 "
        f"{percentile(rtt, 0.5) * 1000:.2f} ms, p99 {percentile(rtt, 0.99) * 1000:.2f} ms"
    )
    if "node" in stats and "room" in stats:
        room, node = stats["room"], stats["node"]
        print(
            f"Room vs node: TTFT {(room['ttft50'] - node['ttft50']) * 1000:+.2f} ms at p50 (the "
            f"mention stored, the reply started and stored, context read and counted, then "
            f"Generate), total {(room['total50'] - node['total50']) * 1000:+.2f} ms at p50 (deltas "
            f"coalesced, the final message stored)"
        )
    if args.tokens_per_second:
        floor = (args.tokens - 1) / args.tokens_per_second
        print(
            f"Note: the provider paces its tokens, so {floor * 1000:.0f} ms of every total is its "
            f"own pacing: the total-time ratio mostly measures the pacing, not the node. Run "
            f"without --tokens-per-second for the node's per-token cost at full speed."
        )
    # Which paths each process serves: CPU per request it served.
    served = {
        "provider": set(PATHS),
        "llm": {"node", "room"},
        "room": {"room"},
        "gateway0": {"room"},
        "bench": set(PATHS),
    }
    parts = []
    for name, paths in served.items():
        count = sum(len(samples.get(path, [])) for path in paths)
        if name in cpu and count:
            parts.append(f"{name.removesuffix('0')} {cpu[name] / count * 1000:.2f}")
    print(f"CPU ms per request served (all measured paths it takes part in): {', '.join(parts)}")
    print(
        f"  machine: {sum(cpu.values()) / window:.0%} of one CPU busy over {window:.1f} s, "
        f"of which other processes {cpu['others'] / window:.0%}"
    )


def report_node(
    samples: dict[str, list[Sample]], stats: dict[str, dict[str, float]], args: argparse.Namespace
) -> None:
    """The targets: added TTFT at p50 and the total-time ratio, node against direct."""
    direct, node = stats["direct"], stats["node"]
    added = node["ttft50"] - direct["ttft50"]
    ratio = node["total50"] / direct["total50"]
    pairs = [
        (d, n) for d, n in zip(samples["direct"], samples["node"], strict=True) if d.ok and n.ok
    ]
    paired_ttft = statistics.median(n.ttft - d.ttft for d, n in pairs)
    paired_total = statistics.median(n.total - d.total for d, n in pairs)
    print(
        f"\nNode vs direct, added TTFT at p50: {added * 1000:+.2f} ms "
        f"({'meets' if added <= TARGET_ADDED_TTFT_S else 'MISSES'} the target <= "
        f"{TARGET_ADDED_TTFT_S * 1000:.0f} ms; LiteLLM publishes ~3-4 ms); at p99: "
        f"{(node['ttft99'] - direct['ttft99']) * 1000:+.2f} ms"
    )
    print(
        f"Node vs direct, total time for {args.tokens} tokens at p50: {ratio:.3f}x "
        f"({'meets' if ratio <= TARGET_TOTAL_RATIO else 'MISSES'} the target <= "
        f"{TARGET_TOTAL_RATIO}x), {(node['total50'] - direct['total50']) * 1000:+.2f} ms; "
        f"at p99: {node['total99'] / direct['total99']:.3f}x"
    )
    print(
        f"  same-round pairs (median of node - direct): TTFT {paired_ttft * 1000:+.2f} ms, "
        f"total {paired_total * 1000:+.2f} ms ({len(pairs)} rounds)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="measured requests per path")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured rounds first")
    parser.add_argument("--tokens", type=int, default=100, help="tokens per answer")
    parser.add_argument(
        "--tokens-per-second", type=float, help="pace the provider (default: unpaced)"
    )
    parser.add_argument("--rooms", type=int, default=10, help="rooms the room path cycles over")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--paths",
        type=lambda v: [p for p in v.split(",") if p],
        default=list(PATHS),
        help="which paths to measure, comma-separated (default: direct,node,room)",
    )
    parser.add_argument(
        "--deflate", action="store_true", help="members offer permessage-deflate, as browsers do"
    )
    parser.add_argument(
        "--stock-provider",
        action="store_true",
        help="run `python -m tests.support.providers` as is: Nagle on (see tcp_listener)",
    )
    parser.add_argument("--py-spy", type=Path, help="write py-spy stacks to this folder")
    if sys.argv[1:3] == ["--role", "provider"]:
        serve_provider(sys.argv[3:])
        return
    args = parser.parse_args()
    if not args.paths or set(args.paths) - set(PATHS):
        parser.error(f"--paths takes some of {','.join(PATHS)}")
    if args.py_spy is not None:
        args.py_spy.mkdir(parents=True, exist_ok=True)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
