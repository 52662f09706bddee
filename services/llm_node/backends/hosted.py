"""What the hosted-API backends (OpenAI, Anthropic) share: timeouts, the API key, one
generation's stream from open to close (Stop included), and what an error means to a room.

No SDK is imported here; each subclass creates its own client and parses its own stream.
"""

from __future__ import annotations

import contextlib
import os
from abc import abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator
from types import TracebackType
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from services.llm_node.backends.base import (
    BackendError,
    BackendUnavailable,
    Delta,
    Final,
    GenerationRequest,
    LlmBackend,
    ModelSpec,
)

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 600.0  # a long answer that is not streamed can take minutes
HEALTH_TIMEOUT_S = 5.0


class _Client(Protocol):
    @property
    def base_url(self) -> Any: ...

    async def close(self) -> None: ...


class _Stream(Protocol):
    async def __aenter__(self) -> Any: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> Any: ...

    async def close(self) -> None: ...


ClientT = TypeVar("ClientT", bound=_Client)
StreamT = TypeVar("StreamT", bound=_Stream)


class HostedBackend(LlmBackend, Generic[ClientT, StreamT]):
    """A model behind a provider's HTTP API, reached through that provider's SDK client."""

    default_key_env: ClassVar[str]  # read when the spec names no `api_key_env`
    sdk_errors: ClassVar[tuple[type[Exception], ...]]  # what `_backend_error` maps

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self._client: ClientT | None = None
        # The open HTTP stream of each running generation, so `abort` can close it.
        self._streams: dict[str, StreamT] = {}
        self._aborted: set[str] = set()

    def _api_key(self) -> str:
        env = self.spec.api_key_env or self.default_key_env
        key = (os.environ.get(env) or "").strip()
        if not key:
            raise BackendUnavailable(f"{env} is not set")
        return key

    async def _stream(self, request: GenerationRequest) -> AsyncIterator[Delta | Final]:
        client = self._require_client()
        params = self._params(request)
        answering = False
        final: Final | None = None
        try:
            if not self.spec.stream:
                for piece in await self._complete(client, params):
                    yield piece
                return
            stream = await self._open(client, params)
            # Closing the stream (at the end, on error, or when our consumer closes us early)
            # closes the HTTP response, so the provider stops generating: the Stop button.
            async with stream:
                answering = True
                self._streams[request.request_id] = stream
                async with contextlib.aclosing(self._read(stream)) as events:
                    async for event in events:
                        if isinstance(event, Final):
                            final = event  # sent once the stream is closed and forgotten
                        else:
                            yield event
        except self.sdk_errors as exc:
            if request.request_id in self._aborted:
                yield Final(finish_reason="cancelled", model=self.spec.model)
                return
            raise self._backend_error(exc, answering=answering) from None
        finally:
            self._streams.pop(request.request_id, None)
            self._aborted.discard(request.request_id)
        if final is not None:
            yield final

    @abstractmethod
    def _params(self, request: GenerationRequest) -> dict[str, Any]:
        """The provider's request body, less the streaming switches."""

    @abstractmethod
    async def _complete(self, client: ClientT, params: dict[str, Any]) -> tuple[Delta, Final]:
        """Ask for the whole answer at once (for providers that cannot stream)."""

    @abstractmethod
    async def _open(self, client: ClientT, params: dict[str, Any]) -> StreamT:
        """Start a streamed answer."""

    @abstractmethod
    def _read(self, stream: StreamT) -> AsyncGenerator[Delta | Final, None]:
        """The stream's text as deltas, then one Final."""

    @abstractmethod
    def _backend_error(self, exc: Exception, *, answering: bool = False) -> BackendError:
        """One of `sdk_errors` as a readable, secret-free error; retryable where that can help."""

    async def abort(self, request_id: str) -> None:
        """Close the generation's HTTP stream now; its reader ends with finish reason "cancelled"."""
        stream = self._streams.pop(request_id, None)
        if stream is not None:
            self._aborted.add(request_id)
            await stream.close()

    async def close(self) -> None:
        """Close the client and its connections."""
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _require_client(self) -> ClientT:
        if self._client is None:
            raise BackendUnavailable("The model is not started.")
        return self._client

    def _where(self) -> str:
        url = str(self._client.base_url) if self._client else self.spec.base_url
        return (url or "the provider").rstrip("/")


def transport_error(where: str, *, timed_out: bool, answering: bool) -> BackendError:
    """The network failed: no answer in time, a broken answer, or no provider to reach."""
    if timed_out:
        return BackendError("The provider did not answer in time.", retryable=True)
    if answering:
        return BackendError(
            "The connection to the provider broke while it was answering.", retryable=True
        )
    return BackendError(f"Cannot reach the provider at {where}.", retryable=True)


def status_error(status: int, *, code: str | None = None, detail: str = "") -> BackendError:
    """What an HTTP error status from a provider means to a room, and whether to retry."""
    if status == 401:
        return BackendError("The provider rejected the API key (401).")
    if status == 403:
        return BackendError("The API key may not use this model (403).")
    if status == 429 and code == "insufficient_quota":  # OpenAI: no retry will help
        return BackendError("The provider account has run out of quota (429).")
    if status == 429:
        return BackendError("The provider is rate limiting requests (429).", retryable=True)
    if status == 529:  # Anthropic's "overloaded"
        return BackendError("The provider is overloaded (529).", retryable=True)
    if status in (408, 409):
        return BackendError(f"The provider asked to try again ({status}).", retryable=True)
    if status >= 500:
        return BackendError(f"The provider failed ({status}).", retryable=True)
    suffix = f": {detail}" if detail else "."
    if status == 404:
        return BackendError(f"The provider does not know this model or URL (404){suffix}")
    return BackendError(f"The provider rejected the request ({status}){suffix}")
