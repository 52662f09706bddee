"""Persona validation."""

from __future__ import annotations

import pytest

from services.common.errors import InvalidArgument
from services.common.pb import room_pb2 as pb
from services.room.personas import DEFAULT_MAX_TOKENS, DEFAULT_TEMPERATURE, validate_personas

pytestmark = pytest.mark.unit


def test_defaults_and_normalisation() -> None:
    [record] = validate_personas([pb.Persona(handle="@Alpha", model="m")])
    assert record.handle == "alpha"
    assert record.name == "alpha"
    assert record.temperature == DEFAULT_TEMPERATURE and record.max_tokens == DEFAULT_MAX_TOKENS


def test_a_voice_is_kept_with_its_rate_and_none_is_the_default() -> None:
    voiced, silent = validate_personas(
        [
            pb.Persona(handle="a", model="m", voice=" joe ", voice_rate=1.5),
            pb.Persona(handle="b", model="m"),
        ]
    )
    assert (voiced.voice, voiced.voice_rate) == ("joe", 1.5)
    assert (silent.voice, silent.voice_rate) == ("", 1.0)


def test_zero_temperature_is_kept() -> None:
    [record] = validate_personas([pb.Persona(handle="a", model="m", temperature=0.0)])
    assert record.temperature == 0.0


@pytest.mark.parametrize(
    ("persona", "message"),
    [
        (pb.Persona(handle="", model="m"), "handle"),
        (pb.Persona(handle="has space", model="m"), "handle"),
        (pb.Persona(handle="all", model="m"), "all"),
        (pb.Persona(handle="x" * 33, model="m"), "handle"),
        (pb.Persona(handle="ok", model=""), "model"),
        (pb.Persona(handle="ok", model="m", temperature=2.5), "temperature"),
        (pb.Persona(handle="ok", model="m", max_tokens=0), "max_tokens"),
        (pb.Persona(handle="ok", model="m", system_prompt="x" * 20_001), "system prompt"),
        (pb.Persona(handle="ok", model="m", name="bad\x00name"), "control"),
        (pb.Persona(handle="ok", model="m", voice="joe", voice_rate=0.4), "voice_rate"),
        (pb.Persona(handle="ok", model="m", voice="joe", voice_rate=2.1), "voice_rate"),
        (pb.Persona(handle="ok", model="m", voice="v" * 129), "voice"),
    ],
)
def test_invalid_personas_are_refused_with_a_reason(persona: pb.Persona, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        validate_personas([persona])


def test_handles_are_unique_ignoring_case() -> None:
    with pytest.raises(InvalidArgument, match="twice"):
        validate_personas(
            [pb.Persona(handle="alpha", model="m"), pb.Persona(handle="ALPHA", model="m")]
        )
