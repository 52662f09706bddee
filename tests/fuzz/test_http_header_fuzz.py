"""A request-head fuzzer against a real gateway: huge and countless headers, malformed request
lines and header fields, control bytes, and floods of heads that never end. Every answer is a
4xx (or a clean close), never a 5xx; the gateway's memory stays flat and it keeps serving."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.support.client import running_stack
from tests.support.raw_http import exchange, gateway_rss
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

MIB = 1024 * 1024
MEMORY_BOUND = 30 * MIB  # growth allowed over a flood (allocator slack)
SLOW_CONNECTIONS = 400
# Gateway 0 keeps the defaults; gateway 1 times heads out quickly, for the slow floods.
QUICK = {"CHIMERA_HEADER_TIMEOUT_S": "1"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with running_stack("sqlite", tmp_path_factory.mktemp("httpfuzz")) as stack:
        stack.env_extra = dict(QUICK)
        await stack.add_gateway()
        yield stack


def status(reply: bytes) -> int | None:
    """The status of the first answer on a connection; None when it closed without one."""
    if not reply:
        return None
    assert reply.startswith(b"HTTP/1.1 "), reply[:200]
    return int(reply.split(b" ", 2)[1])


async def serving(port: int) -> bool:
    reply = await exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    return status(reply) == 200


def head(*lines: bytes) -> bytes:
    return b"\r\n".join([*lines, b"Connection: close", b"", b""])


GET = b"GET /healthz HTTP/1.1"
HOST = b"Host: 127.0.0.1"


def corpus(rng: random.Random) -> list[list[bytes]]:
    """Abusive heads, each a list of chunks sent in order."""
    cases = [
        [head(GET, HOST, b"X-Big: " + b"a" * (2 * MIB))],
        [head(GET, HOST, *[b"X-%d: 1" % i for i in range(5000)])],
        [head(GET, HOST, *[b"X-%d: %s" % (i, b"v" * 4000) for i in range(100)])],
        [head(b"GET /" + b"u" * MIB + b" HTTP/1.1", HOST)],
        [head(GET, HOST, b"X-" + b"n" * 100_000 + b": 1")],
        [head(GET, HOST, b"X-Nul: a\x00b")],
        [head(GET, HOST, b"X Space: 1")],
        [head(GET, HOST, b": no name")],
        [head(GET, HOST, b"X-Fold: a", b" folded")],
        [head(GET, HOST, b"Content-Length: 5", b"Content-Length: 6")],
        [head(GET, HOST, b"Content-Length: -1")],
        [head(GET, HOST, b"Transfer-Encoding: chunked", b"Content-Length: 3")],
        [head(b"GET /healthz HTTP/9.9", HOST)],
        [head(b"\x00\x01\x02 / HTTP/1.1", HOST)],
        [head(b"GET", HOST)],
        [b"GET /healthz HTTP/1.1\nHost: x\n\n"],
        [bytes(rng.randrange(256) for _ in range(4096))],
        [b"\r\n" * 10_000],
        # A huge head in small pieces, and one whose end never comes.
        [b"GET /healthz HTTP/1.1\r\nX-Drip: "] + [b"d" * 1024] * 200,
        [b"GET /healthz HTTP/1.1\r\n"] + [b"X-%d: 1\r\n" % i for i in range(300)],
    ]
    for _ in range(20):
        name = bytes(rng.choice(b"abcXYZ-_:; \t\x00\x7f\xff") for _ in range(rng.randrange(1, 40)))
        value = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 20_000)))
        cases.append([head(GET, HOST, name + b": " + value)])
    return cases


async def test_abusive_heads_get_a_4xx_or_a_close_never_a_5xx(stack: Stack) -> None:
    port = stack.gateway_ports[0]
    for chunks in corpus(random.Random(7)):
        code = status(await exchange(port, *chunks))
        assert code is None or code < 500, (chunks[0][:80], code)
    assert await serving(port)


async def test_memory_stays_flat_under_a_flood_of_huge_heads(stack: Stack) -> None:
    port = stack.gateway_ports[0]
    before = gateway_rss(stack)
    # One connection with 150 headers of 1 MiB each, then eight at once with 50 MiB each.
    many = [b"GET /healthz HTTP/1.1\r\nHost: x\r\n"]
    many += [b"X-%d: %s\r\n" % (i, b"m" * MIB) for i in range(150)]
    assert status(await exchange(port, *many)) == 431
    flood = [b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Flood: "] + [b"f" * MIB] * 50
    replies = await asyncio.gather(*(exchange(port, *flood) for _ in range(8)))
    assert [status(r) for r in replies] == [431] * 8
    after = gateway_rss(stack)
    print(f"gateway RSS {before / MIB:.0f} MiB -> {after / MIB:.0f} MiB after the flood")
    assert after - before < MEMORY_BOUND
    assert await serving(port)


async def test_many_heads_that_never_end_are_all_closed(stack: Stack) -> None:
    port = stack.gateway_ports[1]
    before = gateway_rss(stack, 1)
    slow = [b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 1000]
    replies = await asyncio.gather(*(exchange(port, *slow) for _ in range(SLOW_CONNECTIONS)))
    assert {status(r) for r in replies} <= {408, None}
    print(f"gateway RSS {before / MIB:.0f} MiB -> {gateway_rss(stack, 1) / MIB:.0f} MiB")
    assert await serving(port)
