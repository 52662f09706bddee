"""The openai backend against a local server speaking OpenAI's /v1/audio/speech wire format."""

from __future__ import annotations

import asyncio

import pytest

from services.tts_node.backends.base import BackendError, BackendUnavailable, VoiceSpec
from services.tts_node.backends.openai import SAMPLE_RATE, OpenAITtsBackend
from tests.support.providers.openai_speech import openai_speech_server

pytestmark = pytest.mark.unit

KEY = "sk-test-key"
WAIT_S = 10.0


def spec(base_url: str, **fields: object) -> VoiceSpec:
    return VoiceSpec(
        id="alloy",
        backend="openai",
        model="gpt-4o-mini-tts",
        speaker="nova",
        base_url=base_url,
        api_key_env="CHIMERA_TEST_TTS_KEY",
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIMERA_TEST_TTS_KEY", KEY)


async def started(base_url: str) -> OpenAITtsBackend:
    backend = OpenAITtsBackend(spec(base_url))
    backend.backoff_s = 0.01
    await backend.start()
    return backend


async def test_a_sentence_streams_as_24_khz_pcm_with_the_voice_and_rate_asked() -> None:
    async with openai_speech_server(seconds=0.5, api_key=KEY) as srv:
        backend = await started(srv.base_url)
        try:
            pieces = [p async for p in backend.speak("Hello there.", 1.25)]
        finally:
            await backend.close()
    assert backend.sample_rate == SAMPLE_RATE == 24_000
    assert len(pieces) > 1  # streamed, not one body at the end
    assert b"".join(pieces) == srv.pcm(1.25)
    (request,) = srv.requests
    assert request.path == "/v1/audio/speech"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body == {
        "model": "gpt-4o-mini-tts",
        "voice": "nova",
        "input": "Hello there.",
        "response_format": "pcm",
        "speed": 1.25,
    }


async def test_a_missing_key_makes_the_voice_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHIMERA_TEST_TTS_KEY")
    with pytest.raises(BackendUnavailable, match="CHIMERA_TEST_TTS_KEY is not set"):
        await OpenAITtsBackend(spec("http://127.0.0.1:9/v1")).start()


async def test_a_server_error_before_any_audio_is_retried() -> None:
    async with openai_speech_server(seconds=0.2, failures=[503]) as srv:
        backend = await started(srv.base_url)
        try:
            pcm = b"".join([p async for p in backend.speak("Hi.", 1.0)])
        finally:
            await backend.close()
    assert pcm == srv.pcm(1.0)
    assert len(srv.requests) == 2


async def test_a_rejected_key_is_not_retried_and_says_so() -> None:
    async with openai_speech_server(api_key="another-key") as srv:
        backend = await started(srv.base_url)
        try:
            with pytest.raises(BackendError) as failed:
                async for _ in backend.speak("Hi.", 1.0):
                    pass
        finally:
            await backend.close()
    assert failed.value.message == "The speech provider rejected the API key (401)."
    assert not failed.value.retryable and KEY not in failed.value.message
    assert len(srv.requests) == 1


async def test_stopping_mid_sentence_closes_the_http_stream() -> None:
    async with openai_speech_server(seconds=5.0, chunk_ms=50, chunk_delay_s=0.05) as srv:
        backend = await started(srv.base_url)
        try:
            pieces = backend.speak("A long sentence.", 1.0)
            await anext(pieces)
            await pieces.aclose()
            await asyncio.wait_for(srv.stream_closed.wait(), WAIT_S)
        finally:
            await backend.close()
    assert srv.disconnects == 1 and srv.streams_completed == 0


async def test_an_unreachable_server_is_a_retryable_error() -> None:
    backend = await started("http://127.0.0.1:9/v1")
    try:
        with pytest.raises(BackendError) as failed:
            async for _ in backend.speak("Hi.", 1.0):
                pass
    finally:
        await backend.close()
    assert failed.value.retryable
    assert failed.value.message == "Cannot reach the speech provider."
