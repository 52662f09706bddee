"""The newest messages of recently active rooms, in memory, kept in step with every write.

A reply's context is its room's newest messages up to the one that asked; reading them from the
store (up to 500 rows) was the largest cost between a mention and its first token. Every write
of a message goes through the timeline (timeline.py), which tells this cache what it committed,
so a room's window is read from the store once and then follows each commit. Across several
room-service instances the same holds for the instance that owns a room: only it writes there.

A window is installed only if no write to its room happened while it was being read, so a
commit can never be missing from it; a room not asked about for a while is dropped first.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections import Counter, OrderedDict

from services.room.store.protocol import RoomStore
from services.room.store.records import MessageRecord

NEWEST = 2**62  # "up to the room's last message", for the read that fills a window


class _Window:
    """One room's newest messages, oldest first, with seqs dense up to the newest."""

    def __init__(self, messages: list[MessageRecord], *, complete: bool) -> None:
        self.messages = messages
        self.seqs = [m.seq for m in messages]
        self.complete = complete  # it holds the room's very first message

    def upto(self, upto_seq: int, limit: int) -> list[MessageRecord] | None:
        """The newest `limit` messages with seq <= upto_seq; None if the window cannot say."""
        end = bisect.bisect_right(self.seqs, upto_seq)
        if end < limit and not self.complete:
            return None  # older ones are needed than the window keeps
        return self.messages[max(0, end - limit) : end]

    def put(self, message: MessageRecord, capacity: int) -> bool:
        """Take a committed message (new, or a new state of one held); False if it does not fit
        the window's order (then the window must go)."""
        index = bisect.bisect_left(self.seqs, message.seq)
        if index < len(self.seqs) and self.seqs[index] == message.seq:
            if self.messages[index].id != message.id:
                return False
            self.messages[index] = message
            return True
        if self.seqs and message.seq != self.seqs[-1] + 1:
            return False
        self.messages.append(message)
        self.seqs.append(message.seq)
        if len(self.messages) > capacity:
            del self.messages[0], self.seqs[0]
            self.complete = False
        return True

    def find(self, message_id: str) -> MessageRecord | None:
        return next((m for m in reversed(self.messages) if m.id == message_id), None)


class RecentMessages:
    """Up to `per_room` newest messages of each of up to `rooms` rooms."""

    def __init__(self, store: RoomStore, *, per_room: int = 500, rooms: int = 64) -> None:
        self.store = store
        self.per_room = per_room
        self.rooms = rooms
        self._windows: OrderedDict[str, _Window] = OrderedDict()
        self._writes: Counter[str] = Counter()  # per room: commits seen, to detect a racing fill
        self.reads = 0  # reads of the store, for tests and benchmarks

    async def upto(self, room_id: str, upto_seq: int, limit: int) -> list[MessageRecord]:
        """The newest `limit` messages with seq <= `upto_seq`, oldest first (as the store's
        `recent_messages`)."""
        window = self._windows.get(room_id)
        if window is not None:
            self._windows.move_to_end(room_id)
            found = window.upto(upto_seq, limit)
            if found is not None:
                return found
        if window is not None or limit > self.per_room:  # older than any window would hold
            self.reads += 1
            return await self.store.recent_messages(room_id, upto_seq=upto_seq, limit=limit)
        writes = self._writes[room_id]
        self.reads += 1
        newest = await self.store.recent_messages(room_id, upto_seq=NEWEST, limit=self.per_room)
        filled = _Window(newest, complete=len(newest) < self.per_room)
        if self._writes[room_id] == writes:  # nothing was committed there meanwhile
            self._install(room_id, filled)
        found = filled.upto(upto_seq, limit)
        if found is None:  # a window of a full room, asked for more than it holds before upto
            self.reads += 1
            return await self.store.recent_messages(room_id, upto_seq=upto_seq, limit=limit)
        return found

    def stored(self, message: MessageRecord) -> None:
        """A message was committed: a new one, or a new state of one (a reply's progress)."""
        self._writes[message.room_id] += 1
        window = self._windows.get(message.room_id)
        if window is not None and not window.put(message, self.per_room):
            del self._windows[message.room_id]

    def checkpointed(self, room_id: str, message_id: str, content: str) -> None:
        """A streaming reply's text so far was committed."""
        self._writes[room_id] += 1
        window = self._windows.get(room_id)
        held = window.find(message_id) if window is not None else None
        if window is not None and held is not None:
            window.put(dataclasses.replace(held, content=content), self.per_room)

    def _install(self, room_id: str, window: _Window) -> None:
        self._windows[room_id] = window
        self._windows.move_to_end(room_id)
        while len(self._windows) > self.rooms:
            self._windows.popitem(last=False)
