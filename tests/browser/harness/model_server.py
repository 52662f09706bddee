"""The browser tests' model: the fake OpenAI server, paced, telling what it saw.

    PYTHONPATH=. python tests/browser/harness/model_server.py --tokens 600 --tokens-per-second 8

Prints its base URL (ending in /v1) as the first line of stdout, then one line per stream the
client hung up on. GET /_stats answers what the fake recorded (streams completed, disconnects,
tokens sent, streams open), so that a test can tell the backend's stream was really closed.
Stops on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncGenerator
from contextlib import aclosing

from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from tests.support.providers import FakeProvider
from tests.support.providers._serve import RawApp, serve
from tests.support.providers.openai import create_app


class ReportingProvider(FakeProvider):
    """A FakeProvider that prints a line whenever a client closes a stream before its end."""

    async def stream(self, tokens: list[str]) -> AsyncGenerator[str, None]:
        before, sent = self.disconnects, 0
        try:
            async with aclosing(super().stream(tokens)) as inner:
                async for token in inner:
                    sent += 1
                    yield token
        finally:
            if self.disconnects > before:
                print(f"model: client closed the stream after {sent} tokens", flush=True)

    def stats(self) -> dict[str, int]:
        """What the fake saw so far."""
        return {
            "requests": len(self.requests),
            "streams_completed": self.streams_completed,
            "disconnects": self.disconnects,
            "open_streams": self.open_streams,
            "tokens_sent": self.tokens_sent,
        }


def with_stats(app: RawApp, provider: ReportingProvider) -> RawApp:
    """Answer GET /_stats with the provider's record; everything else goes to `app`."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> object:
        if scope["type"] == "http" and scope["path"] == "/_stats":
            await JSONResponse(provider.stats())(scope, receive, send)
            return None
        return await app(scope, receive, send)

    return wrapped


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tokens", type=int, default=600, help='answer "w0 w1 ... wN-1"')
    parser.add_argument("--tokens-per-second", type=float, default=8.0)
    return parser.parse_args(argv)


async def main(args: argparse.Namespace) -> None:
    """Serve until SIGINT or SIGTERM."""
    provider = ReportingProvider(
        tokens=[f"{' ' if i else ''}w{i}" for i in range(args.tokens)],
        tokens_per_second=args.tokens_per_second,
    )
    app = with_stats(create_app(provider), provider)
    async with serve(app, provider, host=args.host, port=args.port) as url:
        provider.base_url = f"{url}/v1"
        print(provider.base_url, flush=True)
        await provider.server_stopped.wait()


if __name__ == "__main__":
    try:
        asyncio.run(main(parse_args()))
    except KeyboardInterrupt:
        sys.exit(0)
