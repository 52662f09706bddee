"""Who speaks next under autopilot.

- natural: a persona named in the last message goes first; otherwise a random draw weighted by
  talkativeness. Never the persona that spoke last, unless it is the only one.
- round_robin: the room's personas in their order, after the one that spoke last.
- manual: only a persona @mentioned in the last message; nobody otherwise.

Muted personas are never chosen. The draw takes a `random.Random`, so a seeded one repeats.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from services.room.orchestrator.mentions import mentioned
from services.room.store.records import MessageRecord, PersonaRecord

STRATEGIES = ("natural", "round_robin", "manual")


def named(content: str, personas: Sequence[PersonaRecord]) -> list[str]:
    """Handles of the personas `content` names (@handle, or the name as a word), first named first."""
    at: dict[str, int] = {}
    for persona in personas:
        handle = re.search(rf"(?<![\w@])@{re.escape(persona.handle)}(?![\w-])", content, re.I)
        name = re.search(rf"(?<![\w@]){re.escape(persona.name)}(?![\w@-])", content, re.I)
        found = [m.start() for m in (handle, name) if m is not None]
        if found:
            at[persona.handle] = min(found)
    return sorted(at, key=at.__getitem__)


def next_speaker(
    strategy: str,
    personas: Sequence[PersonaRecord],
    last: MessageRecord | None,
    previous: str | None,
    rng: random.Random,
) -> str | None:
    """The handle of the persona to speak next, or None when nobody should.

    `last` is the message being answered; `previous` the handle of the persona that spoke last.
    """
    eligible = [p for p in personas if not p.muted]
    if not eligible:
        return None
    alone = len(eligible) == 1
    allowed = [p for p in eligible if alone or p.handle != previous]
    author = last.author.handle if last is not None and last.author.kind == "ai" else None
    if strategy == "manual":
        if last is None:
            return None
        handles = [p.handle for p in allowed if p.handle != author]
        order = named(last.content, allowed)
        return next((h for h in order if h in mentioned(last.content, handles)), None)
    if strategy == "round_robin":
        return _after(personas, previous, allowed)
    if last is not None:
        for handle in named(last.content, allowed):
            if handle != author:
                return handle
    return _draw(allowed, rng)


def _after(
    personas: Sequence[PersonaRecord], previous: str | None, allowed: list[PersonaRecord]
) -> str:
    """The first allowed persona after `previous` in room order (from the top if none)."""
    handles = [p.handle for p in personas]
    start = handles.index(previous) + 1 if previous in handles else 0
    ok = {p.handle for p in allowed}
    return next(h for h in handles[start:] + handles[:start] if h in ok)


def _draw(pool: list[PersonaRecord], rng: random.Random) -> str:
    weights = [p.talkativeness for p in pool]
    if sum(weights) <= 0:
        weights = [1.0] * len(pool)  # nobody is talkative: all equally likely
    return rng.choices(pool, weights=weights)[0].handle
