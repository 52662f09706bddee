"""Fan-out latency: Chimera's full path against a minimal broadcast server, in alternating rounds.

Chimera:  WebSocket -> gateway -> gRPC RoomSession -> room service (commit) -> gRPC -> gateway
          -> WebSocket
Baseline: WebSocket -> one in-process broadcast app, served by the gateway's own uvicorn entry
          point (so the same WebSocket implementation and settings) -> WebSocket

Each round starts its server processes afresh, connects --clients WebSockets spread evenly over
--rooms rooms, lets the joins settle, then sends from random clients at Poisson-distributed times
(--rate per second in all) for a short warm-up plus --duration seconds. Latency runs from the
sender's send() to each member's receipt of the message frame (the sender's own copy included),
all timed with time.perf_counter() in this one load-generator process.

"gRPC messages per room event" is measured inside the room service: its process is this script
in the `room` role, which runs services.room.server.serve() with RoomServicer.RoomSession wrapped
to count every event each stream yields (and Rooms.post timed, to show where the time goes).

Usage: python scripts/bench_fanout.py [--clients 1000] [--rooms 10] [--rate 50] [--duration 20]
           [--rounds 2] [--db sqlite|postgres] [--gateways 1] [--deflate]
On a shared machine run it under `nice -n -10` and heed the WARNING it prints for noisy rounds.
Figures and machine: docs/benchmarks.md, "Fan-out latency".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `tests.support` is not an installed package

import benchlib  # noqa: E402
import httpx  # noqa: E402
import websockets  # noqa: E402
from websockets.asyncio.client import ClientConnection  # noqa: E402

from services.common.net import free_port, grpc_serving, http_ok  # noqa: E402
from tests.support.client import NO_LIMITS  # noqa: E402
from tests.support.stack import ROOM_SERVICE, ServiceProcess, Stack  # noqa: E402

MARK = '"content":"bench '  # how a message frame's send id is found without parsing the JSON
ACK = '{"type":"ack"'
FILLER = "the quick brown fox jumps over the lazy dog " * 2  # a ~100-character chat line
CONNECT_CONCURRENCY = 50
SETTLE_TIMEOUT_S = 30.0
DRAIN_TIMEOUT_S = 15.0
TARGET_RATIO, AIM_RATIO, TARGET_P99_S = 2.0, 1.5, 0.100
BUSY_OTHERS, BUSY_SEND_LAG_S = 0.25, 0.020  # beyond these a round's figures are noise


# --- the baseline server (its own process) -------------------------------------------------------


def _encode(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, **fields}, separators=(",", ":"), ensure_ascii=False)


def baseline_app() -> Any:
    """A minimal broadcast app: parse each send, encode one message frame, write it to all."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    rooms: dict[str, set[WebSocket]] = {}
    seqs: Counter[str] = Counter()

    async def room_socket(websocket: WebSocket) -> None:
        room_id = websocket.path_params["room_id"]
        await websocket.accept()
        hello = json.loads(await websocket.receive_text())
        author = {"id": hello["token"], "name": hello["token"], "kind": "human"}
        members = rooms.setdefault(room_id, set())
        members.add(websocket)
        try:
            await websocket.send_text(
                _encode("welcome", room={"id": room_id}, last_seq=seqs[room_id])
            )
            while True:
                send = json.loads(await websocket.receive_text())
                if send.get("type") != "send":
                    continue
                seqs[room_id] += 1
                message = {
                    "id": str(uuid4()),
                    "room_id": room_id,
                    "seq": seqs[room_id],
                    "author": author,
                    "content": send["content"],
                    "reply_to": None,
                    "status": "complete",
                    "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "client_msg_id": send.get("client_msg_id"),
                }
                frame = _encode("message", message=message)
                for member in list(members):
                    with contextlib.suppress(Exception):
                        await member.send_text(frame)
                await websocket.send_text(
                    _encode("ack", client_msg_id=message["client_msg_id"], message_id=message["id"])
                )
        except WebSocketDisconnect:
            pass
        finally:
            members.discard(websocket)

    async def healthz(_request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[Route("/healthz", healthz), WebSocketRoute("/ws/room/{room_id}", room_socket)]
    )


def serve_baseline() -> None:
    """Serve the baseline app through the gateway's own entry point (CHIMERA_HOST/PORT).

    Only the app is swapped, so uvicorn, its WebSocket implementation and every WebSocket
    setting are exactly the gateway's, whatever services/gateway/server.py says today.
    """
    from services.gateway import server

    app = baseline_app()
    server.create_app = lambda _settings: app  # type: ignore[assignment,misc]
    server.main()


# --- the counting room service (its own process) -------------------------------------------------


class RoomProbe:
    """Inside the room service: counts what each RoomSession stream yields, times each post."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.events: Counter[str] = Counter()
        self.message_ids: set[str] = set()
        self.open_streams: Counter[str] = Counter()
        self.history_calls = 0
        self.post_s: list[float] = []  # since the last snapshot
        self.snapshots = 0

    def wrap(self, servicer_cls: Any, rooms_cls: Any) -> None:
        """Swap in counting/timing pass-throughs for RoomSession, LoadHistory and Rooms.post."""
        session, load_history, post = (
            servicer_cls.RoomSession,
            servicer_cls.LoadHistory,
            rooms_cls.post,
        )
        counter = self

        class Counted:
            """The stream's context, counting each event RoomSession writes to it."""

            def __init__(self, context: Any) -> None:
                self.context = context
                self.room_id: str | None = None

            def __getattr__(self, name: str) -> Any:
                return getattr(self.context, name)

            async def write(self, event: Any) -> None:
                kind = event.WhichOneof("kind")
                counter.events[kind] += 1
                if kind == "message":
                    counter.message_ids.add(event.message.id)
                elif kind == "opened":
                    self.room_id = event.opened.room.id
                    counter.open_streams[self.room_id] += 1
                await self.context.write(event)

        async def RoomSession(self: Any, requests: Any, context: Any) -> None:
            counted = Counted(context)
            try:
                await session(self, requests, counted)
            finally:
                if counted.room_id is not None:
                    counter.open_streams[counted.room_id] -= 1

        async def LoadHistory(self: Any, request: Any, context: Any) -> Any:
            counter.history_calls += 1
            return await load_history(self, request, context)

        async def timed_post(self: Any, *args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await post(self, *args, **kwargs)
            finally:
                counter.post_s.append(time.perf_counter() - start)

        servicer_cls.RoomSession, servicer_cls.LoadHistory = RoomSession, LoadHistory
        rooms_cls.post = timed_post

    def dump(self) -> None:
        """Write the counts so far (on SIGUSR1)."""
        self.snapshots += 1
        data = {
            "snapshot": self.snapshots,
            "events": dict(self.events),
            "messages": len(self.message_ids),
            "streams": {room: n for room, n in self.open_streams.items() if n},
            "history_calls": self.history_calls,
            "post_s": self.post_s,
        }
        self.post_s = []
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self.path)


def serve_counting_room(stats_path: Path) -> None:
    """The real room service (services.room.server.serve) with a RoomProbe inside."""
    from services.common.grpc_server import run as run_service
    from services.common.log import setup_logging
    from services.room import rooms, server, servicer
    from services.room.config import RoomSettings

    counter = RoomProbe(stats_path)
    counter.wrap(servicer.RoomServicer, rooms.Rooms)
    settings = RoomSettings()
    setup_logging("room", settings.log_level, settings.log_format)

    async def run() -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, counter.dump)
        await server.serve(settings)

    run_service(run())  # on the event loop services.room.server.main() uses


# --- child processes -----------------------------------------------------------------------------


@dataclass
class ScriptProcess(ServiceProcess):
    """This script in a server role, as a child process with its own log."""

    args: tuple[str, ...] = ()

    async def start(self) -> None:
        """Spawn `python bench_fanout.py <args>` (logs appended to `log_path`)."""
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, __file__, *self.args, env=self.env, stdout=log, stderr=log
            )

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.running:
            try:
                await self.signal(signal.SIGTERM)
            except TimeoutError:
                await self.signal(signal.SIGKILL)


@dataclass
class CountingStack(Stack):
    """The test Stack, with the room service started in the counting role."""

    async def start_room(self) -> None:
        """Start the counting room service and wait until it serves."""
        stats = self.workdir / "room-stats.json"
        self.room = ScriptProcess(
            "room",
            "services.room",
            self._env(),
            self.workdir / "room.log",
            args=("--role", "room", "--stats", str(stats)),
        )
        await self.room.start()
        await self.room.wait_ready(lambda: grpc_serving(self.room_addr, ROOM_SERVICE))

    async def counts(self) -> dict[str, Any]:
        """A fresh snapshot of the room service's counts."""
        assert self.room is not None and self.room.process is not None
        path = self.workdir / "room-stats.json"

        def snapshot() -> dict[str, Any]:
            return dict(json.loads(path.read_text())) if path.exists() else {"snapshot": 0}

        previous = snapshot()["snapshot"]
        self.room.process.send_signal(signal.SIGUSR1)
        async with asyncio.timeout(10):
            # Another process writes the file: there is nothing to wait on but the file itself.
            while (data := snapshot())["snapshot"] <= previous:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        return data


@dataclass
class Target:
    """A running system under test: where each client connects, and how to inspect it."""

    urls: list[str]
    tokens: list[str]
    processes: Callable[[], Awaitable[list[tuple[str, int]]]]  # (name, pid) doing its work
    counts: Callable[[], Awaitable[dict[str, Any]]] | None = None


@contextlib.asynccontextmanager
async def baseline(args: argparse.Namespace, workdir: Path) -> AsyncIterator[Target]:
    """The broadcast server on a free port."""
    port = free_port("127.0.0.1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIMERA_")}
    env.update(
        CHIMERA_HOST="127.0.0.1",
        CHIMERA_PORT=str(port),
        CHIMERA_DATA_DIR=str(workdir),
        PYTHONUNBUFFERED="1",
    )
    server = ScriptProcess(
        "baseline",
        "baseline",  # ServiceProcess's module: a label here, ScriptProcess runs this file
        env,
        workdir / "baseline.log",
        args=("--role", "baseline"),
    )
    await server.start()
    try:
        await server.wait_ready(lambda: http_ok(f"http://127.0.0.1:{port}/healthz"))
        assert server.process is not None
        pid = server.process.pid
        urls = [f"ws://127.0.0.1:{port}/ws/room/room-{i % args.rooms}" for i in range(args.clients)]

        async def processes() -> list[tuple[str, int]]:
            return [("server", pid)]

        yield Target(urls, [f"user-{i}" for i in range(args.clients)], processes)
    finally:
        await server.stop()


async def postgres_backends(url: str) -> list[int]:
    """PIDs of the PostgreSQL backends serving the database `url` names."""
    import asyncpg
    from sqlalchemy import make_url

    from tests.support.databases import postgres_admin_url

    connection = await asyncpg.connect(postgres_admin_url())
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", make_url(url).database
        )
    finally:
        await connection.close()
    return [row["pid"] for row in rows]


@contextlib.asynccontextmanager
async def chimera(args: argparse.Namespace, workdir: Path) -> AsyncIterator[Target]:
    """A room service and --gateways gateways on a fresh database, with rooms and users made."""
    drop: Callable[[str], Awaitable[None]] | None = None
    if args.db == "postgres":
        from tests.support.databases import create_postgres_database, drop_postgres_database

        url, drop = await create_postgres_database(), drop_postgres_database
    else:
        url = f"sqlite+aiosqlite:///{workdir / 'data' / 'chimera.db'}"
    stack = CountingStack(workdir, url, env_extra=dict(NO_LIMITS))  # 1000 sign-ins from one IP
    try:
        await stack.start(gateways=args.gateways)
        async with httpx.AsyncClient(base_url=stack.base_url(0), timeout=30) as http:
            owner = await benchlib.sign_in(http, "bench-owner")
            rooms = [
                await benchlib.create_room(http, owner, f"bench {r}") for r in range(args.rooms)
            ]
            tokens = await benchlib.gather_limited(
                [benchlib.sign_in(http, f"bench-{i}") for i in range(args.clients)], 20
            )
        # Client i joins room i % rooms via gateway (i // rooms) % gateways: each room on each.
        urls = [
            stack.ws_url(rooms[i % args.rooms], (i // args.rooms) % args.gateways)
            for i in range(args.clients)
        ]

        async def processes() -> list[tuple[str, int]]:
            children = [stack.room, *stack.gateways]
            procs = [(p.name, p.process.pid) for p in children if p and p.process]
            if args.db == "postgres":
                procs += [("postgres", pid) for pid in await postgres_backends(url)]
            return procs

        yield Target(urls, tokens, processes, stack.counts)
    except BaseException:
        print(stack.logs(), file=sys.stderr)
        raise
    finally:
        await stack.stop()
        if drop is not None:
            await drop(url)


# --- the load generator --------------------------------------------------------------------------


@dataclass
class Load:
    """One round's sends and every receipt, indexed by send id."""

    rooms: int
    sent_at: list[float] = field(default_factory=list)
    expected: list[int] = field(default_factory=list)
    received: list[int] = field(default_factory=list)
    measured: list[bool] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    send_lag: list[float] = field(default_factory=list)
    members: list[int] = field(default_factory=list)
    frames: int = 0
    outstanding: int = 0  # receipts still expected
    sending: bool = True
    drained: asyncio.Event = field(default_factory=asyncio.Event)
    dropped: Counter[int | None] = field(default_factory=Counter)
    closing: bool = False

    def __post_init__(self) -> None:
        self.members = [0] * self.rooms

    def on_frame(self, now: float, raw: str | bytes) -> None:
        """Record one received frame; only message frames carry a send id."""
        self.frames += 1
        if not isinstance(raw, str):
            return
        i = raw.find(MARK)
        if i >= 0:
            i += len(MARK)
            send_id = int(raw[i : raw.index(" ", i)])
            self.received[send_id] += 1
            if self.measured[send_id]:
                self.latencies.append(now - self.sent_at[send_id])
        elif not raw.startswith(ACK):
            return
        self.outstanding -= 1
        if self.outstanding <= 0 and not self.sending:
            self.drained.set()


@dataclass
class Client:
    """One member's socket."""

    url: str
    token: str
    room: int
    ws: ClientConnection | None = None
    reader: asyncio.Task[None] | None = None


async def connect(client: Client, load: Load, deflate: bool) -> None:
    """Open the socket, say hello, wait for welcome, then record every frame."""
    ws = await benchlib.join_room(client.url, client.token, deflate, max_queue=256)
    client.ws = ws
    load.members[client.room] += 1
    client.reader = asyncio.create_task(read(ws, client.room, load))


async def read(ws: ClientConnection, room: int, load: Load) -> None:
    perf, on_frame = time.perf_counter, load.on_frame
    try:
        while True:
            raw = await ws.recv()
            on_frame(perf(), raw)
    except websockets.ConnectionClosed:
        pass
    finally:
        load.members[room] -= 1
        if not load.closing:
            load.dropped[ws.close_code] += 1


async def send_poisson(
    clients: list[Client], load: Load, args: argparse.Namespace, rng: random.Random
) -> None:
    """Send from random clients at Poisson times; the first --warmup seconds are not measured."""
    perf = time.perf_counter
    start = perf()
    measure_from, end = start + args.warmup, start + args.warmup + args.duration
    at = start
    while True:
        at += rng.expovariate(args.rate)
        if at >= end:
            return
        delay = at - perf()
        if delay > 0:
            await asyncio.sleep(delay)
        client = rng.choice(clients)
        if client.ws is None or client.reader is None or client.reader.done():
            continue
        send_id = len(load.sent_at)
        frame = json.dumps(
            {"type": "send", "content": f"bench {send_id} {FILLER}", "client_msg_id": f"b{send_id}"}
        )
        now = perf()
        load.send_lag.append(now - at)
        load.sent_at.append(now)
        load.expected.append(load.members[client.room])
        load.outstanding += load.members[client.room] + 1  # + the sender's ack
        load.received.append(0)
        load.measured.append(now >= measure_from)
        await client.ws.send(frame)


async def drain(load: Load) -> bool:
    """Wait for every message at every member and every ack; False if some were still missing
    after DRAIN_TIMEOUT_S (they count as never delivered)."""
    load.sending = False
    if load.outstanding <= 0:
        return True
    try:
        async with asyncio.timeout(DRAIN_TIMEOUT_S):
            await load.drained.wait()
    except TimeoutError:
        return False
    return True


@dataclass
class RoundResult:
    """What one round measured."""

    system: str
    latencies: list[float]
    sends: int
    expected: int
    received: int
    dropped: Counter[int | None]
    send_lag_p99: float
    cpu: dict[str, float]
    grpc: dict[str, Any] | None
    drained: bool = True

    @property
    def missing(self) -> int:
        """Receipts of measured sends that never arrived."""
        return self.expected - self.received

    def judged(self) -> list[float]:
        """Latencies with each missing receipt as infinitely late: a message that never arrived
        is a failure, not a sample left out of the percentiles."""
        return sorted(self.latencies + [math.inf] * self.missing)


async def run_round(system: str, args: argparse.Namespace, seed: int) -> RoundResult:
    """Start `system`, connect everyone, send for warm-up + duration, collect, stop."""
    start = baseline if system == "baseline" else chimera
    with tempfile.TemporaryDirectory(prefix=f"bench-fanout-{system}-") as tmp:
        async with start(args, Path(tmp)) as target:
            load = Load(args.rooms)
            clients = [
                Client(url, token, i % args.rooms)
                for i, (url, token) in enumerate(zip(target.urls, target.tokens, strict=True))
            ]
            await benchlib.gather_limited(
                [connect(c, load, args.deflate) for c in clients], CONNECT_CONCURRENCY
            )
            await benchlib.settle(load, SETTLE_TIMEOUT_S)
            before = await target.counts() if target.counts else None
            # The load generator's own collector pauses would land in every system's tail.
            with benchlib.gc_paused():
                meter = benchlib.CpuWindow(await target.processes())
                await send_poisson(clients, load, args, random.Random(seed))
                drained = await drain(load)
            used, window = meter.stop(await target.processes(), "loadgen")
            # As shares of the window, this process first.
            cpu = {"loadgen": used.pop("loadgen") / window}
            cpu.update((name, seconds / window) for name, seconds in used.items())
            after = await target.counts() if target.counts else None
            load.closing = True
            await benchlib.gather_limited([c.ws.close() for c in clients if c.ws], 100)
            await asyncio.gather(*(c.reader for c in clients if c.reader), return_exceptions=True)
    measured = [i for i, m in enumerate(load.measured) if m]
    return RoundResult(
        system=system,
        latencies=load.latencies,
        sends=len(measured),
        expected=sum(load.expected[i] for i in measured),
        received=sum(load.received[i] for i in measured),
        dropped=load.dropped,
        send_lag_p99=benchlib.percentile(sorted(load.send_lag), 0.99),
        cpu=cpu,
        grpc=grpc_delta(before, after) if before and after else None,
        drained=drained,
    )


def grpc_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """RoomSession events the room service yielded between two snapshots, per message stored."""
    events = {k: after["events"].get(k, 0) - before["events"].get(k, 0) for k in after["events"]}
    messages = after["messages"] - before["messages"]
    return {
        "messages": messages,
        "message_events": events.get("message", 0),
        "all_events": sum(events.values()),
        "events": {k: v for k, v in events.items() if v},
        "streams_per_room": sorted(set(after["streams"].values())),
        "history_calls": after["history_calls"] - before["history_calls"],
        "post_s": after["post_s"],  # every Rooms.post between the snapshots
    }


# --- report --------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return "  never  " if math.isinf(seconds) else f"{seconds * 1000:7.2f} ms"


def report_round(n: int, r: RoundResult) -> None:
    ordered = r.judged()
    cpu = "  ".join(f"{name} {share:.0%}" for name, share in r.cpu.items())
    lost = r.expected - r.received
    dropped = f"  sockets dropped {dict(r.dropped)}" if r.dropped else ""
    if r.grpc:
        post = sorted(r.grpc["post_s"])
        dropped += f"  room post p50 {ms(benchlib.percentile(post, 0.5))} p99 {ms(benchlib.percentile(post, 0.99))}"
    missing = f" ({lost} missing{'' if r.drained else ', drain timed out'})" if lost else ""
    print(
        f"round {n} {r.system:8}  sends {r.sends:5}  receipts {r.received}/{r.expected}{missing}"
        f"  p50 {ms(benchlib.percentile(ordered, 0.5))}  p99 {ms(benchlib.percentile(ordered, 0.99))}"
        f"  send lag p99 {ms(r.send_lag_p99)}  cpu: {cpu}{dropped}",
        flush=True,
    )


def report(results: list[RoundResult], args: argparse.Namespace) -> None:
    pooled = {
        s: sorted(x for r in results if r.system == s for x in r.judged())
        for s in ("baseline", "chimera")
    }
    p = {s: (benchlib.percentile(v, 0.5), benchlib.percentile(v, 0.99)) for s, v in pooled.items()}
    print(f"\nAll measured receipts, pooled over {args.rounds} rounds each:")
    print(f"  {'':10} {'p50':>10} {'p99':>10}  receipts")
    for s in ("baseline", "chimera"):
        print(f"  {s:10} {ms(p[s][0]):>10} {ms(p[s][1]):>10}  {len(pooled[s])}")
    ratio50, ratio99 = p["chimera"][0] / p["baseline"][0], p["chimera"][1] / p["baseline"][1]
    print(f"  {'ratio':10} {ratio50:>9.2f}x {ratio99:>9.2f}x")
    by_pair = {(r.system, n): r for n, r in enumerate_pairs(results)}
    pairs = [
        benchlib.percentile(by_pair["chimera", n].judged(), 0.99)
        / benchlib.percentile(by_pair["baseline", n].judged(), 0.99)
        for n in range(args.rounds)
    ]
    print(f"  p99 ratio per round pair: {', '.join(f'{x:.2f}x' for x in pairs)}")
    lost = {s: sum(r.missing for r in results if r.system == s) for s in ("baseline", "chimera")}
    if any(lost.values()):
        print(f"  receipts that never arrived (counted as infinitely late): {lost}")
    verdict = "meets" if ratio99 <= TARGET_RATIO and not lost["chimera"] else "MISSES"
    aim = "meets" if ratio99 <= AIM_RATIO else "misses"
    print(
        f"\np99 ratio {ratio99:.2f}x: {verdict} the target (<= {TARGET_RATIO}x), "
        f"{aim} the aim ({AIM_RATIO}x)"
    )
    ok = "meets" if p["chimera"][1] <= TARGET_P99_S else "MISSES"
    limit = TARGET_P99_S * 1000
    print(f"Chimera p99 {p['chimera'][1] * 1000:.1f} ms: {ok} the target (<= {limit:.0f} ms)")
    grpc = [r.grpc for r in results if r.grpc]
    if grpc:
        messages = sum(g["messages"] for g in grpc)
        per_event = sum(g["message_events"] for g in grpc) / messages
        all_per_event = sum(g["all_events"] for g in grpc) / messages
        streams = sorted({s for g in grpc for s in g["streams_per_room"]})
        history = sum(g["history_calls"] for g in grpc)
        expected = args.gateways
        ok = "meets" if streams == [expected] and abs(per_event - expected) < 1e-9 else "MISSES"
        print(
            f"gRPC messages per room event: {per_event:.2f} (message events yielded per stored "
            f"message, {messages} messages; RoomSession streams per room: {streams} with "
            f"{args.gateways} gateway(s), {args.clients // args.rooms} members per room): "
            f"{ok} the target (= gateway streams per room = {expected})"
        )
        kinds = sum((Counter(g["events"]) for g in grpc), Counter())
        print(
            f"  all RoomSession events in the window: {all_per_event:.2f} per message "
            f"({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}); "
            f"LoadHistory calls: {history}"
        )
        print(
            "  measured in the room service process: a wrapper around RoomServicer.RoomSession "
            "counts what each stream yields"
        )
        post = sorted(x for g in grpc for x in g["post_s"])
        print(
            f"Room service time per send (Rooms.post: validate, wait for the room lock, commit, "
            f"queue to streams): p50 {ms(benchlib.percentile(post, 0.5))}  p99 {ms(benchlib.percentile(post, 0.99))}"
        )
    busy = max(r.cpu["others"] for r in results)
    lag = max(r.send_lag_p99 for r in results)
    if busy > BUSY_OTHERS or lag > BUSY_SEND_LAG_S:
        print(
            f"\nWARNING: the machine was busy (other processes up to {busy:.0%} of a CPU, "
            f"load-generator send lag p99 up to {lag * 1000:.0f} ms): absolute figures and "
            f"ratios are unreliable; rerun on a quiet machine."
        )


ORDERS = (("baseline", "chimera"), ("chimera", "baseline"))


def enumerate_pairs(results: list[RoundResult]) -> list[tuple[int, RoundResult]]:
    """Each result with the index of its round pair (two results per pair, either order)."""
    return [(i // 2, r) for i, r in enumerate(results)]


# --- entry point ---------------------------------------------------------------------------------


async def bench(args: argparse.Namespace) -> None:
    print(f"Fan-out latency, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {benchlib.machine()}")
    print(
        f"{args.clients} clients in {args.rooms} rooms, Poisson sends at {args.rate:g}/s in all, "
        f"{args.warmup:g} s warm-up + {args.duration:g} s measured per round, "
        f"{args.rounds} rounds each, "
        f"alternating with the first rotating; Chimera on {args.db} with {args.gateways} gateway(s); permessage-deflate "
        f"{'on' if args.deflate else 'off'}",
        flush=True,
    )
    results: list[RoundResult] = []
    for pair in range(args.rounds):
        # Who goes first rotates, so neither always runs on a machine just warmed (or tired).
        for system in ORDERS[pair % 2]:
            result = await run_round(system, args, args.seed + pair)  # same send schedule in a pair
            results.append(result)
            report_round(pair + 1, result)
    report(results, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument(
        "--rate", type=float, default=50.0, help="sends per second, all clients together"
    )
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per round")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="unmeasured seconds of sends first"
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds per system, alternating")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--gateways", type=int, default=1, help="Chimera gateway processes")
    parser.add_argument(
        "--deflate", action="store_true", help="clients offer permessage-deflate, as browsers do"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--role", choices=["baseline", "room"], help=argparse.SUPPRESS)
    parser.add_argument("--stats", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "baseline":
        serve_baseline()
    elif args.role == "room":
        serve_counting_room(args.stats)
    else:
        benchlib.raise_open_files(2 * args.clients + 1024)
        # The servers run on uvloop (uvicorn's default when installed); so does the load generator.
        benchlib.run_like_servers(bench(args))


if __name__ == "__main__":
    main()
