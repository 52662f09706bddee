"""LLM node overhead: one local OpenAI-compatible server called three ways, alternating in one run.

  direct  the openai SDK (AsyncOpenAI, stream=True) -> the fake provider
  node    gRPC LlmService.Generate -> LLM node (`python -m services.llm_node`) -> the fake provider
  room    WebSocket "@bot ..." -> gateway -> room service -> LLM node -> the fake provider, and the
          persona's reply back to the same WebSocket as `delta` frames and a final `message`

The fake provider is tests.support.providers as its own process (`python -m
tests.support.providers openai --tokens N`, with TCP_NODELAY on its connections like any
production server's): a real uvicorn HTTP server speaking OpenAI's SSE wire format,
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
           [--paths direct,node,room] [--py-spy DIR]

--py-spy DIR records each server process's stacks over the measured rounds, as collapsed stacks
(DIR/<process>.folded; speedscope.app and flamegraph.pl read them). py-spy must be installed and
may need ptrace permission; it slows what it samples, so take figures from runs without it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `tests.support` is not an installed package

import benchlib  # noqa: E402
import grpc  # noqa: E402
import httpx  # noqa: E402
import websockets  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402
from websockets.asyncio.client import ClientConnection  # noqa: E402

from services.common.pb import llm_pb2  # noqa: E402
from services.common.pb.llm_pb2_grpc import LlmServiceStub  # noqa: E402
from tests.support.client import NO_LIMITS  # noqa: E402
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


@contextlib.asynccontextmanager
async def fake_provider(
    tokens: int, tokens_per_second: float | None, log_path: Path
) -> AsyncIterator[tuple[str, int]]:
    """The fake provider as a child; yield (base URL ending /v1, pid)."""
    command = [sys.executable, "-m", "tests.support.providers", "openai", "--port", "0"]
    command += ["--tokens", str(tokens)]
    if tokens_per_second:
        command += ["--tokens-per-second", str(tokens_per_second)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIMERA_")}
    process, base_url = await benchlib.start_announcing(
        "the fake provider", command, log_path, READY_TIMEOUT_S, cwd=ROOT, env=env
    )
    try:
        yield base_url, process.pid
    finally:
        await benchlib.stop_process(process)


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

    def __init__(self, channel: grpc.aio.Channel, expected: str, tokens: int) -> None:
        self.channel = channel
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


FINAL = ("complete", "interrupted", "error")


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
                    # queued and streaming are on the way; only an end state ends the request
                    if message["author"]["kind"] == "ai" and message["status"] in FINAL:
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
        token = await benchlib.sign_in(http, "bench")
        persona = {"handle": "bot", "name": "Bot", "model": MODEL_ID, "max_tokens": tokens}
        room_ids = [
            await benchlib.create_room(http, token, f"bench {r}", [persona]) for r in range(rooms)
        ]
    members = []
    for room_id in room_ids:
        ws = await websockets.connect(
            ws_url(room_id), compression="deflate" if deflate else None, max_size=None, proxy=None
        )
        await benchlib.hello(ws, token)
        member = Member(ws)
        member.reader = asyncio.create_task(member.read())
        members.append(member)
    return members


# --- measurement ---------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


async def run(args: argparse.Namespace) -> None:
    expected = "".join(f"{' ' if i else ''}w{i}" for i in range(args.tokens))  # the fake's --tokens
    pace = f"paced at {args.tokens_per_second:g} tokens/s" if args.tokens_per_second else "unpaced"
    print(f"LLM node overhead, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {benchlib.machine()}")
    print(
        f"Fake provider: tests.support.providers openai (with TCP_NODELAY), "
        f"{args.tokens} tokens per answer, {pace}. "
        f"{args.warmup} warm-up + {args.requests} measured rounds; each round one request per "
        f"path, order rotating, one request at a time; room path on {args.db}, {args.rooms} rooms.",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-llm-node-") as tmp:
        workdir = Path(tmp)
        (workdir / "data").mkdir()
        provider = fake_provider(args.tokens, args.tokens_per_second, workdir / "provider.log")
        async with provider as (base_url, provider_pid):
            (workdir / "models.toml").write_text(registry(base_url, args.tokens))
            url, drop = await database(args.db, workdir)
            # The bench measures the path, not the product's per-account daily AI quota (200,000
            # tokens: past it, about request 167, replies end as errors) or its posting limits.
            limits_off = {
                **NO_LIMITS,
                "CHIMERA_AI_USER_DAILY_TOKENS": "0",
                "CHIMERA_AI_ROOM_DAILY_TOKENS": "0",
            }
            stack = Stack(workdir, url, env_extra=limits_off)
            clients: dict[str, Any] = {}
            try:
                await stack.start(gateways=1)
                await stack.start_llm(workdir / "models.toml")
                clients["direct"] = Direct(base_url, args.tokens)
                clients["node"] = Node(
                    stack.channel(f"127.0.0.1:{stack.llm_port}"), expected, args.tokens
                )
                await benchlib.wait_available(clients["node"].stub, MODEL_ID, READY_TIMEOUT_S)
                members = await room_members(
                    stack.base_url(0), stack.ws_url, args.rooms, args.tokens, args.deflate
                )
                clients["room"] = Room(members, expected)
                pids = {"provider": provider_pid}
                pids.update(benchlib.server_pids(stack))
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
        with benchlib.gc_paused():
            meter = benchlib.CpuWindow(pids.items())
            for n in range(args.requests):
                shift = n % len(paths)
                for path in paths[shift:] + paths[:shift]:
                    samples[path].append(await clients[path](args.warmup + n))
                # One unary call per round: the floor any gRPC hop costs on this machine.
                start = time.perf_counter()
                await clients["node"].stub.ListModels(llm_pb2.ListModelsRequest(), timeout=5)
                samples["rtt"].append(Sample(0.0, time.perf_counter() - start, True))
        cpu, window = meter.stop(pids.items(), "bench")
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
            "ttft50": benchlib.percentile(ttft, 0.5),
            "ttft99": benchlib.percentile(ttft, 0.99),
            "total50": benchlib.percentile(total, 0.5),
            "total99": benchlib.percentile(total, 0.99),
        }
        print(
            f"{labels[path]:22} {ms(s['ttft50'])} {ms(s['ttft99'])} {ms(s['total50'])} "
            f"{ms(s['total99'])}  {len(good)}/{len(runs)}"
        )
    if "direct" in stats and "node" in stats:
        report_node(samples, stats, args)
    print(
        f"One gRPC round trip to the node (ListModels, once per round): p50 "
        f"{benchlib.percentile(rtt, 0.5) * 1000:.2f} ms, p99 {benchlib.percentile(rtt, 0.99) * 1000:.2f} ms"
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
    parser.add_argument("--py-spy", type=Path, help="write py-spy stacks to this folder")
    args = parser.parse_args()
    if not args.paths or set(args.paths) - set(PATHS):
        parser.error(f"--paths takes some of {','.join(PATHS)}")
    if args.py_spy is not None:
        args.py_spy.mkdir(parents=True, exist_ok=True)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
