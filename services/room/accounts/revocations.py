"""In-process fan-out of revoked credentials to every gateway watching (WatchRevocations)."""

from __future__ import annotations

import asyncio
import logging

from services.common.pb import account_pb2 as pb

logger = logging.getLogger(__name__)

# A watcher this far behind has stopped reading; it is cut and reconnects (then re-checks
# every socket on its next authentication anyway).
MAX_QUEUED = 10_000


class _Closed:
    """Sentinel: the watch is over."""


_CLOSED = _Closed()


class Watch:
    """One watcher's revocations, from the moment it was created; iterate, then `close()`."""

    def __init__(self, owner: Revocations) -> None:
        self._owner = owner
        self.queue: asyncio.Queue[pb.Revocation | _Closed] = asyncio.Queue()

    def __aiter__(self) -> Watch:
        return self

    async def __anext__(self) -> pb.Revocation:
        item = await self.queue.get()
        if isinstance(item, _Closed):
            self.close()
            raise StopAsyncIteration
        return item

    def close(self) -> None:
        """Stop receiving revocations."""
        self._owner._watchers.discard(self)


class Revocations:
    """Every revoke, logout and disable is pushed to all current watchers."""

    def __init__(self, max_queued: int = MAX_QUEUED) -> None:
        self._watchers: set[Watch] = set()
        self._max_queued = max_queued
        self._closed = False

    def publish(self, revocation: pb.Revocation) -> None:
        """Queue `revocation` for every watcher."""
        for watch in list(self._watchers):
            if watch.queue.qsize() >= self._max_queued:
                logger.warning("revocation watcher lagging; cutting it")
                self._watchers.discard(watch)
                watch.queue.put_nowait(_CLOSED)
                continue
            watch.queue.put_nowait(revocation)

    def credential(self, credential_id: str) -> None:
        """One session or token stopped being valid."""
        self.publish(pb.Revocation(credential_id=credential_id))

    def account(self, account_id: str) -> None:
        """Every credential of an account stopped being valid."""
        self.publish(pb.Revocation(account_id=account_id))

    def watch(self) -> Watch:
        """Revocations from now on, until `close()` (or the watcher falls too far behind)."""
        watch = Watch(self)
        if self._closed:
            watch.queue.put_nowait(_CLOSED)
        else:
            self._watchers.add(watch)
        return watch

    @property
    def watchers(self) -> int:
        """How many watchers are attached."""
        return len(self._watchers)

    def close(self) -> None:
        """End every watch, so a graceful stop is not held by these streams."""
        self._closed = True
        for watch in self._watchers:
            watch.queue.put_nowait(_CLOSED)
        self._watchers.clear()
