"""Speech over the WebSocket (asked for in hello or by an audio frame, late joins) and a
reply's whole audio over REST."""

from __future__ import annotations

import base64
import io
import wave
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from services.common.pb import room_pb2 as pb
from services.gateway.tests.fakes import FakeServices
from services.gateway.tests.test_app import bearer, connect, http, register  # noqa: F401
from services.gateway.tests.test_audio import opus_seconds
from services.gateway.tests.test_link_speech import RATE, sentence

pytestmark = pytest.mark.unit

MEMBER = pb.ROOM_ROLE_MEMBER


def join(ws: WebSocketTestSession, token: str, **hello: Any) -> None:
    ws.send_json({"type": "hello", "token": token, **hello})
    assert ws.receive_json()["type"] == "welcome"


def next_of(ws: WebSocketTestSession, *kinds: str) -> dict[str, Any]:
    """The next frame of one of these kinds (presence and the like are skipped)."""
    while True:
        frame: dict[str, Any] = ws.receive_json()
        if frame["type"] in kinds:
            return frame


def test_hello_and_audio_frames_choose_the_speech_a_socket_gets(
    http: TestClient,  # noqa: F811
    fakes: FakeServices,
) -> None:
    user_id, token = register(http)
    room_id = fakes.rooms.add_room({user_id: MEMBER})
    author = pb.User(id=user_id, name="ana")
    with connect(http, f"/ws/room/{room_id}") as ws:
        join(ws, token, audio="pcm")
        reply = fakes.rooms.start_reply(room_id, "alpha", "")
        assert next_of(ws, "message")["message"]["id"] == reply.id
        fakes.rooms.speak(room_id, sentence(reply.id, 0))
        frame = next_of(ws, "speech", "message")
        assert (frame["type"], frame["format"], frame["index"]) == ("speech", "pcm", 0)
        assert base64.b64decode(frame["audio"]) == sentence(reply.id, 0).pcm
        ws.send_json({"type": "audio", "format": "off"})
        ws.send_json({"type": "ping"})
        assert next_of(ws, "pong")  # the audio frame was handled before it
        fakes.rooms.speak(room_id, sentence(reply.id, 1))
        fakes.rooms.post(room_id, author, "marker")
        assert next_of(ws, "speech", "message")["message"]["content"] == "marker"
        ws.send_json({"type": "audio", "format": "opus"})
        ws.send_json({"type": "ping"})
        assert next_of(ws, "pong")
        fakes.rooms.speak(room_id, sentence(reply.id, 2, final=True))
        frame = next_of(ws, "speech", "message")
        assert (frame["format"], frame["index"], frame["final"]) == ("opus", 2, True)
        ws.send_json({"type": "audio", "format": "mp3"})
        assert next_of(ws, "error")["code"] == "invalid_frame"


def test_a_late_joiner_gets_the_speech_so_far_after_the_text(
    http: TestClient,  # noqa: F811
    fakes: FakeServices,
) -> None:
    ana_id, ana = register(http, "ana")
    ben_id, ben = register(http, "ben")
    room_id = fakes.rooms.add_room({ana_id: MEMBER, ben_id: MEMBER})
    with connect(http, f"/ws/room/{room_id}") as first:
        join(first, ana, audio="pcm")
        reply = fakes.rooms.start_reply(room_id, "alpha", "Hello. How")
        fakes.rooms.speak(room_id, sentence(reply.id, 0))
        assert next_of(first, "speech")["index"] == 0  # the link has seen it
        with connect(http, f"/ws/room/{room_id}") as late:
            late.send_json({"type": "hello", "token": ben, "audio": "pcm"})
            kinds = [late.receive_json() for _ in range(3)]
            assert [f["type"] for f in kinds] == ["welcome", "message", "speech"]
            assert kinds[1]["message"]["id"] == reply.id and kinds[2]["index"] == 0
            fakes.rooms.speak(room_id, sentence(reply.id, 1, final=True))
            assert next_of(late, "speech")["index"] == 1
        with connect(http, f"/ws/room/{room_id}") as after:
            join(after, ben, audio="pcm")  # the reply was spoken to its end: nothing to hear
            fakes.rooms.post(room_id, pb.User(id=ana_id, name="ana"), "marker")
            frames = [next_of(after, "speech", "message")]
            while frames[-1]["type"] != "speech" and frames[-1]["message"]["content"] != "marker":
                frames.append(next_of(after, "speech", "message"))
            assert [f["type"] for f in frames] == ["message", "message"]  # the reply, the marker


def test_a_replys_whole_speech_as_opus_or_wav(
    http: TestClient,  # noqa: F811
    fakes: FakeServices,
) -> None:
    ana_id, ana = register(http, "ana")
    _, stranger = register(http, "zed")
    room_id = fakes.rooms.add_room({ana_id: MEMBER})
    reply = fakes.rooms.start_reply(room_id, "alpha", "One. Two.")
    silent = fakes.rooms.start_reply(room_id, "beta", "No voice.")
    for index in range(2):
        fakes.rooms.speak(room_id, sentence(reply.id, index, final=index == 1))
    path = f"/api/rooms/{room_id}/messages/{reply.id}/speech"
    opus = http.get(path, headers=bearer(ana))
    assert opus.status_code == 200 and opus.headers["content-type"] == "audio/ogg"
    assert opus_seconds(opus.content) == pytest.approx(0.2, abs=0.025)
    wav = http.get(path + "?format=wav", headers=bearer(ana))
    with wave.open(io.BytesIO(wav.content)) as file:
        assert (file.getframerate(), file.getnframes()) == (RATE, 1_600)
    for token, which in ((ana, silent.id), (stranger, reply.id)):
        missing = http.get(f"/api/rooms/{room_id}/messages/{which}/speech", headers=bearer(token))
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")


def test_a_resuming_client_gets_exactly_the_speech_it_missed(
    http: TestClient,  # noqa: F811
    fakes: FakeServices,
) -> None:
    ana_id, ana = register(http, "ana")
    room_id = fakes.rooms.add_room({ana_id: MEMBER})
    with connect(http, f"/ws/room/{room_id}") as first:
        join(first, ana, audio="pcm")
        reply = fakes.rooms.start_reply(room_id, "alpha", "One. Two. Three")
        for index in range(3):
            fakes.rooms.speak(room_id, sentence(reply.id, index))
            assert next_of(first, "speech")["index"] == index
    # The client had heard sentence 0 only when its socket dropped; 1 and 2 were lost with it.
    heard = {"message_id": reply.id, "index": 0}
    with connect(http, f"/ws/room/{room_id}") as again:
        again.send_json({"type": "hello", "token": ana, "audio": "pcm", "last_speech": heard})
        assert again.receive_json()["type"] == "welcome"
        assert [next_of(again, "speech")["index"] for _ in range(2)] == [1, 2]
        with connect(http, f"/ws/room/{room_id}") as other:  # another reply's mark skips none
            mark = {"message_id": "another-reply", "index": 9}
            other.send_json({"type": "hello", "token": ana, "audio": "pcm", "last_speech": mark})
            assert [next_of(other, "speech")["index"] for _ in range(3)] == [0, 1, 2]
        fakes.rooms.speak(room_id, sentence(reply.id, 3, final=True))
        assert next_of(again, "speech")["index"] == 3
    for bad in ({"message_id": reply.id}, {"message_id": reply.id, "index": -1}, "x"):
        with connect(http, f"/ws/room/{room_id}") as ws:
            ws.send_json({"type": "hello", "token": ana, "last_speech": bad})
            frame = ws.receive_json()
            assert (frame["type"], frame["code"]) == ("error", "invalid_frame")
