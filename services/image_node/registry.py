"""The image model registry: a TOML file of `[[models]]`, each checked on its backend at start.

A model that cannot be used (a missing package or directory, a hub id not in the local cache
of an offline machine, no CUDA for an offload option) stays listed with `available = false`
and the reason; the node serves the rest. Weights load on a model's first job unless its
entry says `preload = true`.
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
from services.image_node.backends.base import (
    MAX_GUIDANCE,
    MAX_SIZE,
    MAX_STEPS,
    MIN_SIZE,
    ImageBackend,
    ModelSpec,
)

__all__ = ["BACKENDS", "ImageModel", "ImageModelRegistry", "RegistryError", "load_specs"]

DEFAULT_REGISTRY = Path(__file__).with_name("models.toml")
START_TIMEOUT_S = 600.0  # a preloaded SDXL or FLUX takes minutes from a cold disk


def _diffusers(spec: ModelSpec) -> ImageBackend:
    from services.image_node.backends.diffusers import DiffusersBackend

    return DiffusersBackend(spec)


def _fake(spec: ModelSpec) -> ImageBackend:
    from services.image_node.backends.fake import FakeBackend

    return FakeBackend(spec)


# Heavy imports (torch, diffusers) happen inside these factories only.
BACKENDS: dict[str, Callable[[ModelSpec], ImageBackend]] = {
    "diffusers": _diffusers,
    "fake": _fake,  # deterministic pictures from (prompt, seed): tests, demos, load runs
}


class _Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    width: Annotated[int | None, Field(ge=MIN_SIZE, le=MAX_SIZE, multiple_of=8)] = None
    height: Annotated[int | None, Field(ge=MIN_SIZE, le=MAX_SIZE, multiple_of=8)] = None
    steps: Annotated[int | None, Field(ge=1, le=MAX_STEPS)] = None
    guidance: Annotated[float | None, Field(ge=0, le=MAX_GUIDANCE)] = None


class _ModelEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
    backend: Annotated[str, AfterValidator(known_backend(BACKENDS))]
    model: str = Field(min_length=1)
    pipeline: Literal["sd15", "sdxl", "flux", "fake"] | None = None
    name: str | None = Field(None, max_length=200)
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$")
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    attention_slicing: bool = False
    vae_slicing: bool = False
    vae_tiling: bool = False
    cpu_offload: Literal["none", "model", "sequential"] = "none"
    preload: bool = False
    defaults: _Defaults = Field(default_factory=_Defaults)
    options: dict[str, Any] = Field(default_factory=dict)


class _RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[_ModelEntry] = Field(default_factory=list)


def load_specs(path: Path) -> list[ModelSpec]:
    """Parse and validate a registry file; relative model directories are relative to it."""
    parsed = read_registry(path, _RegistryFile, "image model")
    check_unique((m.id for m in parsed.models), path, "image model")
    specs = []
    for entry in parsed.models:
        fields = entry.model_dump()
        fields["defaults"] = entry.defaults.model_dump(exclude_none=True)
        if entry.model.startswith(("./", "../")):
            fields["model"] = str((path.parent / entry.model).resolve())
        specs.append(ModelSpec(**fields))
    return specs


class ImageModel(Entry[ModelSpec, ImageBackend]):
    """A registry entry and, once started, its backend."""


class ImageModelRegistry(NodeRegistry[ImageModel]):
    """Every configured image model, started concurrently; unavailable ones say why."""

    kind = "model"
    start_timeout_s = START_TIMEOUT_S

    def __init__(self, specs: list[ModelSpec]) -> None:
        super().__init__((ImageModel(spec) for spec in specs), BACKENDS)
        self.models = self.entries
