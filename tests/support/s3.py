"""A moto S3 server for tests: a real process on a free loopback port, and throwaway buckets."""

from __future__ import annotations

import importlib.util
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, NoReturn

import httpx
import pytest

from services.common.net import free_port

START_TIMEOUT_S = 30.0
# What the S3 clients in the tests sign with; moto accepts any credentials.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "chimera-test",
    "AWS_SECRET_ACCESS_KEY": "chimera-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class S3Unavailable(Exception):
    """moto's S3 server cannot be run here (moto[server] is not installed)."""


def skip_or_fail(error: S3Unavailable) -> NoReturn:
    """Skip the test, or fail it under CI, where the S3 tests are required."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{error} (CI=true requires the S3 tests)", pytrace=False)
    pytest.skip(str(error))


@contextmanager
def moto_server() -> Iterator[str]:
    """Run `python -m moto.server` on a free port; yields its endpoint URL, then stops it."""
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        raise S3Unavailable("moto's S3 server is not installed (pip install 'moto[server]')")
    port = free_port("127.0.0.1")
    endpoint = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_serving(endpoint, process, log)
            yield endpoint
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def create_bucket(endpoint: str) -> str:
    """Create a bucket with a fresh name (tests sharing one server never meet) and name it."""
    import aioboto3

    name = f"chimera-test-{secrets.token_hex(6)}"
    async with aioboto3.Session().client("s3", endpoint_url=endpoint) as client:
        await client.create_bucket(Bucket=name)
    return name


def _wait_until_serving(endpoint: str, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with {process.returncode}: {_tail(log)}")
        try:
            httpx.get(endpoint + "/moto-api/", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"moto server not serving at {endpoint} after {START_TIMEOUT_S} s")


def _tail(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read()[-2000:].decode("utf-8", "replace")
