"""OpenAI's hosted speech API (`/v1/audio/speech`) through the official SDK, streamed as PCM.

`model` is the TTS model (`gpt-4o-mini-tts`, `tts-1`), `speaker` the voice (`alloy`, ...).
OpenAI's `pcm` format is 24 kHz 16-bit little-endian mono; `base_url` points it at any server
that speaks the same wire format.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
from openai import AsyncOpenAI

from services.tts_node.backends.base import (
    BackendError,
    BackendUnavailable,
    TtsBackend,
    VoiceSpec,
)

SAMPLE_RATE = 24_000  # what OpenAI's `pcm` response format is
DEFAULT_VOICE = "alloy"
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0
HEALTH_TIMEOUT_S = 5.0
READ_BYTES = 9_600  # 200 ms of audio per read


class OpenAITtsBackend(TtsBackend):
    """A voice of OpenAI's speech API."""

    default_key_env = "OPENAI_API_KEY"

    def __init__(self, spec: VoiceSpec) -> None:
        super().__init__(spec)
        self.sample_rate = SAMPLE_RATE
        self.speakers = (spec.speaker or DEFAULT_VOICE,)
        self._client: AsyncOpenAI | None = None

    async def start(self) -> None:
        """Create the client; unavailable when the API key is missing."""
        key = self.spec.api_key(self.default_key_env)
        if key is None:
            raise BackendUnavailable(f"{self.spec.api_key_env or self.default_key_env} is not set")
        self._client = AsyncOpenAI(
            api_key=key,
            base_url=self.spec.base_url,
            max_retries=0,  # TtsBackend.speak owns retries
            timeout=openai.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
        )

    async def _sentence(self, text: str, rate: float) -> AsyncIterator[bytes]:
        if self._client is None:
            raise BackendUnavailable("The voice is not started.")
        try:
            # Leaving this block (the end, an error, or our consumer closing us) closes the
            # HTTP response, so the provider stops: the Stop button.
            async with self._client.audio.speech.with_streaming_response.create(
                model=self.spec.model,
                voice=self.spec.speaker or DEFAULT_VOICE,
                input=text,
                response_format="pcm",
                speed=rate,
            ) as response:
                async for data in response.iter_bytes(READ_BYTES):
                    yield data
        except openai.OpenAIError as exc:
            raise _backend_error(exc) from None

    async def health(self) -> tuple[bool, str]:
        """List the models with a short timeout: proves the server is up and takes the key."""
        if self._client is None:
            return False, "not started"
        try:
            await self._client.models.list(timeout=HEALTH_TIMEOUT_S)
        except openai.NotFoundError:
            return True, "ok"
        except openai.OpenAIError as exc:
            return False, _backend_error(exc).message
        return True, "ok"

    async def close(self) -> None:
        """Close the client and its connections."""
        if self._client is not None:
            await self._client.close()
            self._client = None


def _backend_error(exc: openai.OpenAIError) -> BackendError:
    """A readable, secret-free error; retryable where trying again can help."""
    if isinstance(exc, openai.APITimeoutError):
        return BackendError("The speech provider did not answer in time.", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return BackendError("Cannot reach the speech provider.", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status == 401:
            return BackendError("The speech provider rejected the API key (401).")
        if status == 429 and exc.code != "insufficient_quota":
            return BackendError("The speech provider is rate limiting (429).", retryable=True)
        if status >= 500 or status in (408, 409):
            return BackendError(f"The speech provider failed ({status}).", retryable=True)
        return BackendError(f"The speech provider rejected the request ({status}).")
    return BackendError("The speech provider sent an answer that could not be read.")
