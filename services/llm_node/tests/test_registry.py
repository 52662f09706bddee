"""The model registry: reading the TOML file, and starting models without letting one stop the rest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.common.net import free_port
from services.llm_node.backends.base import ModelSpec
from services.llm_node.registry import (
    BACKENDS,
    DEFAULT_REGISTRY,
    ModelRegistry,
    RegistryError,
    load_specs,
)
from tests.support.providers import openai_server

pytestmark = pytest.mark.unit

MISSING_KEY_ENV = "CHIMERA_TEST_REGISTRY_MISSING_KEY"
REPO = Path(__file__).resolve().parents[3]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(text)
    return path


def test_load_specs_reads_every_field_and_fills_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[[models]]
id = "llama-ollama"
backend = "openai_compatible"
base_url = "http://127.0.0.1:11434/v1"
model = "llama3.1"
context_window = 8192

[[models]]
id = "qwen-local"
backend = "transformers"
model = "Qwen/Qwen2.5-0.5B-Instruct"
device = "cpu"
max_concurrency = 2
options = { trust_remote_code = false }
""",
    )
    llama, qwen = load_specs(path)
    assert llama == ModelSpec(
        id="llama-ollama",
        backend="openai_compatible",
        model="llama3.1",
        base_url="http://127.0.0.1:11434/v1",
        context_window=8192,
    )
    assert (qwen.backend, qwen.device, qwen.max_concurrency, qwen.options) == (
        "transformers",
        "cpu",
        2,
        {"trust_remote_code": False},
    )
    assert (qwen.api_key_env, qwen.context_window, qwen.stream) == (None, None, True)


def test_an_empty_registry_is_valid(tmp_path: Path) -> None:
    assert load_specs(write(tmp_path, "models = []\n")) == []
    assert load_specs(write(tmp_path, "")) == []


@pytest.mark.parametrize(
    ("text", "says"),
    [
        pytest.param(
            '[[models]]\nid = "a"\nbackend = "nope"\nmodel = "m"\n',
            ["unknown backend 'nope'", "openai_compatible"],
            id="unknown-backend",
        ),
        pytest.param(
            '[[models]]\nid = "a"\nbackend = "openai"\nmodel = "m"\n'
            '[[models]]\nid = "b"\nbackend = "openai"\nmodel = "m"\n'
            '[[models]]\nid = "a"\nbackend = "anthropic"\nmodel = "m"\n',
            ["repeats ids: a"],
            id="duplicate-ids",
        ),
        pytest.param(
            '[[models]]\nid = "a"\nbackend = "openai"\nmodel = "m\n',
            ["not valid TOML"],
            id="bad-toml",
        ),
        pytest.param(
            '[[models]]\nid = "a"\nbackend = "openai"\n', ["is invalid", "model"], id="no-model"
        ),
        pytest.param(
            '[[models]]\nid = "a"\nbackend = "openai"\nmodel = "m"\napi_key = "sk-secret"\n',
            ["is invalid", "api_key"],
            id="unknown-field",
        ),
        pytest.param(
            '[[models]]\nid = "has space"\nbackend = "openai"\nmodel = "m"\n',
            ["is invalid", "id"],
            id="bad-id",
        ),
        pytest.param(
            '[[models]]\nid = "a"\nbackend = "openai"\nmodel = "m"\ncontext_window = 0\n',
            ["is invalid", "context_window"],
            id="zero-window",
        ),
        pytest.param('[[modles]]\nid = "a"\n', ["is invalid", "modles"], id="misspelt-table"),
    ],
)
def test_a_malformed_registry_is_refused_with_a_readable_reason(
    tmp_path: Path, text: str, says: list[str]
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RegistryError) as caught:
        load_specs(path)
    message = str(caught.value)
    assert str(path) in message
    for part in says:
        assert part in message
    assert "sk-secret" not in message


def test_a_missing_registry_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="does not exist"):
        load_specs(tmp_path / "nope.toml")


def test_the_shipped_registry_parses() -> None:
    specs = load_specs(DEFAULT_REGISTRY)
    assert len({s.id for s in specs}) == len(specs) >= 3
    assert {s.backend for s in specs} <= set(BACKENDS)
    # Hosted models name the variable holding their key; local ones need none.
    by_backend = {s.backend: s for s in specs}
    assert by_backend["openai"].api_key_env == "OPENAI_API_KEY"
    assert by_backend["anthropic"].api_key_env == "ANTHROPIC_API_KEY"
    assert by_backend["transformers"].api_key_env is None


async def test_a_model_without_its_key_is_unavailable_and_the_others_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(MISSING_KEY_ENV, raising=False)
    closed = f"http://127.0.0.1:{free_port('127.0.0.1')}/v1"  # nothing listens there
    async with openai_server() as provider:
        registry = ModelRegistry(
            [
                ModelSpec(
                    id="gpt", backend="openai", model="gpt-4o-mini", api_key_env=MISSING_KEY_ENV
                ),
                ModelSpec(
                    id="local", backend="openai_compatible", model="m", base_url=provider.base_url
                ),
                ModelSpec(id="down", backend="openai_compatible", model="m", base_url=closed),
                ModelSpec(id="nowhere", backend="openai_compatible", model="m"),
            ]
        )
        assert {m.reason for m in registry.models.values()} == {"starting"}
        try:
            await registry.start()
            models = registry.models
            assert [(i, m.available) for i, m in models.items()] == [
                ("gpt", False),
                ("local", True),
                ("down", False),
                ("nowhere", False),
            ]
            assert models["gpt"].reason == f"{MISSING_KEY_ENV} is not set"
            assert models["local"].reason == "" and models["local"].backend is not None
            assert models["down"].reason == f"cannot reach {closed}: connection refused"
            assert "base_url is not set" in models["nowhere"].reason
            assert all(m.backend is None for i, m in models.items() if i != "local")
        finally:
            await registry.close()


def chimera(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the `chimera` command with a clean CHIMERA_* environment plus `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHIMERA_")}
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=REPO,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_chimera_up_with_a_missing_registry_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "my-models.toml"
    result = chimera("up", "--models", str(missing), "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2
    assert f"model registry {missing} does not exist" in result.stderr
    assert not (tmp_path / "data" / "internal.key").exists()  # no service was started


def test_the_llm_node_refuses_a_malformed_registry_with_its_reason(tmp_path: Path) -> None:
    path = write(tmp_path, '[[models]]\nid = "a"\nbackend = "nope"\nmodel = "m"\n')
    result = chimera("llm", CHIMERA_MODELS=str(path), CHIMERA_LLM_PORT=str(free_port("127.0.0.1")))
    assert result.returncode == 2
    assert "unknown backend 'nope'" in result.stdout + result.stderr
