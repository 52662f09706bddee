"""The internal secret and mTLS on real gRPC servers and channels over loopback."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.grpc_security import (
    SECRET_FILE,
    GrpcSecurity,
    open_channel,
)
from services.common.grpc_server import GrpcServer
from services.common.settings import CommonSettings

pytestmark = pytest.mark.unit

SERVICE = "chimera.test.Echo"


async def _unary(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return request


async def _server_stream(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    for _ in range(2):
        yield request


async def _bidi(
    requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext
) -> AsyncIterator[bytes]:
    async for request in requests:
        yield request


_HANDLER = grpc.method_handlers_generic_handler(
    SERVICE,
    {
        "Unary": grpc.unary_unary_rpc_method_handler(_unary),
        "ServerStream": grpc.unary_stream_rpc_method_handler(_server_stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(_bidi),
    },
)


async def _start(security: GrpcSecurity) -> GrpcServer:
    server = GrpcServer(host="127.0.0.1", port=0, service_names=[SERVICE], security=security)
    server.server.add_generic_rpc_handlers((_HANDLER,))
    await server.start()
    return server


async def _echo_all(channel: grpc.aio.Channel) -> list[bytes]:
    """Call each kind of method once; return what came back."""
    unary = channel.unary_unary(f"/{SERVICE}/Unary")
    server_stream = channel.unary_stream(f"/{SERVICE}/ServerStream")
    bidi = channel.stream_stream(f"/{SERVICE}/Bidi")
    out = [await unary(b"a", timeout=5)]
    out += [item async for item in server_stream(b"b", timeout=5)]

    async def one() -> AsyncIterator[bytes]:
        yield b"c"

    out += [item async for item in bidi(one(), timeout=5)]
    return out


@pytest.fixture
async def server() -> AsyncIterator[GrpcServer]:
    server = await _start(GrpcSecurity(secret="right"))
    yield server
    await server.stop(0)


async def test_calls_with_the_secret_pass_on_every_kind_of_method(server: GrpcServer) -> None:
    async with open_channel(f"127.0.0.1:{server.port}", GrpcSecurity(secret="right")) as channel:
        assert await _echo_all(channel) == [b"a", b"b", b"b", b"c"]


@pytest.mark.parametrize("secret", [None, "wrong", "righ", "right "])
async def test_calls_without_the_right_secret_are_refused(
    server: GrpcServer, secret: str | None
) -> None:
    address = f"127.0.0.1:{server.port}"
    channel = (
        grpc.aio.insecure_channel(address)
        if secret is None
        else open_channel(address, GrpcSecurity(secret=secret))
    )
    async with channel:
        for method in ("Unary", "ServerStream", "Bidi"):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                if method == "Unary":
                    await channel.unary_unary(f"/{SERVICE}/Unary")(b"x", timeout=5)
                elif method == "ServerStream":
                    _ = [m async for m in channel.unary_stream(f"/{SERVICE}/ServerStream")(b"x")]
                else:

                    async def one() -> AsyncIterator[bytes]:
                        yield b"x"

                    _ = [m async for m in channel.stream_stream(f"/{SERVICE}/Bidi")(one())]
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "internal secret" in (info.value.details() or "")


async def test_health_checks_need_no_secret(server: GrpcServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=SERVICE), timeout=5
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_default_secret_is_created_once_in_the_data_dir_and_shared(tmp_path: Path) -> None:
    first = GrpcSecurity.from_settings(CommonSettings(data_dir=tmp_path))
    second = GrpcSecurity.from_settings(CommonSettings(data_dir=tmp_path))
    assert first.secret == second.secret and len(first.secret) >= 32
    assert (tmp_path / SECRET_FILE).stat().st_mode & 0o777 == 0o600
    explicit = GrpcSecurity.from_settings(
        CommonSettings(data_dir=tmp_path, internal_secret="from-env")  # type: ignore[arg-type]
    )
    assert explicit.secret == "from-env"


def test_partial_tls_configuration_is_an_error(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    with pytest.raises(ValueError, match="all of"):
        GrpcSecurity.from_settings(CommonSettings(data_dir=tmp_path, grpc_tls_cert=cert))


# --- mutual TLS ----------------------------------------------------------------------------------


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _issue(ca_dir: Path, name: str, cn: str) -> None:
    """A key and a certificate for `cn` (SAN: localhost, 127.0.0.1) signed by the CA."""
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
             f"{name}.csr", "-subj", f"/CN={cn}", cwd=ca_dir)  # fmt: skip
    (ca_dir / f"{name}.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", "-extfile",
             f"{name}.ext", cwd=ca_dir)  # fmt: skip


def _ca(directory: Path) -> None:
    directory.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
             "ca.pem", "-days", "2", "-subj", "/CN=chimera-test-ca", cwd=directory)  # fmt: skip


def _security(directory: Path, name: str, ca: Path | None = None) -> GrpcSecurity:
    return GrpcSecurity(
        secret="right",
        tls_cert=(directory / f"{name}.pem").read_bytes(),
        tls_key=(directory / f"{name}.key").read_bytes(),
        tls_ca=((ca or directory) / "ca.pem").read_bytes(),
    )


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
async def test_mutual_tls_admits_only_clients_with_a_certificate_from_the_ca(
    tmp_path: Path,
) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    _ca(ours)
    _ca(theirs)
    for name, cn in (("server", "localhost"), ("client", "gateway")):
        _issue(ours, name, cn)
    _issue(theirs, "client", "intruder")
    server = await _start(_security(ours, "server"))
    address = f"localhost:{server.port}"
    try:
        async with open_channel(address, _security(ours, "client")) as channel:
            assert await _echo_all(channel) == [b"a", b"b", b"b", b"c"]
        # A certificate from another CA (trusting our CA for the server) is refused.
        async with open_channel(address, _security(theirs, "client", ca=ours)) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await channel.unary_unary(f"/{SERVICE}/Unary")(b"x", timeout=5)
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        # Plaintext is refused too.
        async with grpc.aio.insecure_channel(address) as channel:
            with pytest.raises(grpc.aio.AioRpcError):
                await channel.unary_unary(f"/{SERVICE}/Unary")(b"x", timeout=5)
    finally:
        await server.stop(0)
