"""Persona validation and conversion between wire and store types."""

from __future__ import annotations

from collections.abc import Sequence

from services.common.errors import InvalidArgument
from services.common.pb import room_pb2 as pb
from services.common.validation import clean_name, storable
from services.room.orchestrator.mentions import ALL, HANDLE
from services.room.store.records import PersonaRecord

MAX_PERSONAS = 20
MAX_PERSONA_NAME = 64
MAX_SYSTEM_PROMPT = 20_000
MAX_MODEL_ID = 128
MAX_REPLY_TOKENS = 32_768
DEFAULT_TEMPERATURE = 0.7
DEFAULT_MAX_TOKENS = 512
DEFAULT_TALKATIVENESS = 0.5
MAX_VOICE_ID = 128
MIN_VOICE_RATE, MAX_VOICE_RATE = 0.5, 2.0


def validate_personas(personas: Sequence[pb.Persona]) -> list[PersonaRecord]:
    """Check a room's personas and fill in defaults; InvalidArgument says what is wrong."""
    if len(personas) > MAX_PERSONAS:
        raise InvalidArgument(f"A room has at most {MAX_PERSONAS} personas.")
    records: list[PersonaRecord] = []
    seen: set[str] = set()
    for persona in personas:
        storable(persona.handle, "Persona handle")
        handle = persona.handle.strip().lstrip("@").lower()
        if not HANDLE.match(handle) or handle == ALL:
            raise InvalidArgument(
                f"Persona handle {persona.handle!r} must be 1-32 of a-z, 0-9, '_' or '-', "
                "start with a letter or digit, and not be 'all'."
            )
        if handle in seen:
            raise InvalidArgument(
                f"Persona handle @{handle} is used twice; handles are unique in a room."
            )
        seen.add(handle)
        model = storable(persona.model, f"Persona @{handle} model").strip()
        if not model or len(model) > MAX_MODEL_ID:
            raise InvalidArgument(
                f"Persona @{handle} needs a model id (1-{MAX_MODEL_ID} characters)."
            )
        storable(persona.system_prompt, f"Persona @{handle} system prompt")
        if len(persona.system_prompt) > MAX_SYSTEM_PROMPT:
            raise InvalidArgument(
                f"Persona @{handle}: system prompt is over {MAX_SYSTEM_PROMPT} characters."
            )
        temperature = (
            persona.temperature if persona.HasField("temperature") else DEFAULT_TEMPERATURE
        )
        if not 0.0 <= temperature <= 2.0:
            raise InvalidArgument(f"Persona @{handle}: temperature must be between 0 and 2.")
        max_tokens = persona.max_tokens if persona.HasField("max_tokens") else DEFAULT_MAX_TOKENS
        if not 1 <= max_tokens <= MAX_REPLY_TOKENS:
            raise InvalidArgument(
                f"Persona @{handle}: max_tokens must be between 1 and {MAX_REPLY_TOKENS}."
            )
        talkativeness = (
            persona.talkativeness if persona.HasField("talkativeness") else DEFAULT_TALKATIVENESS
        )
        if not 0.0 <= talkativeness <= 1.0:
            raise InvalidArgument(f"Persona @{handle}: talkativeness must be between 0 and 1.")
        voice = storable(persona.voice, f"Persona @{handle} voice").strip()
        if len(voice) > MAX_VOICE_ID:
            raise InvalidArgument(f"Persona @{handle}: voice is over {MAX_VOICE_ID} characters.")
        voice_rate = persona.voice_rate if persona.HasField("voice_rate") else 1.0
        if not MIN_VOICE_RATE <= voice_rate <= MAX_VOICE_RATE:
            raise InvalidArgument(
                f"Persona @{handle}: voice_rate must be between {MIN_VOICE_RATE} and "
                f"{MAX_VOICE_RATE}."
            )
        records.append(
            PersonaRecord(
                handle=handle,
                name=clean_name(
                    persona.name or handle, f"Persona @{handle} name", MAX_PERSONA_NAME
                ),
                model=model,
                system_prompt=persona.system_prompt,
                temperature=round(temperature, 4),
                max_tokens=max_tokens,
                talkativeness=round(talkativeness, 4),
                muted=persona.muted,
                voice=voice,
                voice_rate=round(voice_rate, 4),
            )
        )
    return records


def persona_pb(persona: PersonaRecord) -> pb.Persona:
    """A stored persona as the wire type."""
    return pb.Persona(
        handle=persona.handle,
        name=persona.name,
        model=persona.model,
        system_prompt=persona.system_prompt,
        temperature=persona.temperature,
        max_tokens=persona.max_tokens,
        talkativeness=persona.talkativeness,
        muted=persona.muted,
        voice=persona.voice,
        voice_rate=persona.voice_rate,
    )
