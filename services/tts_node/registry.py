"""The voice registry: a TOML file of `[[voices]]`, each started on its backend.

A voice that cannot start (a missing file or package, no API key) stays listed with
`available = false` and the reason; the node serves the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.common.node.registry import (
    Entry,
    NodeRegistry,
    RegistryError,
    check_unique,
    known_backend,
    read_registry,
)
from services.tts_node.backends.base import TtsBackend, VoiceSpec

__all__ = ["BACKENDS", "RegistryError", "Voice", "VoiceRegistry", "load_specs"]

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
    backend: Annotated[str, AfterValidator(known_backend(BACKENDS))]
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


class _RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    voices: list[_VoiceEntry] = Field(default_factory=list)


def load_specs(path: Path) -> list[VoiceSpec]:
    """Parse and validate a registry file; relative .onnx paths are relative to the file."""
    parsed = read_registry(path, _RegistryFile, "voice")
    check_unique((v.id for v in parsed.voices), path, "voice")
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


class Voice(Entry[VoiceSpec, TtsBackend]):
    """A registry entry and, once started, its backend."""


class VoiceRegistry(NodeRegistry[Voice]):
    """Every configured voice, started concurrently; unavailable ones say why."""

    kind = "voice"
    start_timeout_s = START_TIMEOUT_S

    def __init__(self, specs: list[VoiceSpec]) -> None:
        super().__init__((Voice(spec) for spec in specs), BACKENDS)
        self.voices = self.entries
