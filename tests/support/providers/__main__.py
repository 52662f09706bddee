"""Run a fake provider as its own process; print its base URL as the first line of stdout.

    python -m tests.support.providers openai --port 0 --text "Hi there" --tokens-per-second 50

Flags:
  openai | anthropic        the wire format (base URL: http://HOST:PORT/v1 | http://HOST:PORT)
  --host HOST               address to bind (default 127.0.0.1)
  --port PORT               port to bind; 0 picks a free one (default 0)
  --text TEXT               the answer, streamed a word at a time (default: a short sentence)
  --tokens N                answer with N numbered words instead ("w0 w1 ... wN-1")
  --tokens-per-second R     pace the stream; unpaced when omitted
  --api-key KEY             require this key (401 otherwise)
  --fail STATUS|drop        fail the next generation request so (repeatable, in order)
  --fail-after-tokens N     break every stream after N tokens
  --fail-mid-stream MODE    how: "drop" the connection (default) or send an "error" event
  --no-models               answer GET /v1/models with 404
Stops on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from tests.support.providers.anthropic import anthropic_server
from tests.support.providers.openai import openai_server

SERVERS = {"openai": openai_server, "anthropic": anthropic_server}


def _failure(value: str) -> int | str:
    return value if value == "drop" else int(value)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, as documented in this module's docstring."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.providers", description=__doc__.splitlines()[0]
    )
    parser.add_argument("wire", choices=sorted(SERVERS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    answer = parser.add_mutually_exclusive_group()
    answer.add_argument("--text")
    answer.add_argument("--tokens", type=int)
    parser.add_argument("--tokens-per-second", type=float)
    parser.add_argument("--api-key")
    parser.add_argument("--fail", type=_failure, action="append", default=[])
    parser.add_argument("--fail-after-tokens", type=int)
    parser.add_argument("--fail-mid-stream", choices=["drop", "error"], default="drop")
    parser.add_argument("--no-models", action="store_true")
    return parser.parse_args(argv)


async def main(args: argparse.Namespace) -> None:
    """Serve until SIGINT or SIGTERM, which uvicorn turns into a graceful stop."""
    script: dict[str, object] = {
        "tokens_per_second": args.tokens_per_second,
        "api_key": args.api_key,
        "failures": args.fail,
        "fail_after_tokens": args.fail_after_tokens,
        "fail_mid_stream": args.fail_mid_stream,
        "list_models": not args.no_models,
    }
    if args.text is not None:
        script["text"] = args.text
    if args.tokens is not None:
        script["tokens"] = [f"{' ' if i else ''}w{i}" for i in range(args.tokens)]
    async with SERVERS[args.wire](host=args.host, port=args.port, **script) as srv:
        print(srv.base_url, flush=True)
        await srv.server_stopped.wait()


if __name__ == "__main__":
    try:
        asyncio.run(main(parse_args()))
    except KeyboardInterrupt:  # uvicorn re-raises the SIGINT it stopped on
        sys.exit(0)
