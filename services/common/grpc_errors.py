"""The one place a servicer's errors become gRPC status: a decorator per kind of method.

Domain code and backends raise `ChimeraError` subclasses (their message is written for
clients); `unary` and `streaming` end the call with that error's status, its message and the
trailing metadata it carries. Anything else is logged with its traceback and ends the call
INTERNAL with a generic message, so no stack trace, SQL or path reaches a client.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias, TypeVar

import grpc

from services.common.errors import ChimeraError, abort

logger = logging.getLogger(__name__)

T = TypeVar("T")
Context: TypeAlias = grpc.aio.ServicerContext
INTERNAL_DETAILS = "internal error"


def retry_metadata(exc: ChimeraError) -> tuple[tuple[str, str], ...]:
    """Trailing metadata an error carries: how long to wait before retrying, if it says."""
    retry_after = getattr(exc, "retry_after_s", None)
    return () if retry_after is None else (("retry-after", str(math.ceil(retry_after))),)


async def _end(context: Context, exc: Exception, rpc: str) -> None:
    if isinstance(exc, ChimeraError):
        await abort(context, exc.code, exc.message, retry_metadata(exc))
    logger.error("unhandled error", extra={"rpc": rpc}, exc_info=exc)
    await abort(context, grpc.StatusCode.INTERNAL, INTERNAL_DETAILS)


def unary(
    method: Callable[[Any, Any, Context], Awaitable[T]],
) -> Callable[[Any, Any, Context], Awaitable[T]]:
    """A unary (or stream-in, single-reply) method whose errors end the call with a status."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: Context) -> T:
        try:
            return await method(self, request, context)
        except grpc.aio.AbortError:
            raise  # the method ended the call itself
        except Exception as exc:
            await _end(context, exc, method.__name__)
        raise AssertionError("unreachable")  # abort always raises

    return wrapper


def streaming(
    method: Callable[[Any, Any, Context], AsyncIterator[T]],
) -> Callable[[Any, Any, Context], AsyncIterator[T]]:
    """A server-streaming method (an async generator): what it yielded went out; an error
    raised after that ends the stream with its status."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: Context) -> AsyncIterator[T]:
        try:
            # aclosing: when the call ends early (the client cancels), the method's own
            # `finally` runs now, not whenever its generator is collected.
            async with contextlib.aclosing(method(self, request, context)) as items:  # type: ignore[type-var]
                async for item in items:
                    yield item
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await _end(context, exc, method.__name__)

    return wrapper
