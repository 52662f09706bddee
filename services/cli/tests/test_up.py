"""`chimera up`: where its settings come from and what it hands the services it starts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

import pytest
from pydantic_settings import BaseSettings

from services.cli import up
from services.cli.main import build_parser, main
from services.common.net import free_port
from services.gateway.config import GatewaySettings
from services.llm_node.config import LlmSettings
from services.llm_node.registry import DEFAULT_REGISTRY
from services.room.config import RoomSettings
from services.tts_node.config import TtsSettings
from services.tts_node.registry import DEFAULT_REGISTRY as DEFAULT_VOICES

pytestmark = pytest.mark.unit

S = TypeVar("S", bound=BaseSettings)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing configured, as for a new user."""
    for name in list(os.environ):
        if name.startswith("CHIMERA_"):
            monkeypatch.delenv(name)


def settings_of(*argv: str) -> tuple[GatewaySettings, LlmSettings]:
    return up.settings(build_parser().parse_args(["up", *argv]))


def test_flags_left_out_are_the_services_settings_and_flags_given_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gateway, llm = settings_of()
    assert (gateway.host, gateway.port, gateway.data_dir) == ("127.0.0.1", 8000, Path("data"))
    assert llm.models == DEFAULT_REGISTRY

    monkeypatch.setenv("CHIMERA_HOST", "0.0.0.0")
    monkeypatch.setenv("CHIMERA_PORT", "9100")
    monkeypatch.setenv("CHIMERA_DATA_DIR", "/srv/chimera")
    monkeypatch.setenv("CHIMERA_MODELS", "mine.toml")
    gateway, llm = settings_of()
    assert (gateway.host, gateway.port, gateway.data_dir) == ("0.0.0.0", 9100, Path("/srv/chimera"))
    assert llm.models == Path("mine.toml")

    monkeypatch.setenv("CHIMERA_PORT", "not a port")  # a flag replaces it, so it does not matter
    gateway, llm = settings_of("--host", "", "--port", "0", "--data-dir", "d", "--models", "m.toml")
    assert (gateway.host, gateway.port, gateway.data_dir) == ("", 0, Path("d"))
    assert llm.models == Path("m.toml")


def test_a_bad_setting_is_named_and_nothing_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("CHIMERA_PORT", "eighty")
    with pytest.raises(SystemExit) as exited:
        main(["up", "--data-dir", str(tmp_path / "data")])
    assert exited.value.code == 2
    assert capsys.readouterr().err.startswith("chimera up: CHIMERA_PORT: Input should be")
    assert not (tmp_path / "data").exists()


def read_settings(kind: type[S], env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> S:
    """`kind` as a child process with environment `env` reads it."""
    with monkeypatch.context() as child:
        for name, value in env.items():
            if name.startswith("CHIMERA_"):
                child.setenv(name, value)
        return kind()


def test_the_services_it_starts_find_each_other(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    port, room_port = free_port("127.0.0.1"), free_port("127.0.0.1")
    models, voices = tmp_path / "models.toml", tmp_path / "voices.toml"
    children, url = up.plan(
        host="0.0.0.0",
        port=port,
        data_dir=tmp_path,
        models=models,
        voices=voices,
        room_port=room_port,
    )
    assert url == f"http://127.0.0.1:{port}"
    assert [(c.name, c.module) for c in children] == [
        ("llm node", "services.llm_node"),
        ("tts node", "services.tts_node"),
        ("room service", "services.room"),
        ("gateway", "services.gateway"),
    ]
    llm = read_settings(LlmSettings, children[0].env, monkeypatch)
    tts = read_settings(TtsSettings, children[1].env, monkeypatch)
    room = read_settings(RoomSettings, children[2].env, monkeypatch)
    gateway = read_settings(GatewaySettings, children[3].env, monkeypatch)

    llm_addr = f"{llm.llm_host}:{llm.llm_port}"
    assert room.room_port == room_port
    assert llm.llm_port not in (port, room_port)
    assert room.llm_addr == gateway.llm_addr == llm_addr
    assert gateway.room_addr == f"{room.room_host}:{room.room_port}"
    assert (gateway.host, gateway.port) == ("0.0.0.0", port)
    assert llm.data_dir == room.data_dir == gateway.data_dir == tmp_path
    assert llm.models == models
    assert tts.voices == voices and tts.data_dir == tmp_path
    assert tts.tts_port not in (port, room_port, llm.llm_port)
    # Where the room service and the gateway will reach the TTS node.
    assert children[2].env["CHIMERA_TTS_ADDR"] == f"{tts.tts_host}:{tts.tts_port}"
    assert children[3].env["CHIMERA_TTS_ADDR"] == f"{tts.tts_host}:{tts.tts_port}"


def test_voices_come_from_the_flag_else_the_environment_else_the_shipped_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parse = build_parser().parse_args
    assert up.tts_settings(parse(["up"])).voices == DEFAULT_VOICES
    monkeypatch.setenv("CHIMERA_VOICES", "env.toml")
    assert up.tts_settings(parse(["up"])).voices == Path("env.toml")
    assert up.tts_settings(parse(["up", "--voices", "v.toml"])).voices == Path("v.toml")


def test_a_missing_voice_registry_is_named_and_nothing_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["up", "--data-dir", str(tmp_path / "data"), "--voices", str(tmp_path / "no.toml")])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        f"chimera up: voice registry {tmp_path / 'no.toml'} does not exist\n"
    )
    assert not (tmp_path / "data").exists()
