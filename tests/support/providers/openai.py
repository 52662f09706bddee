"""A fake OpenAI chat completions server speaking the real wire format (SSE chunks, [DONE])."""

from __future__ import annotations

import socket
import time
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
    401: ("invalid_request_error", "Incorrect API key provided."),
    403: ("permission_denied", "You are not allowed to sample from this model."),
    404: ("invalid_request_error", "The model does not exist."),
    429: ("rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", "The server had an error while processing your request."),
    503: ("server_error", "The engine is currently overloaded, please try again later."),
}


def error_response(status: int) -> JSONResponse:
    """OpenAI's error body for `status`."""
    kind, message = _ERRORS.get(status, ("server_error", f"Error {status}."))
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": None}}, status
    )


def create_app(provider: FakeProvider) -> RawApp:
    """The routes: POST /v1/chat/completions (streamed or not) and GET /v1/models."""

    async def chat_completions(request: Request) -> Response:
        body = await json_body(request)
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        status = provider.admit(request.url.path, dict(request.headers), body, key)
        if status is not None:
            return error_response(status)
        model = str(body.get("model", ""))
        tokens, cut = provider.answer(body.get("max_completion_tokens") or body.get("max_tokens"))
        finish = "length" if cut else "stop"
        usage = {
            "prompt_tokens": count_words(body),
            "completion_tokens": len(tokens),
            "total_tokens": count_words(body) + len(tokens),
        }
        if not body.get("stream"):
            answer = "".join(tokens)
            provider.tokens_sent += len(tokens)
            provider.streams_completed += 1
            message = {"role": "assistant", "content": answer}
            choice = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
            return JSONResponse(
                {**_envelope(model, "chat.completion"), "choices": [choice], "usage": usage}
            )
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        events = _chunks(provider, model, tokens, finish, usage if include_usage else None)
        return StreamingResponse(events, media_type="text/event-stream")

    async def models(request: Request) -> Response:
        provider.model_listings += 1
        if not provider.list_models:
            return error_response(404)
        if (
            provider.api_key is not None
            and request.headers.get("authorization") != f"Bearer {provider.api_key}"
        ):
            return error_response(401)
        data = [{"id": "fake-model", "object": "model", "created": 0, "owned_by": "chimera-tests"}]
        return JSONResponse({"object": "list", "data": data})

    routes = [
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
    ]
    return with_hang_ups(Router(routes))


async def _chunks(
    provider: FakeProvider, model: str, tokens: list[str], finish: str, usage: dict[str, int] | None
) -> AsyncIterator[bytes]:
    envelope = _envelope(model, "chat.completion.chunk")

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return sse({**envelope, "choices": [choice]})

    yield chunk({"role": "assistant", "content": ""})
    try:
        async with aclosing(provider.stream(tokens)) as stream:
            async for token in stream:
                yield chunk({"content": token})
    except ErrorMidStream:
        yield sse(
            {"error": {"message": "The server had an error mid-stream.", "type": "server_error"}}
        )
        return
    yield chunk({}, finish)
    if usage is not None:
        yield sse({**envelope, "choices": [], "usage": usage})
    yield sse("[DONE]")


def _envelope(model: str, kind: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": kind,
        "created": int(time.time()),
        "model": model,
    }


@asynccontextmanager
async def openai_server(
    *, host: str = "127.0.0.1", port: int = 0, sock: socket.socket | None = None, **script: Any
) -> AsyncIterator[FakeProvider]:
    """Serve a scripted OpenAI API (see FakeProvider for `script`); `.base_url` ends in /v1.

    `sock`: serve on this bound socket (tests/support/providers/_serve.py `reserved_port`)."""
    provider = FakeProvider(**script)
    async with serve(create_app(provider), provider, host=host, port=port, sock=sock) as url:
        provider.base_url = f"{url}/v1"
        yield provider
