"""What differs between the SQL dialects the store runs on, said once."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

# Both spell an upsert INSERT ... ON CONFLICT (DO NOTHING | DO UPDATE), each with its own class.
_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def upsert(dialect: str, table: Any) -> Any:
    """An INSERT on `table` that takes `.on_conflict_do_nothing/_do_update` for the dialect."""
    try:
        return _INSERTS[dialect](table)
    except KeyError:
        raise ValueError(f"the room store does not run on {dialect!r}") from None
