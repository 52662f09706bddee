"""What the model and voice registries share: reading a TOML registry file, starting each
entry's backend concurrently, and keeping the ones that fail listed with the reason.

A node's registry module names its entry schema, its backend factories (heavy imports inside
them only) and a start timeout; everything else is here.
"""

from __future__ import annotations

import asyncio
import logging
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from services.common.errors import FailedPrecondition, NotFound
from services.common.node.backend import BackendError

logger = logging.getLogger(__name__)


class RegistryError(Exception):
    """The registry file is missing or malformed."""


class Startable(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...


class SpecLike(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def backend(self) -> str: ...


FileT = TypeVar("FileT", bound=BaseModel)
SpecT = TypeVar("SpecT", bound=SpecLike)
BackendT = TypeVar("BackendT", bound=Startable)


def read_registry(path: Path, schema: type[FileT], kind: str) -> FileT:
    """Parse and validate a registry file; every failure is a RegistryError naming the file."""
    try:
        return schema.model_validate(tomllib.loads(path.read_text()))
    except FileNotFoundError:
        raise RegistryError(f"{kind} registry {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{kind} registry {path} is not valid TOML: {exc}") from None
    except ValidationError as exc:
        raise RegistryError(f"{kind} registry {path} is invalid: {_problems(exc)}") from None


def known_backend(backends: Mapping[str, object]) -> Callable[[str], str]:
    """A validator for an entry's `backend`: one of `backends`, or a message listing them."""

    def check(value: str) -> str:
        if value not in backends:
            raise ValueError(f"unknown backend {value!r}; expected one of {', '.join(backends)}")
        return value

    return check


def check_unique(ids: Iterable[str], path: Path, kind: str) -> None:
    seen: list[str] = list(ids)
    duplicates = sorted({i for i in seen if seen.count(i) > 1})
    if duplicates:
        raise RegistryError(f"{kind} registry {path} repeats ids: {', '.join(duplicates)}")


def _problems(exc: ValidationError) -> str:
    """Each problem as `models[1].api_key: <what is wrong>`, without the values: a key pasted
    into the file by mistake must not end up in a log."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        problems.append(f"{where.lstrip('.') or 'file'}: {error['msg']}")
    return "; ".join(problems)


class Entry(Generic[SpecT, BackendT]):
    """A registry entry and, once started, its backend."""

    def __init__(self, spec: SpecT) -> None:
        self.spec = spec
        self.backend: BackendT | None = None
        self.available = False
        self.reason = "starting"


EntryT = TypeVar("EntryT", bound=Entry[Any, Any])


class NodeRegistry(Generic[EntryT]):
    """Every configured entry, started concurrently; failures mark an entry unavailable and
    say why instead of raising, so the node serves the rest."""

    kind = "entry"  # "model", "voice": in logs and messages
    start_timeout_s = 120.0

    def __init__(
        self,
        entries: Iterable[EntryT],
        factories: dict[str, Callable[[Any], Any]],
    ) -> None:
        self.entries: dict[str, EntryT] = {e.spec.id: e for e in entries}
        self._factories = factories  # by reference: tests may swap a factory in

    async def start(self) -> None:
        await asyncio.gather(*(self._start(entry) for entry in self.entries.values()))

    async def _start(self, entry: EntryT) -> None:
        spec, key = entry.spec, f"{self.kind}_id"
        backend = None
        try:
            # In a thread: importing torch, onnxruntime or an SDK takes seconds.
            backend = await asyncio.to_thread(self._factories[spec.backend], spec)
            async with asyncio.timeout(self.start_timeout_s):
                await backend.start()
        except BackendError as exc:
            entry.reason = exc.message
        except TimeoutError:
            entry.reason = f"did not start within {self.start_timeout_s:.0f} s"
        except Exception as exc:  # a broken backend must not take the node down
            logger.exception(f"{self.kind} failed to start", extra={key: spec.id})
            entry.reason = f"failed to start: {type(exc).__name__}"
        else:
            entry.backend, entry.available, entry.reason = backend, True, ""
            logger.info(f"{self.kind} available", extra={key: spec.id, "backend": spec.backend})
            return
        if backend is not None:
            await self._close(entry, backend)
        logger.warning(
            f"{self.kind} unavailable",
            extra={key: spec.id, "backend": spec.backend, "reason": entry.reason},
        )

    def get(self, entry_id: str) -> EntryT | None:
        return self.entries.get(entry_id)

    def usable(self, entry_id: str, noun: str) -> EntryT:
        """The started entry; NotFound or FailedPrecondition (with the reason) otherwise."""
        entry = self.entries.get(entry_id)
        if entry is None:
            raise NotFound(f"Unknown {noun} {entry_id!r}.")
        if not entry.available or entry.backend is None:
            raise FailedPrecondition(
                f"{noun[:1].upper()}{noun[1:]} {entry_id!r} is unavailable: {entry.reason}"
            )
        return entry

    async def close(self) -> None:
        """Close every started backend."""
        for entry in self.entries.values():
            if entry.backend is not None:
                await self._close(entry, entry.backend)

    async def _close(self, entry: EntryT, backend: Startable) -> None:
        try:
            await backend.close()
        except Exception:
            logger.exception("closing backend failed", extra={f"{self.kind}_id": entry.spec.id})
