"""Internal gRPC security: a shared secret on every call, and mutual TLS when configured.

Every Chimera gRPC server refuses calls without the internal secret in metadata
(`x-chimera-internal-secret`), except the standard health service that probes use.
The secret is `CHIMERA_INTERNAL_SECRET` or, by default, `internal.key` in the data dir,
created by whichever process starts first, so a single machine needs no setup. With
`CHIMERA_GRPC_TLS_CERT/KEY/CA` set, servers require client certificates signed by the CA
and clients present theirs (mTLS); the secret is still checked.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from services.common.grpc_server import channel_options
from services.common.secrets import load_or_create_secret
from services.common.settings import CommonSettings

logger = logging.getLogger(__name__)

METADATA_KEY = "x-chimera-internal-secret"
# The end client's address as the gateway saw it, on sign-in calls; believed because only
# callers holding the internal secret get through.
CLIENT_ADDR_KEY = "x-chimera-client-addr"
SECRET_FILE = "internal.key"
_EXEMPT_PREFIXES = ("/grpc.health.v1.Health/",)
_DENIED = "Missing or wrong internal secret."


@dataclass(frozen=True)
class GrpcSecurity:
    """The internal secret and, when configured, the PEM files for mutual TLS."""

    secret: str
    tls_cert: bytes | None = None
    tls_key: bytes | None = None
    tls_ca: bytes | None = None

    @classmethod
    def from_settings(cls, settings: CommonSettings) -> GrpcSecurity:
        """Read the secret (or the data dir's `internal.key`) and any TLS files."""
        if settings.internal_secret is not None:
            secret = settings.internal_secret.get_secret_value()
        else:
            secret = load_or_create_secret(settings.data_dir, SECRET_FILE).decode()
        paths = (settings.grpc_tls_cert, settings.grpc_tls_key, settings.grpc_tls_ca)
        if any(paths) and not all(paths):
            raise ValueError("mTLS needs all of CHIMERA_GRPC_TLS_CERT, _KEY and _CA")
        cert, key, ca = (p.read_bytes() if p else None for p in paths)
        return cls(secret=secret, tls_cert=cert, tls_key=key, tls_ca=ca)

    @property
    def tls(self) -> bool:
        """Whether mutual TLS is configured."""
        return self.tls_cert is not None

    def server_credentials(self) -> grpc.ServerCredentials | None:
        """mTLS credentials for a server port, or None for plaintext."""
        if self.tls_cert is None or self.tls_key is None:
            return None
        return grpc.ssl_server_credentials(
            [(self.tls_key, self.tls_cert)],
            root_certificates=self.tls_ca,
            require_client_auth=True,
        )

    def server_interceptors(self) -> list[grpc.aio.ServerInterceptor]:
        """The interceptor every server installs."""
        return [_SecretCheck(self.secret)]

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The metadata an internal call carries."""
        return ((METADATA_KEY, self.secret),)


def open_channel(
    address: str,
    security: GrpcSecurity,
    options: Sequence[tuple[str, Any]] | None = None,
) -> grpc.aio.Channel:
    """A channel to an internal service that sends the secret on every call (and mTLS if set)."""
    opts = list(options) if options is not None else channel_options()
    interceptors: list[grpc.aio.ClientInterceptor] = [
        cls(security.metadata()) for cls in _CLIENT_INTERCEPTORS
    ]
    if security.tls:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=security.tls_ca,
            private_key=security.tls_key,
            certificate_chain=security.tls_cert,
        )
        return grpc.aio.secure_channel(address, credentials, opts, interceptors=interceptors)
    return grpc.aio.insecure_channel(address, opts, interceptors=interceptors)


# --- server side ---------------------------------------------------------------------------------


async def _deny_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, _DENIED)


class _SecretCheck(grpc.aio.ServerInterceptor):
    """Refuse (UNAUTHENTICATED) any call whose metadata lacks the internal secret."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method or ""
        if handler is None or method.startswith(_EXEMPT_PREFIXES):
            return handler
        for key, value in handler_call_details.invocation_metadata or ():
            if key == METADATA_KEY:
                given = value.encode() if isinstance(value, str) else value
                if hmac.compare_digest(given, self._secret):
                    return handler
                break
        logger.warning("internal call refused: bad secret", extra={"rpc": method})
        return _denied_handler(handler)


def _denied_handler(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """A handler of the same shape as `handler` that aborts without running it."""
    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(_deny_unary, **kwargs)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(_deny_unary, **kwargs)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(_deny_unary, **kwargs)
    return grpc.stream_stream_rpc_method_handler(_deny_unary, **kwargs)


# --- client side ---------------------------------------------------------------------------------


def _with_metadata(details: grpc.aio.ClientCallDetails, extra: tuple[tuple[str, str], ...]) -> Any:
    metadata = grpc.aio.Metadata(*extra)
    for key, value in details.metadata or ():
        metadata.add(key, value)
    return grpc.aio.ClientCallDetails(
        details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
    )


class _Base:
    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self._metadata = metadata


class _UnaryUnary(_Base, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(_with_metadata(details, self._metadata), request)


class _UnaryStream(_Base, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(_with_metadata(details, self._metadata), request)


class _StreamUnary(_Base, grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(
        self, continuation: Any, details: Any, request_iterator: Any
    ) -> Any:
        return await continuation(_with_metadata(details, self._metadata), request_iterator)


class _StreamStream(_Base, grpc.aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(
        self, continuation: Any, details: Any, request_iterator: Any
    ) -> Any:
        return await continuation(_with_metadata(details, self._metadata), request_iterator)


_CLIENT_INTERCEPTORS = (_UnaryUnary, _UnaryStream, _StreamUnary, _StreamStream)
