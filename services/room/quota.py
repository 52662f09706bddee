"""Daily AI token quotas per account and per room (UTC days).

A reply reserves its worst case (prompt estimate + max_tokens) before it is generated and is
refused when that would pass either quota; when it ends, the reservation is replaced by what
it really used. Reservations live in memory, so replies starting together cannot all pass
on the same remaining budget.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.common.clock import utcnow
from services.common.errors import ResourceExhausted
from services.room.store.protocol import UsageStore

RESETS = "it resets at 00:00 UTC."


class QuotaExceeded(ResourceExhausted):
    """A reply would pass a daily token quota."""


@dataclass(frozen=True)
class Reservation:
    """Tokens set aside for one reply, asked by `user_id` in `room_id` on UTC `day`."""

    day: str
    user_id: str
    room_id: str
    tokens: int
    limited: tuple[tuple[str, str], ...]  # the (scope, id) counters with a quota


class Quotas:
    """Checks and records AI token use against the daily per-account and per-room quotas."""

    def __init__(
        self,
        repo: UsageStore,
        *,
        user_daily_tokens: int,
        room_daily_tokens: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.repo = repo
        self.limits = {"user": user_daily_tokens, "room": room_daily_tokens}
        self.clock = clock
        self._reserved: Counter[tuple[str, str, str]] = Counter()  # (day, scope, id) -> tokens
        self._lock = asyncio.Lock()

    def day(self) -> str:
        """Today's key, YYYY-MM-DD in UTC."""
        return self.clock().strftime("%Y-%m-%d")

    async def used(self, scope: str, scope_id: str) -> int:
        """Tokens recorded today for one counter."""
        return await self.repo.used(scope, scope_id, self.day())

    def _limited(self, user_id: str, room_id: str) -> tuple[tuple[str, str], ...]:
        return tuple(
            (scope, scope_id)
            for scope, scope_id in (("user", user_id), ("room", room_id))
            if scope_id and self.limits[scope] > 0
        )

    def limits_any(self, user_id: str, room_id: str) -> bool:
        """Whether a quota bounds a reply asked by `user_id` in `room_id` (else `reserve` only
        notes it and never refuses, whatever `tokens` it is given)."""
        return bool(self._limited(user_id, room_id))

    async def reserve(self, user_id: str, room_id: str, tokens: int) -> Reservation:
        """Set `tokens` aside for a reply asked by `user_id` in `room_id`; QuotaExceeded if over."""
        day = self.day()
        scopes = self._limited(user_id, room_id)
        async with self._lock:  # check and reserve as one step
            used = await self.repo.used_many(day, scopes)  # one read for both counters
            for scope, scope_id in scopes:
                limit = self.limits[scope]
                if (
                    used[(scope, scope_id)] + self._reserved[(day, scope, scope_id)] + tokens
                    > limit
                ):
                    raise QuotaExceeded(refusal(scope, limit))
            for scope, scope_id in scopes:
                self._reserved[(day, scope, scope_id)] += tokens
        return Reservation(day, user_id, room_id, tokens, scopes)

    async def settle(self, reservation: Reservation, used: int) -> None:
        """Replace a reservation by the tokens the reply really used (recorded on its day)."""
        counts = {("user", reservation.user_id): used, ("room", reservation.room_id): used}
        counts = {key: n for key, n in counts.items() if key[1] and n > 0}
        try:
            if counts:
                await self.repo.add(reservation.day, counts)
        finally:  # released after the usage is stored, so no check sees neither
            for scope, scope_id in reservation.limited:
                key = (reservation.day, scope, scope_id)
                self._reserved[key] -= reservation.tokens
                if self._reserved[key] <= 0:
                    del self._reserved[key]


def refusal(scope: str, limit: int) -> str:
    """What the room is told when a reply would pass a quota."""
    if scope == "room":
        return f"Daily AI token quota for this room is used up ({limit:,} tokens); {RESETS}"
    return f"Your daily AI token quota is used up ({limit:,} tokens); {RESETS}"
