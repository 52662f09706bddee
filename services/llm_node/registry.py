"""The model registry: a TOML file of `[[models]]`, each started on its backend.

A model that cannot start (missing key, weights that will not load) stays listed
with `available = false` and the reason; the node serves the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.common.node.registry import (
    Entry,
    NodeRegistry,
    RegistryError,
    check_unique,
    known_backend,
    read_registry,
)
from services.llm_node.backends.base import LlmBackend, ModelSpec

__all__ = ["BACKENDS", "Model", "ModelRegistry", "RegistryError", "load_specs"]

DEFAULT_REGISTRY = Path(__file__).with_name("models.toml")
START_TIMEOUT_S = 600.0  # loading big local weights can take minutes


def _transformers(spec: ModelSpec) -> LlmBackend:
    from services.llm_node.backends.transformers import TransformersBackend

    return TransformersBackend(spec)


def _vllm(spec: ModelSpec) -> LlmBackend:
    from services.llm_node.backends.vllm import VllmBackend

    return VllmBackend(spec)


def _openai(spec: ModelSpec) -> LlmBackend:
    from services.llm_node.backends.openai import OpenAIBackend

    return OpenAIBackend(spec)


def _openai_compatible(spec: ModelSpec) -> LlmBackend:
    from services.llm_node.backends.openai_compatible import OpenAICompatibleBackend

    return OpenAICompatibleBackend(spec)


def _fake(spec: ModelSpec) -> LlmBackend:
    from services.llm_node.backends.fake import FakeBackend

    return FakeBackend(spec)


def _anthropic(spec: ModelSpec) -> LlmBackend:
    from services.llm_node.backends.anthropic import AnthropicBackend

    return AnthropicBackend(spec)


# Heavy imports (torch, transformers, vllm, SDKs) happen inside these factories only.
BACKENDS: dict[str, Callable[[ModelSpec], LlmBackend]] = {
    "transformers": _transformers,
    "vllm": _vllm,
    "openai": _openai,
    "openai_compatible": _openai_compatible,
    "anthropic": _anthropic,
    "fake": _fake,  # scripted replies, delays and failures: tests, demos, load runs
}


class _ModelEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
    backend: Annotated[str, AfterValidator(known_backend(BACKENDS))]
    model: str = Field(min_length=1)
    base_url: str | None = None
    api_key_env: str | None = None
    context_window: int | None = Field(None, gt=0)
    max_tokens: int = Field(1024, gt=0)
    stream: bool = True
    device: str = "auto"
    dtype: str = "auto"
    max_concurrency: int = Field(1, ge=1)
    options: dict[str, Any] = Field(default_factory=dict)


class _RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[_ModelEntry] = Field(default_factory=list)


def load_specs(path: Path) -> list[ModelSpec]:
    """Parse and validate a registry file."""
    parsed = read_registry(path, _RegistryFile, "model")
    check_unique((m.id for m in parsed.models), path, "model")
    return [ModelSpec(**m.model_dump()) for m in parsed.models]


class Model(Entry[ModelSpec, LlmBackend]):
    """A registry entry and, once started, its backend."""

    @property
    def context_window(self) -> int:
        if self.backend is not None:
            return self.backend.context_window
        return self.spec.context_window or 0


class ModelRegistry(NodeRegistry[Model]):
    """Every configured model, started concurrently; unavailable ones say why."""

    kind = "model"
    start_timeout_s = START_TIMEOUT_S

    def __init__(self, specs: list[ModelSpec]) -> None:
        super().__init__((Model(spec) for spec in specs), BACKENDS)
        self.models = self.entries
