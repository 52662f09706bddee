"""A fake Anthropic Messages server speaking the real wire format (named SSE events)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, Router

from tests.support.providers._script import ErrorMidStream, FakeProvider, count_words
from tests.support.providers._serve import RawApp, json_body, serve, sse, with_hang_ups

_ERRORS = {
    400: ("invalid_request_error", "The request is invalid."),
    401: ("authentication_error", "invalid x-api-key"),
    403: (
        "permission_error",
        "Your API key does not have permission to use the specified resource.",
    ),
    404: ("not_found_error", "The requested resource could not be found."),
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit."),
    500: ("api_error", "An unexpected error has occurred internal to Anthropic's systems."),
    529: ("overloaded_error", "Overloaded"),
}


def error_body(status: int) -> dict[str, Any]:
    """Anthropic's error body for `status`."""
    kind, message = _ERRORS.get(status, ("api_error", f"Error {status}."))
    return {"type": "error", "error": {"type": kind, "message": message}}


def create_app(provider: FakeProvider) -> RawApp:
    """The routes: POST /v1/messages (streamed or not) and GET /v1/models."""

    async def messages(request: Request) -> Response:
        body = await json_body(request)
        status = provider.admit(request.url.path, dict(request.headers), body, _key(request))
        if status is not None:
            return JSONResponse(error_body(status), status)
        if not isinstance(body.get("max_tokens"), int):
            return JSONResponse(error_body(400), 400)  # Anthropic requires it
        tokens, cut = provider.answer(body["max_tokens"])
        stop_reason = "max_tokens" if cut else "end_turn"
        message: dict[str, Any] = {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": str(body.get("model", "")),
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": count_words(body), "output_tokens": 1},
        }
        if not body.get("stream"):
            provider.tokens_sent += len(tokens)
            provider.streams_completed += 1
            content = [{"type": "text", "text": "".join(tokens)}]
            usage = {"input_tokens": count_words(body), "output_tokens": len(tokens)}
            return JSONResponse(
                {**message, "content": content, "stop_reason": stop_reason, "usage": usage}
            )
        events = _events(provider, message, tokens, stop_reason)
        return StreamingResponse(events, media_type="text/event-stream")

    async def models(request: Request) -> Response:
        provider.model_listings += 1
        if not provider.list_models:
            return JSONResponse(error_body(404), 404)
        if provider.api_key is not None and _key(request) != provider.api_key:
            return JSONResponse(error_body(401), 401)
        model = {
            "type": "model",
            "id": "fake-model",
            "display_name": "Fake",
            "created_at": "2025-01-01T00:00:00Z",
        }
        return JSONResponse(
            {"data": [model], "has_more": False, "first_id": "fake-model", "last_id": "fake-model"}
        )

    routes = [
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
    ]
    return with_hang_ups(Router(routes))


def _key(request: Request) -> str | None:
    # Older SDKs send x-api-key; newer ones send the same key as a bearer token.
    bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
    return request.headers.get("x-api-key") or bearer or None


async def _events(
    provider: FakeProvider, message: dict[str, Any], tokens: list[str], stop_reason: str
) -> AsyncIterator[bytes]:
    yield sse({"type": "message_start", "message": message}, "message_start")
    block = {"type": "text", "text": ""}
    yield sse(
        {"type": "content_block_start", "index": 0, "content_block": block}, "content_block_start"
    )
    yield sse({"type": "ping"}, "ping")
    try:
        async with aclosing(provider.stream(tokens)) as stream:
            async for token in stream:
                delta = {"type": "text_delta", "text": token}
                yield sse(
                    {"type": "content_block_delta", "index": 0, "delta": delta},
                    "content_block_delta",
                )
    except ErrorMidStream:
        yield sse(error_body(529), "error")
        return
    yield sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
    end: dict[str, Any] = {"stop_reason": stop_reason, "stop_sequence": None}
    usage = {"output_tokens": len(tokens)}
    yield sse({"type": "message_delta", "delta": end, "usage": usage}, "message_delta")
    yield sse({"type": "message_stop"}, "message_stop")


@asynccontextmanager
async def anthropic_server(
    *, host: str = "127.0.0.1", port: int = 0, **script: Any
) -> AsyncIterator[FakeProvider]:
    """Serve a scripted Anthropic API (see FakeProvider for `script`); `.base_url` is the root."""
    provider = FakeProvider(**script)
    async with serve(create_app(provider), provider, host=host, port=port) as url:
        provider.base_url = url
        yield provider
