"""RoomLink's speech: frames only to sockets that asked, one encoding per format, nothing lost
across a reconnect."""

from __future__ import annotations

import base64

import grpc
import pytest

from services.common.pb import room_pb2 as pb
from services.gateway.tests.fakes import FakeServices
from services.gateway.tests.link_support import MEMBER, joined, open_link
from services.gateway.ws import speech
from services.gateway.ws.frames import SpeechFormat

pytestmark = pytest.mark.unit

RATE = 8_000


def sentence(message_id: str, index: int, *, final: bool = False) -> pb.SpeechEvent:
    pcm = bytes([index + 1, 0]) * 800  # 0.1 s of a constant, told apart by index
    return pb.SpeechEvent(
        message_id=message_id,
        index=index,
        text=f"Sentence {index}.",
        sample_rate=RATE,
        pcm=pcm,
        final=final,
    )


async def test_each_format_is_encoded_once_and_the_same_bytes_go_to_every_socket(
    fakes: FakeServices, channel: grpc.aio.Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    encodings: list[SpeechFormat] = []
    real = speech.speech_frame

    async def counting(event: pb.SpeechEvent, fmt: SpeechFormat) -> str:
        encodings.append(fmt)
        return await real(event, fmt)

    monkeypatch.setattr(speech, "speech_frame", counting)
    users = ("o1", "o2", "o3", "p1", "p2", "mute")
    room_id = fakes.rooms.add_room(dict.fromkeys(users, MEMBER))
    link = await open_link(channel, room_id)
    try:
        sockets = dict(zip(users, await joined(link, *users, direct=True), strict=True))
        formats: dict[str, SpeechFormat] = {"o": "opus", "p": "pcm"}
        for user, (conn, _) in sockets.items():
            conn.audio = formats.get(user[0])
        reply = fakes.rooms.start_reply(room_id, "alpha", "")
        event = sentence(reply.id, 0)
        fakes.rooms.speak(room_id, event)
        for user in users[:-1]:
            await sockets[user][1].wait_for("speech")
        fakes.rooms.post(room_id, pb.User(id="o1", name="o1"), "after")
        await sockets["mute"][1].shown("after")  # the speech would have come before it
        assert sockets["mute"][1].of("speech") == []
        assert sorted(encodings) == ["opus", "pcm"]
        opus = [sockets[u][1].of("speech") for u in ("o1", "o2", "o3")]
        pcm = [sockets[u][1].of("speech") for u in ("p1", "p2")]
        assert opus[0] == opus[1] == opus[2] and pcm[0] == pcm[1]
        frame = pcm[0][0]
        assert frame == {
            "type": "speech",
            "message_id": reply.id,
            "index": 0,
            "text": "Sentence 0.",
            "format": "pcm",
            "sample_rate": RATE,
            "audio": base64.b64encode(event.pcm).decode(),
            "final": False,
        }
        assert opus[0][0]["format"] == "opus" and opus[0][0]["sample_rate"] == 48_000
        assert base64.b64decode(opus[0][0]["audio"])[:4] == b"OggS"
    finally:
        await link.close()


async def test_a_final_frame_carries_its_error_and_sentences_spoken_while_down_follow_a_reconnect(
    fakes: FakeServices, channel: grpc.aio.Channel
) -> None:
    room_id = fakes.rooms.add_room({"a": MEMBER})
    link = await open_link(channel, room_id)
    try:
        [(conn, sock)] = await joined(link, "a")
        conn.audio = "pcm"
        reply = fakes.rooms.start_reply(room_id, "alpha", "")
        fakes.rooms.speak(room_id, sentence(reply.id, 0))
        await sock.wait_for("speech")
        fakes.rooms.opens.clear()  # the room service restarting
        fakes.rooms.cut(room_id)
        fakes.rooms.speak(room_id, sentence(reply.id, 1), broadcast=False)
        fakes.rooms.opens.set()
        await sock.wait_until(lambda: len(sock.of("speech")) == 2)
        failed = pb.SpeechEvent(message_id=reply.id, index=2, final=True, error="TTS node down.")
        fakes.rooms.speak(room_id, failed)
        await sock.wait_until(lambda: len(sock.of("speech")) == 3)
        frames = sock.of("speech")
        assert [f["index"] for f in frames] == [0, 1, 2]  # none twice, none lost
        assert frames[2]["final"] and frames[2]["error"] == "TTS node down."
        assert frames[2]["audio"] == ""
        assert link.speaking() == []  # a final reply is forgotten
    finally:
        await link.close()


async def test_a_socket_without_audio_that_switches_it_on_gets_later_sentences(
    fakes: FakeServices, channel: grpc.aio.Channel
) -> None:
    room_id = fakes.rooms.add_room({"a": MEMBER, "b": MEMBER})
    link = await open_link(channel, room_id)
    try:
        [(conn, sock), (listener, heard)] = await joined(link, "a", "b")
        listener.audio = "pcm"
        reply = fakes.rooms.start_reply(room_id, "alpha", "")
        fakes.rooms.speak(room_id, sentence(reply.id, 0))
        await heard.wait_for("speech")  # pushed to every socket by now
        conn.audio = "opus"
        fakes.rooms.speak(room_id, sentence(reply.id, 1, final=True))
        await sock.wait_for("speech")
        assert [f["index"] for f in sock.of("speech")] == [1]
    finally:
        await link.close()
