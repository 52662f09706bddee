"""What clients see of each protobuf message, as the REST API and the frames carry it."""

from __future__ import annotations

from typing import cast

import pytest

from services.common.pb import account_pb2 as apb
from services.common.pb import room_pb2 as pb
from services.gateway import convert

pytestmark = pytest.mark.unit

T0 = 1_700_000_000_123
ISO0 = "2023-11-14T22:13:20.123Z"
EPOCH = "1970-01-01T00:00:00.000Z"


def _room() -> pb.Room:
    return pb.Room(
        id="r1",
        name="General",
        created_by="u-ana",
        created_at_ms=T0,
        updated_at_ms=T0 + 1000,
        last_seq=7,
        personas=[
            pb.Persona(
                handle="sage",
                model="m",
                temperature=0.7,
                max_tokens=9,
                talkativeness=0.3,
                voice="joe",
                voice_rate=1.25,
            ),
            pb.Persona(handle="mute", muted=True),
        ],
        access=pb.ROOM_ACCESS_OPEN,
        allow_guests=True,
        role=pb.ROOM_ROLE_MEMBER,
        autopilot=pb.Autopilot(enabled=True, strategy="manual", max_turns=3, summary_model="s"),
        summary=pb.Summary(text="so far", upto_seq=5, updated_at_ms=T0),
    )


def test_a_room_with_everything_set() -> None:
    assert convert.room_json(_room()) == {
        "id": "r1",
        "name": "General",
        "created_by": "u-ana",
        "created_at": ISO0,
        "updated_at": "2023-11-14T22:13:21.123Z",
        "last_seq": 7,
        "personas": [
            {
                "handle": "sage",
                "name": "",
                "model": "m",
                "system_prompt": "",
                "temperature": 0.7,  # a 32-bit float: 0.699999988 on the wire
                "max_tokens": 9,
                "talkativeness": 0.3,
                "muted": False,
                "voice": "joe",
                "voice_rate": 1.25,
            },
            {
                "handle": "mute",
                "name": "",
                "model": "",
                "system_prompt": "",
                "temperature": 0.0,
                "max_tokens": 0,
                "talkativeness": 0.0,
                "muted": True,
                "voice": None,  # no voice: not heard
                "voice_rate": 0.0,
            },
        ],
        "access": "open",
        "allow_guests": True,
        "role": "member",
        "autopilot": {
            "enabled": True,
            "strategy": "manual",
            "max_turns": 3,
            "token_budget": 0,
            "idle_timeout_s": 0,
            "summary_model": "s",
            "turns": 0,
            "tokens_used": 0,
            "stopped_reason": None,
        },
        "summary": {"text": "so far", "upto_seq": 5, "updated_at": ISO0},
    }


def test_an_empty_room_shows_the_defaults_and_no_summary() -> None:
    room = convert.room_json(pb.Room(id="r2"))
    assert room["created_at"] == EPOCH
    assert (room["personas"], room["access"], room["role"], room["summary"]) == (
        [],
        "invite",
        None,
        None,
    )
    assert room["autopilot"]["strategy"] == "natural"
    assert room["autopilot"]["summary_model"] is None


@pytest.mark.parametrize(
    ("role", "shown"),
    [(None, "member"), (pb.ROOM_ROLE_OWNER, "owner"), (pb.ROOM_ROLE_UNSPECIFIED, None), (99, None)],
)
def test_the_role_argument_overrides_the_rooms_own(role: int | None, shown: str | None) -> None:
    assert convert.room_json(_room(), role)["role"] == shown


def test_a_finished_ai_reply() -> None:
    message = pb.Message(
        id="m8",
        room_id="r1",
        seq=8,
        author=pb.Author(id="persona:sage", name="Sage", kind=pb.AUTHOR_KIND_AI, handle="sage"),
        content="Ship it.",
        reply_to="m7",
        status=pb.MESSAGE_STATUS_ERROR,
        created_at_ms=T0,
        client_msg_id="c1",
        model="m",
        usage=pb.Usage(prompt_tokens=4, completion_tokens=2),
        timing=pb.Timing(time_to_first_token_ms=10, total_ms=20),
        error="the model failed",
        queue_position=2,
        speech=pb.Speech(voice="joe", sentences=1, final=True, error="stopped", sample_rate=22050),
    )
    assert convert.message_json(message) == {
        "id": "m8",
        "room_id": "r1",
        "seq": 8,
        "author": {"id": "persona:sage", "name": "Sage", "kind": "ai", "handle": "sage"},
        "content": "Ship it.",
        "reply_to": "m7",
        "status": "error",
        "created_at": ISO0,
        "client_msg_id": "c1",
        "model": "m",
        "usage": {"prompt_tokens": 4, "completion_tokens": 2},
        "timing": {"time_to_first_token_ms": 10, "total_ms": 20},
        "error": "the model failed",
        "queue_position": 2,
        "speech": {
            "voice": "joe",
            "sentences": 1,
            "final": True,
            "error": "stopped",
            "sample_rate": 22050,
        },
    }


def test_a_bare_message_shows_none_for_what_it_lacks() -> None:
    assert convert.message_json(pb.Message(id="m1", usage=pb.Usage())) == {
        "id": "m1",
        "room_id": "",
        "seq": 0,
        "author": {"id": "", "name": "", "kind": "human", "handle": None},
        "content": "",
        "reply_to": None,
        "status": "complete",
        "created_at": EPOCH,
        "client_msg_id": None,
        "model": None,
        "usage": {"prompt_tokens": 0, "completion_tokens": 0},  # set, if empty
        "timing": None,
        "error": None,
        "queue_position": None,
        "speech": None,  # not spoken
    }


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        (pb.MESSAGE_STATUS_QUEUED, "queued"),
        (pb.MESSAGE_STATUS_STREAMING, "streaming"),
        (pb.MESSAGE_STATUS_COMPLETE, "complete"),
        (pb.MESSAGE_STATUS_INTERRUPTED, "interrupted"),
        (pb.MESSAGE_STATUS_ERROR, "error"),
        (cast(pb.MessageStatus, 99), "complete"),  # a value newer than this gateway
    ],
)
def test_message_statuses(status: pb.MessageStatus, shown: str) -> None:
    assert convert.message_json(pb.Message(status=status))["status"] == shown


@pytest.mark.parametrize(
    ("kind", "shown"),
    [(pb.AUTHOR_KIND_HUMAN, "human"), (pb.AUTHOR_KIND_AI, "ai"), (pb.AUTHOR_KIND_SYSTEM, "system")],
)
def test_author_kinds(kind: pb.AuthorKind, shown: str) -> None:
    assert convert.message_json(pb.Message(author=pb.Author(kind=kind)))["author"]["kind"] == shown


def test_autopilot_status() -> None:
    assert convert.autopilot_status_json(pb.AutopilotStatus()) == {
        "state": "off",
        "handle": None,
        "reason": None,
    }
    status = pb.AutopilotStatus(state="speaking", handle="sage", reason="typing")
    assert convert.autopilot_status_json(status) == {
        "state": "speaking",
        "handle": "sage",
        "reason": "typing",
    }


def test_accounts() -> None:
    guest = apb.Account(id="a1", name="Bo", kind=apb.ACCOUNT_KIND_GUEST, created_at_ms=T0)
    assert convert.account_json(guest) == {
        "id": "a1",
        "name": "Bo",
        "username": None,
        "kind": "guest",
        "admin": False,
    }
    user = apb.Account(id="a2", username="ana", kind=apb.ACCOUNT_KIND_USER, admin=True)
    assert convert.admin_account_json(user) == {
        "id": "a2",
        "name": "",
        "username": "ana",
        "kind": "user",
        "admin": True,
        "disabled": False,
        "created_at": EPOCH,
    }
    assert convert.account_json(apb.Account())["kind"] == "user"


def test_members_and_invites_default_to_the_member_role() -> None:
    member = pb.RoomMember(user=pb.User(id="u1", name="Ana"), joined_at_ms=T0, guest=True)
    assert convert.member_json(member) == {
        "user": {"id": "u1", "name": "Ana"},
        "role": "member",
        "joined_at": ISO0,
        "guest": True,
    }
    invite = pb.Invite(id="i1", room_id="r1", role=pb.ROOM_ROLE_VIEWER, uses=1, created_at_ms=T0)
    assert convert.invite_json(invite) == {
        "id": "i1",
        "room_id": "r1",
        "role": "viewer",
        "max_uses": None,
        "uses": 1,
        "expires_at": None,
        "created_at": ISO0,
        "revoked": False,
    }
    invite = pb.Invite(max_uses=5, expires_at_ms=T0)
    assert convert.invite_json(invite)["role"] == "member"
    assert (convert.invite_json(invite)["max_uses"], convert.invite_json(invite)["expires_at"]) == (
        5,
        ISO0,
    )


def test_tokens_show_never_as_none() -> None:
    token = apb.ApiToken(id="t1", name="ci", created_at_ms=T0, last_used_at_ms=T0)
    assert convert.token_json(token) == {
        "id": "t1",
        "name": "ci",
        "created_at": ISO0,
        "expires_at": None,
        "last_used_at": ISO0,
    }


def test_request_enums() -> None:
    assert convert.ROLE_VALUES == {
        "viewer": pb.ROOM_ROLE_VIEWER,
        "member": pb.ROOM_ROLE_MEMBER,
        "owner": pb.ROOM_ROLE_OWNER,
    }
    assert convert.ACCESS_VALUES == {"invite": pb.ROOM_ACCESS_INVITE, "open": pb.ROOM_ACCESS_OPEN}
    assert convert.role_name(pb.ROOM_ROLE_OWNER) == "owner"
    assert convert.role_name(pb.ROOM_ROLE_UNSPECIFIED) is None
