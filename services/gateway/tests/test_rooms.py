"""A persona in a request body, as the room service receives it."""

from __future__ import annotations

import pytest

from services.gateway.routes.rooms import persona_pb
from services.gateway.schemas import PersonaIn

pytestmark = pytest.mark.unit


def test_settings_left_out_stay_unset_for_the_room_service_to_fill() -> None:
    persona = persona_pb(PersonaIn.model_validate({"handle": "sage", "model": "m"}))
    assert (persona.handle, persona.model, persona.name, persona.muted) == ("sage", "m", "", False)
    assert not any(persona.HasField(f) for f in ("temperature", "max_tokens", "talkativeness"))


def test_every_setting_reaches_the_proto() -> None:
    body = {
        "handle": "sage",
        "name": "Sage",
        "model": "m",
        "system_prompt": "Be brief.",
        "temperature": 0.0,
        "max_tokens": 64,
        "talkativeness": 1.0,
        "muted": True,
    }
    persona = persona_pb(PersonaIn.model_validate(body))
    assert {f.name: v for f, v in persona.ListFields()} == body
