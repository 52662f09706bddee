"""Real local HTTP servers that speak the OpenAI and Anthropic wire formats, scripted for tests.

    async with openai_server(text="Hi there", tokens_per_second=50) as srv:
        client = AsyncOpenAI(base_url=srv.base_url, api_key="x")
        ...
        await asyncio.wait_for(srv.stream_closed.wait(), 5)  # the client hung up mid-stream

`openai_server(...)` and `anthropic_server(...)` take `host`, `port` and FakeProvider's keyword
arguments (text or tokens, tokens_per_second, hold_after, failures, fail_after_tokens,
fail_mid_stream, api_key, list_models) and yield the FakeProvider, which records what it saw.
Run one as its own process with `python -m tests.support.providers --help`.
"""

from tests.support.providers._script import DEFAULT_TEXT, FakeProvider, Received, split_tokens
from tests.support.providers.anthropic import anthropic_server
from tests.support.providers.openai import openai_server

__all__ = [
    "DEFAULT_TEXT",
    "FakeProvider",
    "Received",
    "anthropic_server",
    "openai_server",
    "split_tokens",
]
