"""One audio floor per room: replies are heard in message order, never over each other."""

from __future__ import annotations

import asyncio


class Floor:
    """A room's speaking replies by seq; each speaks only once every earlier one has ended."""

    def __init__(self) -> None:
        self._ends: dict[int, asyncio.Event] = {}

    def enter(self, seq: int) -> None:
        """A reply will speak: the replies after it in the room wait for its end."""
        self._ends.setdefault(seq, asyncio.Event())

    async def turn(self, seq: int) -> None:
        """Wait until every reply before `seq` that entered has left."""
        while earlier := [end for s, end in self._ends.items() if s < seq]:
            await earlier[0].wait()

    def leave(self, seq: int) -> None:
        """The reply's speech ended: the next may speak."""
        end = self._ends.pop(seq, None)
        if end is not None:
            end.set()

    def empty(self) -> bool:
        return not self._ends
