"""The `chimera` argument parser and the entry point of the console script."""

from __future__ import annotations

import argparse
import sys

from services.cli import admin, up


def _room(args: argparse.Namespace) -> int:
    from services.room.server import main

    main()
    return 0


def _llm(args: argparse.Namespace) -> int:
    from services.llm_node.server import main

    main()
    return 0


def _tts(args: argparse.Namespace) -> int:
    from services.tts_node.server import main

    main()
    return 0


def _image(args: argparse.Namespace) -> int:
    from services.image_node.server import main

    main()
    return 0


def _gateway(args: argparse.Namespace) -> int:
    from services.gateway.server import main

    main()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The `chimera` argument parser."""
    parser = argparse.ArgumentParser(
        prog="chimera", description="Chimera: rooms for people and AI personas."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up.add_parser(sub)
    # Each service's modules load only when that service is the one run.
    sub.add_parser(
        "room", help="run the room service alone (settings from CHIMERA_* env)"
    ).set_defaults(func=_room)
    sub.add_parser(
        "llm", help="run the LLM node alone (settings from CHIMERA_* env; CHIMERA_MODELS)"
    ).set_defaults(func=_llm)
    sub.add_parser(
        "tts", help="run the TTS node alone (settings from CHIMERA_* env; CHIMERA_VOICES)"
    ).set_defaults(func=_tts)
    sub.add_parser(
        "image",
        help="run the image node alone (settings from CHIMERA_* env; CHIMERA_IMAGE_MODELS)",
    ).set_defaults(func=_image)
    sub.add_parser(
        "gateway", help="run the gateway alone (settings from CHIMERA_* env)"
    ).set_defaults(func=_gateway)
    admin.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `chimera` console script."""
    args = build_parser().parse_args(argv)
    sys.exit(args.func(args))
