"""Raw sockets against a gateway process: bytes in, bytes out, and its memory."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from tests.support.client import WAIT_S
from tests.support.stack import Stack


async def exchange(port: int, *chunks: bytes) -> bytes:
    """Send `chunks` on a fresh connection; everything read until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        with contextlib.suppress(ConnectionError):
            for chunk in chunks:
                writer.write(chunk)
                await writer.drain()
        async with asyncio.timeout(WAIT_S):
            try:
                return await reader.read()
            except ConnectionResetError:
                return b""
    finally:
        writer.close()


def gateway_rss(stack: Stack, index: int = 0) -> int:
    """Resident memory of a gateway process, in bytes (Linux /proc)."""
    process = stack.gateways[index].process
    assert process is not None
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc status")
