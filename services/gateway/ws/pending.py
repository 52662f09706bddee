"""A room link's sends that the room service has not answered yet, and how often they went out.

A pending send is re-sent on every new stream (idempotent by client_msg_id), but only on
MAX_SEND_ATTEMPTS streams that the room service opened: one that keeps going unanswered (a
send that breaks the stream, say) is given up, never re-sent in a loop.
"""

from __future__ import annotations

from services.common.pb import room_pb2 as pb

MAX_PENDING_SENDS = 10_000
MAX_SEND_ATTEMPTS = 3  # opened streams a send may go out on without an answer

Key = tuple[str, str]  # (conn id, client_msg_id)


class PendingSends:
    """Unanswered sends in the order they were made."""

    def __init__(self, max_attempts: int = MAX_SEND_ATTEMPTS) -> None:
        self.max_attempts = max_attempts
        self._sends: dict[Key, pb.SendMessage] = {}
        self._attempts: dict[Key, int] = {}

    def __len__(self) -> int:
        return len(self._sends)

    def add(self, send: pb.SendMessage) -> None:
        """A send went out (or will, with the next stream)."""
        self._sends[(send.conn_id, send.client_msg_id)] = send

    def answered(self, conn_id: str, client_msg_id: str) -> None:
        """The room service answered it (stored, a duplicate, or refused)."""
        key = (conn_id, client_msg_id)
        self._sends.pop(key, None)
        self._attempts.pop(key, None)

    def drop_conn(self, conn_id: str) -> None:
        """Forget a socket's sends: it has gone, and nobody is left to tell."""
        for key in [key for key in self._sends if key[0] == conn_id]:
            self.answered(*key)

    def all(self) -> list[pb.SendMessage]:
        """Every pending send, oldest first (to re-send on a new stream)."""
        return list(self._sends.values())

    def stream_ended(self) -> list[pb.SendMessage]:
        """An opened stream ended with these sends unanswered; return those now given up."""
        dropped = []
        for key, send in list(self._sends.items()):
            attempts = self._attempts.get(key, 0) + 1
            if attempts < self.max_attempts:
                self._attempts[key] = attempts
            else:
                self.answered(*key)
                dropped.append(send)
        return dropped
