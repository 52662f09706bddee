"""What the server writes on a socket is a frame of ws/frames.py, field for field."""

from __future__ import annotations

import json

import pytest
from pydantic import TypeAdapter

from services.common.pb import room_pb2 as pb
from services.gateway.convert import autopilot_status_json, message_json, room_json, user_json
from services.gateway.ws.frames import ServerFrame
from services.gateway.ws.protocol import encode, error_frame

pytestmark = pytest.mark.unit

_server_frame: TypeAdapter[object] = TypeAdapter(ServerFrame)
ANA = pb.User(id="u-ana", name="Ana")


def _room() -> pb.Room:
    return pb.Room(
        id="r1",
        name="General",
        created_by=ANA.id,
        created_at_ms=1_700_000_000_000,
        updated_at_ms=1_700_000_000_001,
        last_seq=7,
        personas=[pb.Persona(handle="sage", name="Sage", model="m", temperature=0.7, max_tokens=9)],
        access=pb.ROOM_ACCESS_OPEN,
        allow_guests=True,
        role=pb.ROOM_ROLE_MEMBER,
        autopilot=pb.Autopilot(enabled=True, strategy="manual", max_turns=3, summary_model="s"),
        summary=pb.Summary(text="so far", upto_seq=5, updated_at_ms=1_700_000_000_002),
    )


def _reply() -> pb.Message:
    return pb.Message(
        id="m8",
        room_id="r1",
        seq=8,
        author=pb.Author(id="persona:sage", name="Sage", kind=pb.AUTHOR_KIND_AI, handle="sage"),
        content="Ship it.",
        reply_to="m7",
        status=pb.MESSAGE_STATUS_ERROR,
        created_at_ms=1_700_000_000_003,
        model="m",
        usage=pb.Usage(prompt_tokens=4, completion_tokens=2),
        timing=pb.Timing(time_to_first_token_ms=10, total_ms=20),
        error="the model failed",
        queue_position=2,
    )


@pytest.mark.parametrize(
    "text",
    [
        encode(
            "welcome",
            room=room_json(_room()),
            user=user_json(ANA),
            participants=[user_json(ANA)],
            last_seq=7,
            resumed=True,
            autopilot_status=autopilot_status_json(pb.AutopilotStatus(state="speaking")),
        ),
        encode("message", message=message_json(_reply())),
        encode("message", message=message_json(pb.Message(id="m1", room_id="r1", seq=1))),
        encode("delta", message_id="m8", text="Hel"),
        encode("ack", client_msg_id="c1", message_id="m8", seq=8, duplicate=False),
        encode("typing", user=user_json(ANA), active=True),
        encode("presence", user=user_json(ANA), online=False),
        encode("room", room=room_json(pb.Room(id="r2"), pb.ROOM_ROLE_OWNER)),
        encode("autopilot_status", **autopilot_status_json(pb.AutopilotStatus(reason="typing"))),
        encode("pong"),
        error_frame("rate_limited", "Too many messages; slow down."),
        error_frame("internal", "Send it again.", client_msg_id="c2"),
    ],
    ids=lambda text: json.loads(text)["type"],
)
def test_each_server_frame_is_one_of_the_frame_models(text: str) -> None:
    frame = _server_frame.validate_json(text)
    # Nothing left out or added (nested models drop unknown keys), no value changed.
    assert _server_frame.dump_python(frame, mode="json", exclude_unset=True) == json.loads(text)
