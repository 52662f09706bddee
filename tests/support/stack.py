"""Real service processes for integration tests: a room service and gateways on free ports."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from services.common.grpc_security import SECRET_FILE, GrpcSecurity, open_channel
from services.common.net import free_port, grpc_serving, http_ok
from services.common.pb import llm_pb2
from services.common.pb.llm_pb2_grpc import LlmServiceStub

READY_TIMEOUT_S = 60.0
ROOM_SERVICE = "chimera.v1.RoomService"
LLM_SERVICE = "chimera.v1.LlmService"
TTS_SERVICE = "chimera.v1.TtsService"


@dataclass
class ServiceProcess:
    """One `python -m <module>` child with its own env and log file."""

    name: str
    module: str
    env: dict[str, str]
    log_path: Path
    process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Spawn the process (logs appended to `log_path`)."""
        log = self.log_path.open("ab")
        try:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", self.module, env=self.env, stdout=log, stderr=log
            )
        finally:
            log.close()

    async def wait_ready(self, probe) -> None:  # type: ignore[no-untyped-def]
        """Wait until `probe()` is true; fail with the log if the process dies or times out."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not await probe():
            assert self.process is not None
            if self.process.returncode is not None:
                raise RuntimeError(
                    f"{self.name} exited {self.process.returncode}:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} not ready in {READY_TIMEOUT_S} s:\n{self.log_tail()}"
                )
            await asyncio.sleep(0.05)

    def log_tail(self, lines: int = 40) -> str:
        """The end of the process log, for failure messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    async def signal(self, sig: int) -> int:
        """Send `sig` and wait for the process to exit; return its exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)
        async with asyncio.timeout(30):
            return await self.process.wait()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None


@dataclass
class Stack:
    """A room service plus any number of gateways, all real processes on loopback."""

    workdir: Path
    database_url: str
    env_extra: dict[str, str] = field(default_factory=dict)
    room_port: int = field(default_factory=lambda: free_port("127.0.0.1"))
    llm_port: int = field(default_factory=lambda: free_port("127.0.0.1"))
    tts_port: int = field(default_factory=lambda: free_port("127.0.0.1"))
    llm: ServiceProcess | None = None
    tts: ServiceProcess | None = None
    room: ServiceProcess | None = None
    gateways: list[ServiceProcess] = field(default_factory=list)
    gateway_ports: list[int] = field(default_factory=list)

    def _env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHIMERA_")}
        env.update(
            CHIMERA_DATA_DIR=str(self.workdir / "data"),
            CHIMERA_DATABASE_URL=self.database_url,
            CHIMERA_ROOM_HOST="127.0.0.1",
            CHIMERA_ROOM_PORT=str(self.room_port),
            CHIMERA_ROOM_ADDR=f"127.0.0.1:{self.room_port}",
            CHIMERA_LLM_HOST="127.0.0.1",
            CHIMERA_LLM_PORT=str(self.llm_port),
            CHIMERA_LLM_ADDR=f"127.0.0.1:{self.llm_port}",
            CHIMERA_TTS_HOST="127.0.0.1",
            CHIMERA_TTS_PORT=str(self.tts_port),
            CHIMERA_TTS_ADDR=f"127.0.0.1:{self.tts_port}",
            CHIMERA_SHUTDOWN_GRACE_S="5",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.env_extra)
        env.update(extra)
        return env

    @property
    def room_addr(self) -> str:
        return f"127.0.0.1:{self.room_port}"

    def channel(self, address: str) -> grpc.aio.Channel:
        """A channel to one of the stack's services, carrying its internal secret."""
        secret = (self.workdir / "data" / SECRET_FILE).read_text().strip()
        return open_channel(address, GrpcSecurity(secret=secret))

    def base_url(self, index: int = 0) -> str:
        return f"http://127.0.0.1:{self.gateway_ports[index]}"

    def ws_url(self, room_id: str, index: int = 0) -> str:
        return f"ws://127.0.0.1:{self.gateway_ports[index]}/ws/room/{room_id}"

    async def start_room(self) -> None:
        """Start (or restart) the room service and wait until it serves."""
        self.room = ServiceProcess("room", "services.room", self._env(), self.workdir / "room.log")
        await self.room.start()
        await self.room.wait_ready(lambda: grpc_serving(self.room_addr, ROOM_SERVICE))

    async def start_llm(self, models: Path) -> None:
        """Start (or restart) the LLM node with the registry file `models`."""
        self.llm = ServiceProcess(
            "llm",
            "services.llm_node",
            self._env(CHIMERA_MODELS=str(models)),
            self.workdir / "llm.log",
        )
        await self.llm.start()
        await self.llm.wait_ready(lambda: grpc_serving(f"127.0.0.1:{self.llm_port}", LLM_SERVICE))

    async def start_tts(self, voices: Path) -> None:
        """Start (or restart) the TTS node with the voice registry file `voices`."""
        self.tts = ServiceProcess(
            "tts",
            "services.tts_node",
            self._env(CHIMERA_VOICES=str(voices)),
            self.workdir / "tts.log",
        )
        await self.tts.start()
        await self.tts.wait_ready(lambda: grpc_serving(f"127.0.0.1:{self.tts_port}", TTS_SERVICE))

    async def add_gateway(self, **env: str) -> int:
        """Start one more gateway, with `env` over the stack's settings; return its index."""
        port = free_port("127.0.0.1")
        index = len(self.gateways)
        gateway = ServiceProcess(
            f"gateway{index}",
            "services.gateway",
            self._env(**env, CHIMERA_PORT=str(port), CHIMERA_HOST="127.0.0.1"),
            self.workdir / f"gateway{index}.log",
        )
        await gateway.start()
        self.gateways.append(gateway)
        self.gateway_ports.append(port)
        await gateway.wait_ready(lambda: http_ok(f"http://127.0.0.1:{port}/healthz"))
        return index

    async def start(self, gateways: int = 1) -> Stack:
        """Room service first, then the gateways."""
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        await self.start_room()
        for _ in range(gateways):
            await self.add_gateway()
        return self

    async def kill_room(self) -> None:
        """SIGKILL the room service: no shutdown path runs."""
        assert self.room is not None
        await self.room.signal(signal.SIGKILL)

    async def stop(self) -> None:
        """SIGTERM everything that still runs."""
        for process in [*self.gateways, self.room, self.llm, self.tts]:
            if process is not None and process.running:
                try:
                    await process.signal(signal.SIGTERM)
                except TimeoutError:
                    await process.signal(signal.SIGKILL)

    def logs(self) -> str:
        """Every process's log tail, for failure messages."""
        parts = [p for p in [self.room, self.llm, self.tts, *self.gateways] if p is not None]
        return "\n".join(f"--- {p.name}\n{p.log_tail()}" for p in parts)


async def wait_models_started(
    stack: Stack, timeout: float = READY_TIMEOUT_S
) -> list[llm_pb2.ModelInfo]:
    """Wait until the stack's LLM node has tried to start every model; return its ModelInfos.

    The node serves at once and starts its models in the background ("starting" until then).
    """
    assert stack.llm is not None
    deadline = time.monotonic() + timeout
    async with stack.channel(f"127.0.0.1:{stack.llm_port}") as channel:
        stub = LlmServiceStub(channel)
        while True:
            reply = await stub.ListModels(llm_pb2.ListModelsRequest(), timeout=10)
            if all(m.available or m.reason != "starting" for m in reply.models):
                return list(reply.models)
            if not stack.llm.running or time.monotonic() > deadline:
                raise RuntimeError(f"LLM node models did not start:\n{stack.llm.log_tail()}")
            await asyncio.sleep(0.05)
