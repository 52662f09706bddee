"""The model registry: a TOML file of `[[models]]`, each started on its backend.

A model that cannot start (missing key, weights that will not load) stays listed
with `available = false` and the reason; the node serves the rest.
"""

from __future__ import annotations

import asyncio
import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.llm_node.backends.base import BackendError, LlmBackend, ModelSpec

logger = logging.getLogger(__name__)

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
    backend: str
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

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value not in BACKENDS:
            raise ValueError(f"unknown backend {value!r}; expected one of {', '.join(BACKENDS)}")
        return value


class _RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[_ModelEntry] = Field(default_factory=list)


class RegistryError(Exception):
    """The registry file is missing or malformed."""


def load_specs(path: Path) -> list[ModelSpec]:
    """Parse and validate a registry file."""
    try:
        data = tomllib.loads(path.read_text())
        parsed = _RegistryFile.model_validate(data)
    except FileNotFoundError:
        raise RegistryError(f"model registry {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"model registry {path} is not valid TOML: {exc}") from None
    except ValidationError as exc:
        raise RegistryError(f"model registry {path} is invalid: {_problems(exc)}") from None
    ids = [m.id for m in parsed.models]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise RegistryError(f"model registry {path} repeats ids: {', '.join(duplicates)}")
    return [ModelSpec(**m.model_dump()) for m in parsed.models]


def _problems(exc: ValidationError) -> str:
    """Each problem as `models[1].api_key: <what is wrong>`, without the values: a key pasted
    into the file by mistake must not end up in a log."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        problems.append(f"{where.lstrip('.') or 'file'}: {error['msg']}")
    return "; ".join(problems)


@dataclass
class Model:
    """A registry entry and, once started, its backend."""

    spec: ModelSpec
    backend: LlmBackend | None = None
    available: bool = False
    reason: str = "starting"

    @property
    def context_window(self) -> int:
        if self.backend is not None:
            return self.backend.context_window
        return self.spec.context_window or 0


class ModelRegistry:
    """Every configured model, started concurrently; unavailable ones say why."""

    def __init__(self, specs: list[ModelSpec]) -> None:
        self.models: dict[str, Model] = {spec.id: Model(spec) for spec in specs}

    async def start(self) -> None:
        """Start every backend; failures mark the model unavailable instead of raising."""
        await asyncio.gather(*(self._start(model) for model in self.models.values()))

    async def _start(self, model: Model) -> None:
        try:
            # In a thread: importing torch or an SDK takes seconds and must not stall serving.
            backend = await asyncio.to_thread(BACKENDS[model.spec.backend], model.spec)
            async with asyncio.timeout(START_TIMEOUT_S):
                await backend.start()
        except BackendError as exc:
            model.reason = exc.message
        except TimeoutError:
            model.reason = f"did not start within {START_TIMEOUT_S:.0f} s"
        except Exception as exc:  # a broken backend must not take the node down
            logger.exception("model failed to start", extra={"model_id": model.spec.id})
            model.reason = f"failed to start: {type(exc).__name__}"
        else:
            model.backend, model.available, model.reason = backend, True, ""
            logger.info(
                "model available", extra={"model_id": model.spec.id, "backend": model.spec.backend}
            )
            return
        logger.warning(
            "model unavailable",
            extra={
                "model_id": model.spec.id,
                "backend": model.spec.backend,
                "reason": model.reason,
            },
        )

    def get(self, model_id: str) -> Model | None:
        return self.models.get(model_id)

    async def close(self) -> None:
        """Close every started backend."""
        for model in self.models.values():
            if model.backend is not None:
                try:
                    await model.backend.close()
                except Exception:
                    logger.exception("closing backend failed", extra={"model_id": model.spec.id})
