"""Token fan-out: a provider streaming 50 tokens/s into 10 rooms of 100 WebSocket members each.

Every process is real: the fake provider, the LLM node, the room service and one gateway.
Each room has a persona @bot on the fake model; one member of each room mentions it, waits for
the whole reply, and mentions it again (--replies times), the rooms starting --stagger seconds
apart so that their token clocks are not in step. All --members members of every room record
when each frame reaches them.

How the latency is measured: the provider is this script in the `provider` role, which serves
tests.support.providers' FakeProvider and OpenAI app unchanged, except that each reply's tokens
name their stream and index (" s3.17") and the time.monotonic() of every token's emit is recorded
right where the fake's pacing releases it into the SSE response (its connections get
TCP_NODELAY, as a production server's do). Each member records
time.monotonic() when a frame arrives. Both are the machine's CLOCK_MONOTONIC, so a token's added
latency is one subtraction: receipt at the member minus emit at the provider, for every token at
every member (what the LLM node, the room service's coalescing, the RoomSession stream, the
gateway and the socket add together). Coalescing holds a token until its reply's next delta
(every 50 ms by default): at 50 tokens/s that alone adds 0-40 ms, ~20 ms on average, by design;
"newest token per frame" leaves most of that wait out.

A baseline round, 1 room with 1 member, runs alternately with the full rounds in the same run,
so the ratio shows what fanning out to 1,000 sockets adds on this machine.

Usage: python scripts/bench_token_fanout.py [--rooms 10] [--members 100] [--rate 50]
           [--tokens 200] [--replies 3] [--rounds 2] [--stagger 0.137] [--no-baseline]
           [--deflate] [--delta-interval-ms MS]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `tests.support` is not an installed package

import benchlib  # noqa: E402
import httpx  # noqa: E402
import websockets  # noqa: E402
from websockets.asyncio.client import ClientConnection  # noqa: E402

from services.common.pb.llm_pb2_grpc import LlmServiceStub  # noqa: E402
from tests.support.client import NO_LIMITS  # noqa: E402
from tests.support.databases import sqlite_url  # noqa: E402
from tests.support.providers._script import FakeProvider  # noqa: E402
from tests.support.providers._serve import serve  # noqa: E402
from tests.support.providers.openai import create_app  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

MODEL_ID = "fake"
MENTION = re.compile(r"go r(\d+) n(\d+)")
DELTA = '{"type":"delta"'
MESSAGE = '{"type":"message"'
CONNECT_CONCURRENCY = 50
SETTLE_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 60.0
DRAIN_TIMEOUT_S = 30.0


# --- the provider (this script in the `provider` role) -------------------------------------------


class StampedProvider(FakeProvider):
    """The fake provider, with tokens that name their stream and index and a clock on each emit."""

    def __init__(self, tokens: int, **script: Any) -> None:
        super().__init__(tokens=[], **script)
        self.per_reply = tokens
        self.arrivals: list[tuple[float, int, int]] = []  # per stream: (time, room, reply)
        self.emits: list[list[float]] = []  # per stream: time.monotonic() of each token

    def admit(
        self, path: str, headers: dict[str, str], body: dict[str, Any], key: str | None
    ) -> int | None:
        status = super().admit(path, headers, body, key)
        text = " ".join(str(m.get("content") or "") for m in body.get("messages", []))
        tags = MENTION.findall(text)  # the newest mention is the one being answered
        room, reply = (int(x) for x in tags[-1]) if tags else (-1, -1)
        self.arrivals.append((time.monotonic(), room, reply))
        return status

    def answer(self, max_tokens: int | None) -> tuple[list[str], bool]:
        stream = len(self.emits)  # admit() and answer() run back to back for each request
        self.emits.append([])
        count = min(self.per_reply, max_tokens or self.per_reply)
        return [f" s{stream}.{i}" for i in range(count)], count < self.per_reply

    async def stream(self, tokens: list[str]) -> AsyncGenerator[str, None]:
        stamps = self.emits[int(tokens[0].split(".")[0][2:])]
        async with aclosing(super().stream(tokens)) as paced:
            async for token in paced:
                stamps.append(time.monotonic())
                yield token

    def dump(self, path: Path) -> None:
        """Write what was recorded so far (on SIGUSR1)."""
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"arrivals": self.arrivals, "emits": self.emits}))
        tmp.replace(path)


def serve_provider(args: argparse.Namespace) -> None:
    """Serve the stamped provider until SIGTERM; print its base URL first."""

    async def run() -> None:
        provider = StampedProvider(args.tokens, tokens_per_second=args.rate)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, provider.dump, args.emits)
        async with serve(create_app(provider), provider) as url:
            print(f"{url}/v1", flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


@dataclass
class ProviderProcess:
    """The provider role as a child process."""

    emits: Path
    log: Path
    process: asyncio.subprocess.Process | None = None
    base_url: str = ""

    async def start(self, args: argparse.Namespace) -> None:
        command = [sys.executable, __file__, "--role", "provider", "--emits", str(self.emits)]
        command += ["--tokens", str(args.tokens), "--rate", str(args.rate)]
        self.process, self.base_url = await benchlib.start_announcing(
            "the provider", command, self.log, READY_TIMEOUT_S
        )

    async def recorded(self) -> dict[str, Any]:
        """Ask for a fresh dump of the emit times and read it."""
        assert self.process is not None
        self.emits.unlink(missing_ok=True)
        self.process.send_signal(signal.SIGUSR1)
        async with asyncio.timeout(10):
            # Another process writes the file: there is nothing to wait on but the file itself.
            while not self.emits.exists():  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        return dict(json.loads(self.emits.read_text()))

    async def stop(self) -> None:
        if self.process is not None:
            await benchlib.stop_process(self.process)


# --- the system under test -----------------------------------------------------------------------


@dataclass
class Listener:
    """One member's socket and every frame it received while recording: (monotonic time, text)."""

    url: str
    token: str
    room: int
    ws: ClientConnection | None = None
    reader: asyncio.Task[None] | None = None
    frames: list[tuple[float, str]] = field(default_factory=list)


@dataclass
class Load:
    """What the members saw, as it happens."""

    rooms: int
    recording: bool = False
    frames: int = 0
    finals: int = 0  # AI replies' final message frames, over all members
    expected_finals: int = 0
    all_final: asyncio.Event = field(default_factory=asyncio.Event)
    reply_done: list[asyncio.Event] = field(default_factory=list)
    sent: dict[tuple[int, int], float] = field(default_factory=dict)  # (room, reply) -> send time
    dropped: Counter[int | None] = field(default_factory=Counter)
    closing: bool = False
    loop_lag: list[float] = field(default_factory=list)  # this process's own lateness

    def __post_init__(self) -> None:
        self.reply_done = [asyncio.Event() for _ in range(self.rooms)]


async def read(listener: Listener, load: Load, mentioner: bool) -> None:
    """Record every frame; notice AI replies' final messages (rare, so parsing them is cheap)."""
    assert listener.ws is not None
    now, frames = time.monotonic, listener.frames
    try:
        while True:
            raw = await listener.ws.recv()
            at = now()
            load.frames += 1
            if not isinstance(raw, str):
                continue
            if load.recording:
                frames.append((at, raw))
            if raw.startswith(MESSAGE) and '"kind":"ai"' in raw:
                if json.loads(raw)["message"]["status"] != "streaming":
                    load.finals += 1
                    if mentioner:
                        load.reply_done[listener.room].set()
                    if load.finals >= load.expected_finals:
                        load.all_final.set()
    except websockets.ConnectionClosed:
        pass
    finally:
        if not load.closing:
            load.dropped[listener.ws.close_code] += 1


async def connect(listener: Listener, load: Load, mentioner: bool, deflate: bool) -> None:
    """Open the socket, say hello, wait for welcome, then record every frame."""
    ws = await benchlib.join_room(listener.url, listener.token, deflate, max_queue=None)
    listener.ws = ws
    listener.reader = asyncio.create_task(read(listener, load, mentioner))


async def mention(room: int, listener: Listener, load: Load, args: argparse.Namespace) -> None:
    """Mention the room's persona --replies times, each after the previous reply has ended."""
    assert listener.ws is not None
    await asyncio.sleep(room * args.stagger)
    for n in range(args.replies):
        load.reply_done[room].clear()
        frame = json.dumps(
            {"type": "send", "content": f"@bot go r{room} n{n}", "client_msg_id": f"m{room}-{n}"}
        )
        load.sent[(room, n)] = time.monotonic()
        await listener.ws.send(frame)
        async with asyncio.timeout(args.tokens / args.rate + DRAIN_TIMEOUT_S):
            await load.reply_done[room].wait()


@dataclass
class RoundResult:
    """What one round measured, in seconds."""

    name: str
    rooms: int
    members: int
    token_latency: list[float]
    frame_latency: list[float]  # the newest token of each delta frame
    first_latency: list[float]  # each reply's first token, per member
    to_provider: list[float]  # mention sent -> provider got the request
    to_first_delta: list[float]  # mention sent -> the mentioner's first delta
    spread: list[float]  # per delta frame: last member's receipt - first member's, in a room
    frames_per_token: list[float]  # per member per reply
    tokens_expected: int
    tokens_received: int
    tokens_generated: int  # by the provider, over every reply
    replies_complete: int
    replies_expected: int
    dropped: Counter[int | None]
    cpu: dict[str, float]  # CPU seconds over the window, per process
    window: float  # seconds from the first mention until every member had every final message
    frames: int  # delta frames received, all members
    loop_lag: list[float]  # the load generator's event loop lag, sampled every 10 ms


async def run_round(name: str, rooms: int, members: int, args: argparse.Namespace) -> RoundResult:
    """Start everything afresh, connect, mention, record, stop; then work out the figures."""
    with tempfile.TemporaryDirectory(prefix=f"bench-token-fanout-{name}-") as tmp:
        workdir = Path(tmp)
        (workdir / "data").mkdir()
        provider = ProviderProcess(workdir / "emits.json", workdir / "provider.log")
        env = {"CHIMERA_AI_GLOBAL_CONCURRENCY": str(max(8, rooms))}  # every room streams at once
        env |= NO_LIMITS  # hundreds of sign-ins from one IP
        env |= {"CHIMERA_AI_USER_DAILY_TOKENS": "0", "CHIMERA_AI_ROOM_DAILY_TOKENS": "0"}
        if args.delta_interval_ms is not None:
            env["CHIMERA_DELTA_INTERVAL_MS"] = str(args.delta_interval_ms)
        stack = Stack(workdir, sqlite_url(workdir / "data"), env_extra=env)
        load = Load(rooms)
        listeners: list[Listener] = []
        try:
            await provider.start(args)
            (workdir / "models.toml").write_text(
                f'[[models]]\nid = "{MODEL_ID}"\nbackend = "openai_compatible"\n'
                f'base_url = "{provider.base_url}"\nmodel = "fake-model"\n'
                f"context_window = 8192\nmax_tokens = {args.tokens}\n"
            )
            await stack.start(gateways=1)
            await stack.start_llm(workdir / "models.toml")
            address = f"127.0.0.1:{stack.llm_port}"
            async with stack.channel(address) as channel:
                await benchlib.wait_available(LlmServiceStub(channel), MODEL_ID, READY_TIMEOUT_S)
            async with httpx.AsyncClient(base_url=stack.base_url(0), timeout=60) as http:
                owner = await benchlib.sign_in(http, "bench-owner")
                persona = {"handle": "bot", "name": "Bot", "model": MODEL_ID}
                persona["max_tokens"] = args.tokens
                room_ids = [
                    await benchlib.create_room(http, owner, f"bench {r}", [persona])
                    for r in range(rooms)
                ]
                tokens = await benchlib.gather_limited(
                    [benchlib.sign_in(http, f"member-{i}") for i in range(rooms * members)], 20
                )
            listeners = [
                Listener(stack.ws_url(room_ids[i % rooms]), token, i % rooms)
                for i, token in enumerate(tokens)
            ]
            await benchlib.gather_limited(
                [connect(lst, load, i < rooms, args.deflate) for i, lst in enumerate(listeners)],
                CONNECT_CONCURRENCY,
            )
            await benchlib.settle(load, SETTLE_TIMEOUT_S)
            pids = {"provider": provider.process.pid}  # type: ignore[union-attr]
            pids.update(benchlib.server_pids(stack))
            load.expected_finals = rooms * members * args.replies
            # The load generator's own collector pauses would land in every receipt time.
            with benchlib.gc_paused():
                meter = benchlib.CpuWindow(pids.items())
                load.recording = True
                watcher = asyncio.create_task(watch_loop_lag(load))
                try:
                    await asyncio.gather(
                        *(mention(r, listeners[r], load, args) for r in range(rooms))
                    )
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(DRAIN_TIMEOUT_S):
                            await load.all_final.wait()
                finally:
                    load.recording = False
                    watcher.cancel()
                    await asyncio.gather(watcher, return_exceptions=True)
            cpu, window = meter.stop(pids.items(), "loadgen")
            recorded = await provider.recorded()
        except BaseException:
            print(stack.logs(), file=sys.stderr)
            raise
        finally:
            load.closing = True
            await benchlib.gather_limited([lst.ws.close() for lst in listeners if lst.ws], 100)
            await asyncio.gather(
                *(lst.reader for lst in listeners if lst.reader), return_exceptions=True
            )
            await stack.stop()
            await provider.stop()
    return analyse(name, rooms, members, listeners, load, recorded, cpu, window, args)


async def watch_loop_lag(load: Load, period: float = 0.01) -> None:
    """How late this process's event loop wakes a 10 ms timer: receipt times are late by as much."""
    now = time.monotonic
    while True:
        due = now() + period
        await asyncio.sleep(period)
        load.loop_lag.append(now() - due)


# --- analysis ------------------------------------------------------------------------------------


def analyse(
    name: str,
    rooms: int,
    members: int,
    listeners: list[Listener],
    load: Load,
    recorded: dict[str, Any],
    cpu: dict[str, float],
    window: float,
    args: argparse.Namespace,
) -> RoundResult:
    """Match every received token with its emit time."""
    emits: list[list[float]] = recorded["emits"]
    mention_of = [(room, reply) for _, room, reply in recorded["arrivals"]]
    token_lat: list[float] = []
    frame_lat: list[float] = []
    first_lat: list[float] = []
    to_first: list[float] = []
    per_reply = []
    receipts: defaultdict[tuple[str, int], list[float]] = defaultdict(list)
    received = complete = 0
    for index, listener in enumerate(listeners):
        frames: Counter[str] = Counter()
        got: Counter[str] = Counter()
        for at, raw in listener.frames:
            if raw.startswith(DELTA):
                delta = json.loads(raw)
                message_id = delta["message_id"]
                receipts[(message_id, frames[message_id])].append(at)
                frames[message_id] += 1
                newest = -1
                for token in delta["text"].split():
                    stream, i = (int(x) for x in token[1:].split("."))
                    emitted = emits[stream][i]
                    token_lat.append(at - emitted)
                    got[message_id] += 1
                    newest = max(newest, i)
                    if i == 0:
                        first_lat.append(at - emitted)
                        if index < rooms:  # the mentioner: from its own send
                            to_first.append(at - load.sent[mention_of[stream]])
                frame_lat.append(at - emits[stream][newest])
            elif raw.startswith(MESSAGE) and '"kind":"ai"' in raw:
                message = json.loads(raw)["message"]
                if (
                    message["status"] == "complete"
                    and len(message["content"].split()) == args.tokens
                ):
                    complete += 1
        received += sum(got.values())
        per_reply += [frames[m] / args.tokens for m in frames]
    to_provider = [
        at - load.sent[(room, reply)]
        for at, room, reply in recorded["arrivals"]
        if (room, reply) in load.sent
    ]
    spread = [max(times) - min(times) for times in receipts.values() if len(times) > 1]
    return RoundResult(
        name=name,
        rooms=rooms,
        members=members,
        token_latency=token_lat,
        frame_latency=frame_lat,
        first_latency=first_lat,
        to_provider=to_provider,
        to_first_delta=to_first,
        spread=spread,
        frames_per_token=per_reply,
        tokens_expected=rooms * members * args.replies * args.tokens,
        tokens_received=received,
        tokens_generated=sum(len(stamps) for stamps in emits),
        replies_complete=complete,
        replies_expected=rooms * members * args.replies,
        dropped=load.dropped,
        cpu=cpu,
        window=window,
        frames=len(frame_lat),
        loop_lag=load.loop_lag,
    )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def report_round(n: int, r: RoundResult) -> None:
    cpu = "  ".join(f"{name.removesuffix('0')} {sec / r.window:.0%}" for name, sec in r.cpu.items())
    lost = r.tokens_expected - r.tokens_received
    print(
        f"round {n} {r.name:8} {r.rooms}x{r.members}: tokens "
        f"{r.tokens_received}/{r.tokens_expected}"
        f"{f' ({lost} missing)' if lost else ''}, replies complete {r.replies_complete}/"
        f"{r.replies_expected}; per token p50 {ms(benchlib.percentile(r.token_latency, 0.5))} p99 "
        f"{ms(benchlib.percentile(r.token_latency, 0.99))}; first token p50 "
        f"{ms(benchlib.percentile(r.first_latency, 0.5))}; frames/token "
        f"{statistics.fmean(r.frames_per_token):.2f}"
        f"{f'; sockets dropped {dict(r.dropped)}' if r.dropped else ''}; "
        f"{r.frames / r.window:.0f} delta frames/s over {r.window:.1f} s; load generator loop lag "
        f"p99 {ms(benchlib.percentile(r.loop_lag, 0.99))}; cpu (of one core): {cpu}",
        flush=True,
    )


def report(results: list[RoundResult], args: argparse.Namespace) -> None:
    systems = [s for s in ("baseline", "fan-out") if any(r.name == s for r in results)]

    def pooled(system: str, attr: str) -> list[float]:
        return [x for r in results if r.name == system for x in getattr(r, attr)]

    shape = {s: next(f"{r.rooms}x{r.members}" for r in results if r.name == s) for s in systems}
    print(f"\nPooled over {args.rounds} round(s) each (p50 / p99):")
    head = "".join(f"{f'{s} ({shape[s]})':>28}" for s in systems)
    print(f"  {'':44}{head}{'   ratio p50 / p99' if len(systems) == 2 else ''}")
    rows = [
        ("added latency per token (emit -> member)", "token_latency"),
        ("  newest token of each delta frame", "frame_latency"),
        ("first token (provider emit -> member)", "first_latency"),
        ("mention sent -> provider has the request", "to_provider"),
        ("mention sent -> mentioner's first delta", "to_first_delta"),
        ("receipt spread over a room's members", "spread"),
    ]
    for label, attr in rows:
        cells, p = "", {}
        for s in systems:
            values = pooled(s, attr)
            p[s] = (benchlib.percentile(values, 0.5), benchlib.percentile(values, 0.99))
            cells += f"{ms(p[s][0])} / {ms(p[s][1])}".rjust(28) if values else f"{'-':>28}"
        ratio = ""
        if len(systems) == 2 and attr != "spread":
            (b50, b99), (f50, f99) = p["baseline"], p["fan-out"]
            ratio = f"   {f50 / b50:5.2f}x / {f99 / b99:5.2f}x"
        print(f"  {label:44}{cells}{ratio}")
    cells = "".join(
        f"{statistics.fmean(pooled(s, 'frames_per_token')):.3f}".rjust(28) for s in systems
    )
    print(f"  {'WebSocket delta frames per token':44}{cells}")
    for s in systems:
        runs = [r for r in results if r.name == s]
        expected = sum(r.tokens_expected for r in runs)
        received = sum(r.tokens_received for r in runs)
        complete = sum(r.replies_complete for r in runs)
        replies = sum(r.replies_expected for r in runs)
        print(
            f"  {s}: {received}/{expected} token receipts, {complete}/{replies} final messages "
            f"complete with every token"
        )
    for s in systems:
        runs = [r for r in results if r.name == s]
        frames = sum(r.frames for r in runs)
        window = sum(r.window for r in runs)
        busy = {n: sum(r.cpu.get(n, 0.0) for r in runs) for n in runs[0].cpu}
        lag = [x for r in runs for x in r.loop_lag]
        generated = sum(r.tokens_generated for r in runs)
        # At a lone member's trickle, idle upkeep (pings, timers) would dominate these.
        per_frame = ", ".join(
            f"{n.removesuffix('0')} {busy[n] / frames * 1e6:.0f}"
            for n in ("gateway0", "loadgen")
            if n in busy and s == "fan-out"
        )
        per_token = ", ".join(
            f"{n} {busy[n] / generated * 1e3:.2f}"
            for n in ("provider", "llm", "room")
            if n in busy and s == "fan-out"
        )
        shares = ", ".join(f"{n.removesuffix('0')} {sec / window:.0%}" for n, sec in busy.items())
        print(
            f"  {s}: {frames / window:.0f} delta frames/s delivered; "
            f"{f'CPU us per frame: {per_frame}; ' if per_frame else ''}"
            f"{f'CPU ms per token generated: {per_token}; ' if per_token else ''}"
            f"CPU (share of one core): {shares}; load generator loop lag p50 / p99 / max "
            f"{ms(benchlib.percentile(lag, 0.5))} / {ms(benchlib.percentile(lag, 0.99))} / {ms(max(lag, default=0))}"
        )
    print(
        "\nPer token: each member's receipt time minus the provider's emit time of that token, "
        "both CLOCK_MONOTONIC on this machine; every token at every member counts. It includes "
        f"the room service's coalescing: one delta per reply per "
        f"{args.delta_interval_ms if args.delta_interval_ms is not None else 50} ms at most, "
        f"so at {args.rate:g} tokens/s a token waits up to ~40 ms for its frame by design. "
        "First token: coalescing sends it at once. Frames per token: delta frames a member got "
        "for a reply / the reply's tokens."
    )


async def bench(args: argparse.Namespace) -> None:
    print(f"Token fan-out, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {benchlib.machine()}")
    interval = args.delta_interval_ms if args.delta_interval_ms is not None else "default 50"
    print(
        f"{args.rooms} rooms x {args.members} members on one gateway; the provider streams "
        f"{args.tokens} tokens per reply at {args.rate:g} tokens/s; {args.replies} replies per "
        f"room back to back, rooms starting {args.stagger:g} s apart; delta interval {interval} "
        f"ms; {args.rounds} round(s), alternating with a 1x1 baseline"
        f"{' (skipped)' if args.no_baseline else ''}; provider sockets TCP_NODELAY; "
        f"permessage-deflate "
        f"{'on' if args.deflate else 'off'}; SQLite.",
        flush=True,
    )
    results: list[RoundResult] = []
    for n in range(args.rounds):
        if not args.no_baseline:
            results.append(await run_round("baseline", 1, 1, args))
            report_round(n + 1, results[-1])
        results.append(await run_round("fan-out", args.rooms, args.members, args))
        report_round(n + 1, results[-1])
    report(results, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--members", type=int, default=100, help="WebSockets per room")
    parser.add_argument("--rate", type=float, default=50.0, help="provider tokens per second")
    parser.add_argument("--tokens", type=int, default=200, help="tokens per reply")
    parser.add_argument("--replies", type=int, default=3, help="replies per room per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--stagger", type=float, default=0.137, help="seconds between the rooms' first mentions"
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the 1x1 rounds")
    parser.add_argument(
        "--deflate", action="store_true", help="members offer permessage-deflate, as browsers do"
    )
    parser.add_argument(
        "--delta-interval-ms", type=int, help="the room service's coalescing interval"
    )
    parser.add_argument("--role", choices=["provider"], help=argparse.SUPPRESS)
    parser.add_argument("--emits", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "provider":
        serve_provider(args)
        return
    benchlib.raise_open_files(2 * args.rooms * args.members + 1024)
    # The gateway runs on uvloop (uvicorn's default when installed); so does the load generator.
    benchlib.run_like_servers(bench(args))


if __name__ == "__main__":
    main()
