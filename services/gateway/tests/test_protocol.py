"""Client frame validation and the resume rule."""

from __future__ import annotations

import json

import pytest

from services.gateway.ws.frames import HelloFrame, PingFrame, SendFrame, TypingFrame
from services.gateway.ws.protocol import (
    FrameError,
    can_resume,
    encode,
    parse_client_frame,
)

pytestmark = pytest.mark.unit


def test_parses_each_client_frame_type() -> None:
    assert parse_client_frame('{"type":"hello","token":"t","last_seq":3}') == HelloFrame(
        type="hello", token="t", last_seq=3
    )
    send = parse_client_frame('{"type":"send","content":"hi","client_msg_id":"c1","reply_to":"m1"}')
    assert isinstance(send, SendFrame) and send.content == "hi" and send.reply_to == "m1"
    assert parse_client_frame('{"type":"typing","active":true}') == TypingFrame(
        type="typing", active=True
    )
    assert isinstance(parse_client_frame('{"type":"ping"}'), PingFrame)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("not json", "invalid_json"),
        ("[" * 50_000 + "]" * 50_000, "invalid_json"),  # deep nesting must not crash the parser
        ('{"type":"send","content":"\\udcff"}', "invalid_frame"),  # a lone surrogate, JSON-escaped
        ("[1, 2]", "invalid_frame"),
        ('"hello"', "invalid_frame"),
        ('{"content":"no type"}', "unknown_type"),
        ('{"type":"shout"}', "unknown_type"),
        ('{"type":["send"]}', "unknown_type"),
        ('{"type":"send"}', "invalid_frame"),
        ('{"type":"send","content":42}', "invalid_frame"),
        ('{"type":"typing","active":"yes"}', "invalid_frame"),
        ('{"type":"typing","active":1}', "invalid_frame"),
        ('{"type":"hello","token":"t","last_seq":-1}', "invalid_frame"),
        ('{"type":"hello","token":"t","last_seq":' + "9" * 40 + "}", "invalid_frame"),
        ('{"type":"hello","token":"t","last_seq":' + "9" * 5000 + "}", "invalid_json"),
        ('{"type":"hello","token":"t","last_seq":1.5}', "invalid_frame"),
        ('{"type":"send","content":"x","client_msg_id":""}', "invalid_frame"),
        ('{"type":"send","content":"x","client_msg_id":"' + "c" * 129 + '"}', "invalid_frame"),
    ],
)
def test_bad_frames_raise_a_frame_error_with_a_code(text: str, code: str) -> None:
    with pytest.raises(FrameError) as caught:
        parse_client_frame(text)
    assert caught.value.code == code
    assert caught.value.message


def test_resume_only_within_the_window_and_never_from_the_future() -> None:
    assert can_resume(None, 10, 1000) is False
    assert can_resume(10, 10, 1000) is True
    assert can_resume(0, 1000, 1000) is True
    assert can_resume(0, 1001, 1000) is False
    assert can_resume(11, 10, 1000) is False  # the client claims more than exists: reload instead


def test_server_frames_are_compact_json_with_a_type() -> None:
    frame = encode("ack", client_msg_id="c1", message_id="m1", seq=7, duplicate=False)
    assert json.loads(frame) == {
        "type": "ack",
        "client_msg_id": "c1",
        "message_id": "m1",
        "seq": 7,
        "duplicate": False,
    }
    assert " " not in frame
    assert "é" in encode("message", message={"content": "café"})  # UTF-8 kept, not \\u-escaped
