"""The generic converter: an output model's fields read off a protobuf message."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args, get_origin

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from pydantic import BaseModel

from services.common.pb import account_pb2 as apb
from services.common.pb import room_pb2 as pb
from services.gateway import schemas as s
from services.gateway.from_proto import WhenUnset, from_proto, wire_names

pytestmark = pytest.mark.unit


class InviteWithCreator(s.InviteOut):
    created_by: str  # in the proto, not in InviteOut


class Loose(BaseModel):
    created_by: str | None
    expires_at: str | None
    role: Annotated[Literal["viewer", "member", "owner", "nobody"], WhenUnset("nobody")]


class PersonaSettings(BaseModel):
    temperature: float | None  # `optional float` in the proto: unset and 0 differ


def test_a_field_added_to_a_model_is_read_from_the_proto_field_of_its_name() -> None:
    invite = pb.Invite(id="i1", created_by="u-ana", created_at_ms=1)
    shown = from_proto(InviteWithCreator, invite)
    assert shown["created_by"] == "u-ana"
    assert list(shown) == list(InviteWithCreator.model_fields)  # in the model's order


def test_zero_values_are_none_where_the_model_is_nullable_or_what_it_says() -> None:
    assert from_proto(Loose, pb.Invite()) == {
        "created_by": None,
        "expires_at": None,
        "role": "nobody",
    }
    invite = pb.Invite(created_by="u1", expires_at_ms=1, role=pb.ROOM_ROLE_OWNER)
    assert from_proto(Loose, invite) == {
        "created_by": "u1",
        "expires_at": "1970-01-01T00:00:00.001Z",
        "role": "owner",
    }


def test_a_field_with_presence_is_none_only_when_unset() -> None:
    assert from_proto(PersonaSettings, pb.Persona()) == {"temperature": None}
    assert from_proto(PersonaSettings, pb.Persona(temperature=0.0)) == {"temperature": 0.0}


def test_values_stand_in_for_the_messages_fields() -> None:
    invite = pb.Invite(role=pb.ROOM_ROLE_OWNER)
    assert from_proto(Loose, invite, role=pb.ROOM_ROLE_VIEWER)["role"] == "viewer"


def test_a_model_field_without_a_proto_field_is_an_error() -> None:
    class Accent(s.PersonaOut):
        accent: str

    with pytest.raises(TypeError, match=r"Accent\.accent: chimera\.v1\.Persona has no such field"):
        from_proto(Accent, pb.Persona())


def test_an_enum_that_may_be_unspecified_must_say_what_that_means() -> None:
    class Strict(BaseModel):
        role: Literal["viewer", "member", "owner"]

    with pytest.raises(TypeError, match=r"Strict\.role: say with WhenUnset"):
        from_proto(Strict, pb.Invite())


@pytest.mark.parametrize(
    "enum",
    [
        *pb.DESCRIPTOR.enum_types_by_name.values(),
        *apb.DESCRIPTOR.enum_types_by_name.values(),
        apb.Principal.DESCRIPTOR.enum_types_by_name["CredentialKind"],
    ],
    ids=lambda enum: enum.name,
)
def test_every_enum_value_is_named_with_its_enums_prefix(enum: Any) -> None:
    names = wire_names(enum)
    assert len(names) == len(enum.values) - 1  # all but UNSPECIFIED
    assert all(name == name.lower() and name for name in names.values())


@pytest.mark.parametrize(
    ("model", "descriptor"),
    [
        (s.RoomOut, pb.Room.DESCRIPTOR),
        (s.AuthorOut, pb.Author.DESCRIPTOR),
        (s.MessageOut, pb.Message.DESCRIPTOR),
        (s.MeOut, apb.Account.DESCRIPTOR),
        (s.MemberOut, pb.RoomMember.DESCRIPTOR),
        (s.InviteOut, pb.Invite.DESCRIPTOR),
    ],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_every_enum_value_is_one_the_web_app_knows(
    model: type[BaseModel], descriptor: Descriptor
) -> None:
    checked = 0
    for name, info in model.model_fields.items():
        field = descriptor.fields_by_name.get(name)
        if field is None or field.type != FieldDescriptor.TYPE_ENUM:
            continue
        choices = _choices(info.annotation)
        assert set(wire_names(field.enum_type).values()) <= choices, name
        unset = [m.value for m in info.metadata if isinstance(m, WhenUnset)]
        assert set(unset) <= choices, name
        checked += 1
    assert checked


def _choices(annotation: Any) -> set[str]:
    if get_origin(annotation) is Literal:
        return set(get_args(annotation))
    return set().union(*(_choices(a) for a in get_args(annotation)))
