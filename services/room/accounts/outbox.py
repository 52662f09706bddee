"""Publishes the revocations that `chimera admin` leaves in revocation_outbox.

`chimera admin` is a separate process: it writes each revocation to the outbox in the same
transaction as the change, and the room service polls the table and pushes every new row
through the in-process `Revocations` feed, exactly as if it had revoked the credential itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import timedelta

from services.common.clock import utcnow
from services.room.accounts.service import Accounts
from services.room.store.protocol import OutboxStore

logger = logging.getLogger(__name__)

BATCH = 1000  # rows read per poll
RETENTION = timedelta(hours=1)  # rows older than this are deleted ...
PRUNE_EVERY_S = 600.0  # ... this often
# On PostgreSQL ids are handed out at insert but become visible at commit, so a lower id can
# appear after a higher one was read. A skipped id is looked for this long (then it was rolled
# back, or will never be seen).
GAP_WAIT_S = 60.0


class OutboxRelay:
    """Polls revocation_outbox and publishes new rows; `start()`, then `close()`."""

    def __init__(
        self,
        repo: OutboxStore,
        accounts: Accounts,
        interval_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.repo = repo
        self.accounts = accounts
        self.interval_s = interval_s
        self.clock = clock
        self._last_id = 0
        self._gaps: dict[int, float] = {}  # skipped id -> when to stop looking for it
        self._next_prune = 0.0
        self._task: asyncio.Task[None] | None = None

    async def skip_existing(self) -> None:
        """Publish only rows written from now on: older ones were published by an earlier run,
        and the gateways re-check every socket when their watch reconnects anyway."""
        self._last_id = await self.repo.last_id()
        self._gaps.clear()

    async def start(self) -> None:
        """Skip the rows already there and poll in the background until `close()`."""
        await self.skip_existing()
        self._task = asyncio.create_task(self._run(), name="revocation-outbox")

    async def close(self) -> None:
        """Stop polling."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def poll(self) -> int:
        """Publish the rows written since the last poll; return how many."""
        now = self.clock()
        self._gaps = {gap: until for gap, until in self._gaps.items() if until > now}
        floor = min(self._gaps, default=self._last_id + 1) - 1
        published = 0
        for row in await self.repo.after(floor, BATCH):
            if row.id <= self._last_id and self._gaps.pop(row.id, None) is None:
                continue  # published already
            if row.id > self._last_id:
                for gap in range(self._last_id + 1, min(row.id, self._last_id + 1 + BATCH)):
                    self._gaps[gap] = now + GAP_WAIT_S
                self._gaps.pop(row.id, None)
                self._last_id = row.id
            if row.account_id:
                self.accounts.publish_disabled(row.account_id)
            if row.credential_id:
                self.accounts.revocations.credential(row.credential_id)
            published += 1
        return published

    async def _run(self) -> None:
        while True:
            try:
                if self.clock() >= self._next_prune:
                    self._next_prune = self.clock() + PRUNE_EVERY_S
                    await self.repo.prune(utcnow() - RETENTION)
                if await self.poll():
                    logger.info("revocations from chimera admin published")
            except Exception:
                logger.warning("revocation outbox poll failed; retrying", exc_info=True)
            await asyncio.sleep(self.interval_s)
