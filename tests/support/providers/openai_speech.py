"""A fake OpenAI speech server (`POST /v1/audio/speech`) speaking the real wire format.

    async with openai_speech_server(seconds=1.0) as srv:
        client = AsyncOpenAI(base_url=srv.base_url, api_key="x")

It answers `response_format: "pcm"` with 24 kHz 16-bit mono PCM (a tone `seconds` long, scaled
by `speed`), sent in `chunk_ms` pieces `chunk_delay_s` apart, and records what it was sent.
`failures` answers the next requests with those HTTP statuses, in order.
"""

from __future__ import annotations

import asyncio
import math
from array import array
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route, Router

from tests.support.providers._script import FakeProvider
from tests.support.providers._serve import RawApp, json_body, serve, with_hang_ups
from tests.support.providers.openai import error_response

SAMPLE_RATE = 24_000


class FakeSpeech(FakeProvider):
    """The script of the speech server and the record of what it saw."""

    def __init__(
        self,
        *,
        seconds: float = 0.5,
        chunk_ms: int = 100,
        chunk_delay_s: float = 0.0,
        failures: Sequence[int] = (),
        api_key: str | None = None,
    ) -> None:
        super().__init__(failures=failures, api_key=api_key)
        self.seconds = seconds
        self.chunk_ms = chunk_ms
        self.chunk_delay_s = chunk_delay_s

    def pcm(self, speed: float) -> bytes:
        """The whole answer: a 440 Hz tone, `seconds / speed` long."""
        samples = round(self.seconds / speed * SAMPLE_RATE)
        step = 2 * math.pi * 440 / SAMPLE_RATE
        return array("h", (round(8000 * math.sin(step * n)) for n in range(samples))).tobytes()


def create_app(provider: FakeSpeech) -> RawApp:
    """The route: POST /v1/audio/speech."""

    async def speech(request: Request) -> Response:
        body = await json_body(request)
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        status = provider.admit(request.url.path, dict(request.headers), body, key)
        if status is not None:
            return error_response(status)
        if body.get("response_format") != "pcm":
            return error_response(400)
        pcm = provider.pcm(float(body.get("speed") or 1.0))
        size = SAMPLE_RATE * provider.chunk_ms // 1000 * 2
        return StreamingResponse(_pieces(provider, pcm, size), media_type="audio/pcm")

    return with_hang_ups(Router([Route("/v1/audio/speech", speech, methods=["POST"])]))


async def _pieces(provider: FakeSpeech, pcm: bytes, size: int) -> AsyncIterator[bytes]:
    finished = False
    provider.open_streams += 1
    try:
        for start in range(0, len(pcm), size):
            if start and provider.chunk_delay_s:
                await asyncio.sleep(provider.chunk_delay_s)
            provider.tokens_sent += 1  # pieces sent
            yield pcm[start : start + size]
        finished = True
        provider.streams_completed += 1
    finally:
        provider.open_streams -= 1
        if not finished:
            provider.disconnects += 1
            provider.stream_closed.set()


@asynccontextmanager
async def openai_speech_server(
    *, host: str = "127.0.0.1", port: int = 0, **script: Any
) -> AsyncIterator[FakeSpeech]:
    """Serve a scripted OpenAI speech API (see FakeSpeech); `.base_url` ends in /v1."""
    provider = FakeSpeech(**script)
    async with serve(create_app(provider), provider, host=host, port=port) as url:
        provider.base_url = f"{url}/v1"
        yield provider
