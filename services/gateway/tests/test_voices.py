"""GET /api/voices and POST /api/speech against a real TTS node on fake voices."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.gateway.tests.fakes import FakeServices
from services.gateway.tests.test_app import bearer, gateway, register
from services.gateway.tests.test_audio import opus_seconds
from services.gateway.tests.tts_support import MS_PER_CHAR, TONE_RATE, tone_voice, tts_node
from services.tts_node.backends.base import VoiceSpec

pytestmark = pytest.mark.unit

SAY = "Hello there. How are you?"


@pytest.fixture(scope="module")
def tts_port() -> Iterator[int]:
    specs = [tone_voice("tone"), VoiceSpec(id="gone", backend="piper", model="/nowhere/gone.onnx")]
    with tts_node(specs) as port:
        yield port


@pytest.fixture
def http(fakes: FakeServices, tmp_path: Path, tts_port: int) -> Iterator[TestClient]:
    with gateway(fakes, tmp_path, tts_addr=f"127.0.0.1:{tts_port}", speech_rate_per_min=3) as c:
        yield c


def test_voices_lists_each_with_its_availability(http: TestClient) -> None:
    assert http.get("/api/voices").status_code == 401
    _, token = register(http)
    voices = {v["id"]: v for v in http.get("/api/voices", headers=bearer(token)).json()["voices"]}
    assert voices["tone"] == {
        "id": "tone",
        "backend": "fake",
        "name": "Tone",
        "language": "en_US",
        "available": True,
        "reason": None,
        "sample_rate": TONE_RATE,
        "speakers": [],
    }
    gone = voices["gone"]
    assert not gone["available"] and gone["reason"] and gone["sample_rate"] is None


def test_speech_is_the_texts_audio_as_wav_or_opus(http: TestClient) -> None:
    _, token = register(http)
    reply = http.post("/api/speech", json={"voice": "tone", "text": SAY}, headers=bearer(token))
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "audio/wav"
    seconds = (len(SAY) - 1) * MS_PER_CHAR / 1000  # the space between the sentences is not said
    with wave.open(io.BytesIO(reply.content)) as file:
        assert file.getframerate() == TONE_RATE
        assert file.getnframes() / TONE_RATE == pytest.approx(seconds, abs=0.01)
    reply = http.post(
        "/api/speech?format=opus",
        json={"voice": "tone", "text": SAY, "rate": 2.0},
        headers=bearer(token),
    )
    assert reply.headers["content-type"] == "audio/ogg"
    assert opus_seconds(reply.content) == pytest.approx(seconds / 2, abs=0.03)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"voice": "nobody", "text": "Hi."}, 404, "not_found"),
        ({"voice": "gone", "text": "Hi."}, 400, "failed_precondition"),
        ({"voice": "tone", "text": "x" * 501}, 400, "invalid_argument"),
        ({"voice": "tone", "text": "Hi.", "rate": 3}, 400, "invalid_argument"),
    ],
)
def test_speech_errors_are_in_the_error_shape(
    http: TestClient, body: dict[str, object], status: int, code: str
) -> None:
    _, token = register(http)
    reply = http.post("/api/speech", json=body, headers=bearer(token))
    assert (reply.status_code, reply.json()["error"]["code"]) == (status, code), reply.text
    if body["voice"] == "gone":
        assert "unavailable" in reply.json()["error"]["message"]


def test_speech_is_rate_limited_per_account(http: TestClient) -> None:
    _, ana = register(http, "ana")
    _, ben = register(http, "ben")
    body = {"voice": "tone", "text": "Hi."}
    assert all(
        http.post("/api/speech", json=body, headers=bearer(ana)).status_code == 200
        for _ in range(3)
    )
    limited = http.post("/api/speech", json=body, headers=bearer(ana))
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"
    assert http.post("/api/speech", json=body, headers=bearer(ben)).status_code == 200


def test_a_tts_node_that_is_down_answers_503(fakes: FakeServices, tmp_path: Path) -> None:
    with gateway(fakes, tmp_path, tts_addr="127.0.0.1:1") as http:
        _, token = register(http)
        reply = http.get("/api/voices", headers=bearer(token))
        assert (reply.status_code, reply.json()["error"]["code"]) == (503, "unavailable")
