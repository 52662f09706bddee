"""`chimera up`: the LLM node, the TTS node, the room service and the gateway as processes.

A flag left out falls back to the services' own settings (CHIMERA_* from the environment, else
the settings classes' defaults); the children get their configuration through the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from services.cli.supervisor import Child, base_env, supervise
from services.common.log import setup_logging
from services.common.net import free_ports, grpc_serving, http_ok
from services.gateway.config import GatewaySettings
from services.llm_node.config import LlmSettings
from services.tts_node.config import TtsSettings

ROOM_SERVICE = "chimera.v1.RoomService"
LLM_SERVICE = "chimera.v1.LlmService"
TTS_SERVICE = "chimera.v1.TtsService"
INTERNAL_HOST = "127.0.0.1"  # the room service and the model nodes are reached on loopback only

logger = logging.getLogger("chimera.up")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `chimera up` and its flags to the `chimera` parser."""
    up = sub.add_parser(
        "up", help="run the whole stack (gateway, room service, LLM and TTS nodes) until Ctrl-C"
    )
    # No defaults for the flags that are settings: `settings` takes them from the classes.
    up.add_argument("--host", help="gateway host")
    up.add_argument("--port", type=int, help="gateway port")
    up.add_argument("--data-dir", help="where data lives")
    up.add_argument(
        "--room-port", type=int, default=0, help="room service gRPC port (default: a free one)"
    )
    up.add_argument(
        "--llm-port", type=int, default=0, help="LLM node gRPC port (default: a free one)"
    )
    up.add_argument(
        "--models",
        help="model registry TOML (default: the one shipped in services/llm_node/models.toml)",
    )
    up.add_argument(
        "--tts-port", type=int, default=0, help="TTS node gRPC port (default: a free one)"
    )
    up.add_argument(
        "--voices",
        help="voice registry TOML (default: the one shipped in services/tts_node/voices.toml)",
    )
    up.set_defaults(func=run)


def settings(args: argparse.Namespace) -> tuple[GatewaySettings, LlmSettings]:
    """The gateway's and the LLM node's settings, with the flags given on top."""
    flags = {"host": args.host, "port": args.port, "data_dir": args.data_dir}
    given: dict[str, Any] = {name: value for name, value in flags.items() if value is not None}
    models: dict[str, Any] = {"models": args.models} if args.models else {}
    return GatewaySettings(**given), LlmSettings(**models)


def tts_settings(args: argparse.Namespace) -> TtsSettings:
    """The TTS node's settings, with `--voices` on top."""
    return TtsSettings(**({"voices": args.voices} if args.voices else {}))


def plan(
    *,
    host: str,
    port: int,
    data_dir: Path,
    models: Path,
    voices: Path,
    room_port: int = 0,
    llm_port: int = 0,
    tts_port: int = 0,
) -> tuple[list[Child], str]:
    """The children to start, in order, and the URL to print; a port of 0 means a free one."""
    # Internal ports left to us are free ones, never the gateway's nor each other's.
    chosen = [room_port, llm_port, tts_port]
    free = iter(free_ports(INTERNAL_HOST, chosen.count(0), avoid={port, *chosen}))
    room_port = room_port or next(free)
    room_addr = f"{INTERNAL_HOST}:{room_port}"
    llm_port = llm_port or next(free)
    llm_addr = f"{INTERNAL_HOST}:{llm_port}"
    tts_port = tts_port or next(free)
    tts_addr = f"{INTERNAL_HOST}:{tts_port}"
    env = base_env(
        {
            "CHIMERA_MODELS": str(models),
            "CHIMERA_VOICES": str(voices),
            "CHIMERA_DATA_DIR": str(data_dir),
            "CHIMERA_ROOM_HOST": INTERNAL_HOST,
            "CHIMERA_ROOM_PORT": str(room_port),
            "CHIMERA_ROOM_ADDR": room_addr,
            "CHIMERA_LLM_HOST": INTERNAL_HOST,
            "CHIMERA_LLM_PORT": str(llm_port),
            "CHIMERA_LLM_ADDR": llm_addr,
            # Every service is told where the TTS node is; the room and gateway reach it there.
            "CHIMERA_TTS_HOST": INTERNAL_HOST,
            "CHIMERA_TTS_PORT": str(tts_port),
            "CHIMERA_TTS_ADDR": tts_addr,
            "CHIMERA_HOST": host,
            "CHIMERA_PORT": str(port),
        }
    )
    shown_host = INTERNAL_HOST if host in ("0.0.0.0", "") else host
    url = f"http://{shown_host}:{port}"
    children = [
        Child("llm node", "services.llm_node", lambda: grpc_serving(llm_addr, LLM_SERVICE), env),
        Child("tts node", "services.tts_node", lambda: grpc_serving(tts_addr, TTS_SERVICE), env),
        Child("room service", "services.room", lambda: grpc_serving(room_addr, ROOM_SERVICE), env),
        Child("gateway", "services.gateway", lambda: http_ok(f"{url}/readyz"), env),
    ]
    return children, url


def run(args: argparse.Namespace) -> int:
    """Start the stack and supervise it until SIGINT or SIGTERM; the exit status."""
    try:
        gateway, llm = settings(args)
        tts = tts_settings(args)
    except ValidationError as exc:
        for error in exc.errors():
            name = "CHIMERA_" + "_".join(str(part) for part in error["loc"]).upper()
            print(f"chimera up: {name}: {error['msg']}", file=sys.stderr)
        return 2
    # The registries are checked first: a missing one starts nothing and creates nothing.
    models = llm.models.resolve()
    if not models.is_file():
        print(f"chimera up: model registry {models} does not exist", file=sys.stderr)
        return 2
    voices = tts.voices.resolve()
    if not voices.is_file():
        print(f"chimera up: voice registry {voices} does not exist", file=sys.stderr)
        return 2
    setup_logging("up", gateway.log_level)
    data_dir = gateway.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    children, url = plan(
        host=gateway.host,
        port=gateway.port,
        data_dir=data_dir,
        models=models,
        voices=voices,
        room_port=args.room_port,
        llm_port=args.llm_port,
        tts_port=args.tts_port,
    )
    logger.info("data directory: %s", data_dir)
    return asyncio.run(supervise(children, url))
