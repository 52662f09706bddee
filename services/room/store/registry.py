"""Which store a database URL names, and opening it: the one place that knows the stores."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from services.room.store.protocol import (
    AccessStore,
    AccountStore,
    OutboxStore,
    RoomStore,
    UsageStore,
)
from services.room.store.records import AutopilotRecord

DATABASE_FILE = "chimera.db"


@dataclass(frozen=True)
class StoreOptions:
    """How the room service (or `chimera admin`) uses the store."""

    # What a room's autopilot settings are until someone sets them.
    autopilot_defaults: AutopilotRecord = field(default_factory=AutopilotRecord)
    # Disabling an account or ending its sessions also queues the revocation for a running
    # room service to pick up (`chimera admin` writes from another process).
    outbox: bool = False


@dataclass(frozen=True)
class Store:
    """Every part of one opened store, and how to close it."""

    rooms: RoomStore
    access: AccessStore
    accounts: AccountStore
    usage: UsageStore
    outbox: OutboxStore
    close: Callable[[], Awaitable[None]]


async def _open_sql(url: str, options: StoreOptions) -> Store:
    # Imported here: a deployment on another store never loads SQLAlchemy or Alembic.
    from services.room.store.sql import open_sql

    return await open_sql(url, options)


# URL scheme (before any "+driver") -> how to open that store, schema brought up to date.
STORES: dict[str, Callable[[str, StoreOptions], Awaitable[Store]]] = {
    "sqlite": _open_sql,
    "postgresql": _open_sql,
}


class UnknownStore(ValueError):
    """The database URL names no store Chimera has."""


def scheme(url: str) -> str:
    """The store a URL names: "postgresql" for postgresql+asyncpg://…, "sqlite" for sqlite://…"""
    return url.split(":", 1)[0].split("+", 1)[0].lower()


def default_url(data_dir: Path) -> str:
    """The URL of the embedded default store: a SQLite file in `data_dir`."""
    return f"sqlite+aiosqlite:///{data_dir.resolve() / DATABASE_FILE}"


async def open_store(url: str, options: StoreOptions | None = None) -> Store:
    """Open the store `url` names, with its schema brought up to date."""
    opener = STORES.get(scheme(url))
    if opener is None:
        known = ", ".join(f"{name}://" for name in STORES)
        raise UnknownStore(
            f"CHIMERA_DATABASE_URL: no store for {scheme(url)!r} URLs; use one of {known}"
        )
    return await opener(url, options or StoreOptions())
