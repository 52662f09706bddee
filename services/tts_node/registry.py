"""The voice registry: a TOML file of `[[voices]]`, each started on its backend.

A voice that cannot start (a missing file or package, no API key) stays listed with
`available = false` and the reason; the node serves the rest.
"""

from __future__ import annotations

import asyncio
import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.tts_node.backends.base import BackendError, TtsBackend, VoiceSpec

logger = logging.getLogger(__name__)

DEFAULT_REGISTRY = Path(__file__).with_name("voices.toml")
START_TIMEOUT_S = 120.0


def _piper(spec: VoiceSpec) -> TtsBackend:
    from services.tts_node.backends.piper import PiperBackend

    return PiperBackend(spec)


def _openai(spec: VoiceSpec) -> TtsBackend:
    from services.tts_node.backends.openai import OpenAITtsBackend

    return OpenAITtsBackend(spec)


def _fake(spec: VoiceSpec) -> TtsBackend:
    from services.tts_node.backends.fake import FakeBackend

    return FakeBackend(spec)


# Heavy imports (onnxruntime, piper, SDKs) happen inside these factories only.
BACKENDS: dict[str, Callable[[VoiceSpec], TtsBackend]] = {
    "piper": _piper,
    "openai": _openai,
    "fake": _fake,  # a tone as long as the text: tests, demos and load runs
}


class _VoiceEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
    backend: str
    model: str = Field(min_length=1)
    speaker: str | int | None = None
    language: str | None = None
    name: str | None = Field(None, max_length=200)
    gain: float | None = Field(None, gt=0, le=100)
    threads: int = Field(0, ge=0)
    device: Literal["cpu", "cuda"] = "cpu"
    base_url: str | None = None
    api_key_env: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value not in BACKENDS:
            raise ValueError(f"unknown backend {value!r}; expected one of {', '.join(BACKENDS)}")
        return value


class _RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    voices: list[_VoiceEntry] = Field(default_factory=list)


class RegistryError(Exception):
    """The registry file is missing or malformed."""


def load_specs(path: Path) -> list[VoiceSpec]:
    """Parse and validate a registry file; relative .onnx paths are relative to the file."""
    try:
        parsed = _RegistryFile.model_validate(tomllib.loads(path.read_text()))
    except FileNotFoundError:
        raise RegistryError(f"voice registry {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"voice registry {path} is not valid TOML: {exc}") from None
    except ValidationError as exc:
        raise RegistryError(f"voice registry {path} is invalid: {_problems(exc)}") from None
    ids = [v.id for v in parsed.voices]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise RegistryError(f"voice registry {path} repeats ids: {', '.join(duplicates)}")
    specs = []
    for entry in parsed.voices:
        fields = entry.model_dump()
        if entry.speaker is not None:
            fields["speaker"] = str(entry.speaker)
        model = Path(entry.model).expanduser()
        if entry.model.endswith(".onnx") and not model.is_absolute():
            fields["model"] = str(path.parent.resolve() / model)
        specs.append(VoiceSpec(**fields))
    return specs


def _problems(exc: ValidationError) -> str:
    """Each problem as `voices[1].gain: <what is wrong>`, without the values."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        problems.append(f"{where.lstrip('.') or 'file'}: {error['msg']}")
    return "; ".join(problems)


@dataclass
class Voice:
    """A registry entry and, once started, its backend."""

    spec: VoiceSpec
    backend: TtsBackend | None = None
    available: bool = False
    reason: str = "starting"


class VoiceRegistry:
    """Every configured voice, started concurrently; unavailable ones say why."""

    def __init__(self, specs: list[VoiceSpec]) -> None:
        self.voices: dict[str, Voice] = {spec.id: Voice(spec) for spec in specs}

    async def start(self) -> None:
        """Start every backend; failures mark the voice unavailable instead of raising."""
        await asyncio.gather(*(self._start(voice) for voice in self.voices.values()))

    async def _start(self, voice: Voice) -> None:
        backend: TtsBackend | None = None
        try:
            # In a thread: importing onnxruntime or an SDK takes a while.
            backend = await asyncio.to_thread(BACKENDS[voice.spec.backend], voice.spec)
            async with asyncio.timeout(START_TIMEOUT_S):
                await backend.start()
        except BackendError as exc:
            voice.reason = exc.message
        except TimeoutError:
            voice.reason = f"did not start within {START_TIMEOUT_S:.0f} s"
        except Exception as exc:  # a broken backend must not take the node down
            logger.exception("voice failed to start", extra={"voice_id": voice.spec.id})
            voice.reason = f"failed to start: {type(exc).__name__}"
        else:
            voice.backend, voice.available, voice.reason = backend, True, ""
            logger.info(
                "voice available", extra={"voice_id": voice.spec.id, "backend": voice.spec.backend}
            )
            return
        if backend is not None:
            await backend.close()
        logger.warning(
            "voice unavailable",
            extra={
                "voice_id": voice.spec.id,
                "backend": voice.spec.backend,
                "reason": voice.reason,
            },
        )

    def get(self, voice_id: str) -> Voice | None:
        return self.voices.get(voice_id)

    async def close(self) -> None:
        """Close every started backend."""
        for voice in self.voices.values():
            if voice.backend is not None:
                try:
                    await voice.backend.close()
                except Exception:
                    logger.exception("closing backend failed", extra={"voice_id": voice.spec.id})
