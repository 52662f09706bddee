"""The `chimera` command: `up` runs the whole stack; `room`, `llm` and `gateway` run one service;
`admin` manages accounts."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from services.common.log import setup_logging
from services.common.supervisor import Child, base_env, free_ports, grpc_serving, http_ok, supervise

ROOM_SERVICE = "chimera.v1.RoomService"
LLM_SERVICE = "chimera.v1.LlmService"


def _up(args: argparse.Namespace) -> int:
    setup_logging("up", os.environ.get("CHIMERA_LOG_LEVEL", "INFO"))
    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    # Internal ports left to us are free ones, never the gateway's nor each other's.
    chosen = [args.room_port, args.llm_port]
    free = iter(free_ports("127.0.0.1", chosen.count(0), avoid={args.port, *chosen}))
    room_port = args.room_port or next(free)
    room_addr = f"127.0.0.1:{room_port}"
    llm_port = args.llm_port or next(free)
    llm_addr = f"127.0.0.1:{llm_port}"
    overrides = {}
    if args.models:
        models = Path(args.models).resolve()
        if not models.is_file():
            print(f"chimera up: model registry {models} does not exist", file=sys.stderr)
            return 2
        overrides["CHIMERA_MODELS"] = str(models)
    env = base_env(
        overrides
        | {
            "CHIMERA_DATA_DIR": str(data_dir),
            "CHIMERA_ROOM_HOST": "127.0.0.1",
            "CHIMERA_ROOM_PORT": str(room_port),
            "CHIMERA_ROOM_ADDR": room_addr,
            "CHIMERA_LLM_HOST": "127.0.0.1",
            "CHIMERA_LLM_PORT": str(llm_port),
            "CHIMERA_LLM_ADDR": llm_addr,
            "CHIMERA_HOST": args.host,
            "CHIMERA_PORT": str(args.port),
        }
    )
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host
    url = f"http://{shown_host}:{args.port}"
    children = [
        Child("llm node", "services.llm_node", lambda: grpc_serving(llm_addr, LLM_SERVICE), env),
        Child("room service", "services.room", lambda: grpc_serving(room_addr, ROOM_SERVICE), env),
        Child("gateway", "services.gateway", lambda: http_ok(f"{url}/readyz"), env),
    ]
    logging.getLogger("chimera.up").info("data directory: %s", data_dir)
    return asyncio.run(supervise(children, url))


def _room(args: argparse.Namespace) -> int:
    from services.room.server import main

    main()
    return 0


def _llm(args: argparse.Namespace) -> int:
    from services.llm_node.server import main

    main()
    return 0


def _gateway(args: argparse.Namespace) -> int:
    from services.gateway.server import main

    main()
    return 0


def _admin(args: argparse.Namespace) -> int:
    from services.room.admin import run

    return run(args)


def _add_admin(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    admin = sub.add_parser(
        "admin",
        help="manage accounts on the database directly (works before the services run)",
        description="Works on the room service's database (CHIMERA_DATABASE_URL or the data "
        "dir's SQLite file), migrating it first. What it disables or ends fails at once; a "
        "running room service closes the open WebSockets too.",
    )
    admin.add_argument("--data-dir", help="where data lives (default: CHIMERA_DATA_DIR or ./data)")
    commands = admin.add_subparsers(dest="admin_command", required=True)
    for name, help_text in (
        ("create-admin", "create an administrator, or make an existing account one"),
        ("reset-password", "set a new password; the account's sessions end"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--username", required=True)
        command.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from the first line of stdin instead of prompting",
        )
    listing = commands.add_parser("list-users", help="list accounts, newest first")
    listing.add_argument("--limit", type=int, default=1000)
    for name, help_text in (
        ("disable", "disable an account: every credential fails"),
        ("enable", "enable a disabled account"),
    ):
        commands.add_parser(name, help=help_text).add_argument("--username", required=True)
    admin.set_defaults(func=_admin)


def build_parser() -> argparse.ArgumentParser:
    """The `chimera` argument parser."""
    parser = argparse.ArgumentParser(
        prog="chimera", description="Chimera: rooms for people and AI personas."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser(
        "up", help="run the whole stack (gateway, room service, LLM node) until Ctrl-C"
    )
    up.add_argument(
        "--host", default=os.environ.get("CHIMERA_HOST", "127.0.0.1"), help="gateway host"
    )
    up.add_argument(
        "--port", type=int, default=int(os.environ.get("CHIMERA_PORT", "8000")), help="gateway port"
    )
    up.add_argument(
        "--data-dir", default=os.environ.get("CHIMERA_DATA_DIR", "./data"), help="where data lives"
    )
    up.add_argument(
        "--room-port", type=int, default=0, help="room service gRPC port (default: a free one)"
    )
    up.add_argument(
        "--llm-port", type=int, default=0, help="LLM node gRPC port (default: a free one)"
    )
    up.add_argument(
        "--models",
        default=os.environ.get("CHIMERA_MODELS"),
        help="model registry TOML (default: the one shipped in services/llm_node/models.toml)",
    )
    up.set_defaults(func=_up)
    sub.add_parser(
        "room", help="run the room service alone (settings from CHIMERA_* env)"
    ).set_defaults(func=_room)
    sub.add_parser(
        "llm", help="run the LLM node alone (settings from CHIMERA_* env; CHIMERA_MODELS)"
    ).set_defaults(func=_llm)
    sub.add_parser(
        "gateway", help="run the gateway alone (settings from CHIMERA_* env)"
    ).set_defaults(func=_gateway)
    _add_admin(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `chimera` console script."""
    args = build_parser().parse_args(argv)
    sys.exit(args.func(args))
