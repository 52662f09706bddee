"""Every open socket of this gateway by account and credential: connection caps and revocation."""

from __future__ import annotations

import time

from services.gateway.ws.connection import Connection

# A credential revoked this recently is refused even if its check raced the revocation.
REVOKED_MEMORY_S = 60.0


class SocketRegistry:
    """The gateway's open sockets, so that a revocation or a cap can find them."""

    def __init__(self, max_per_user: int) -> None:
        self.max_per_user = max_per_user
        self._by_account: dict[str, dict[str, Connection]] = {}
        self._revoked: dict[str, float] = {}

    def add(self, conn: Connection) -> bool:
        """Register a socket; False (and not registered) if its account is at the cap."""
        sockets = self._by_account.setdefault(conn.user.id, {})
        if self.max_per_user > 0 and len(sockets) >= self.max_per_user:
            if not sockets:
                del self._by_account[conn.user.id]
            return False
        sockets[conn.id] = conn
        return True

    def remove(self, conn: Connection) -> None:
        """Forget a socket (it has closed)."""
        sockets = self._by_account.get(conn.user.id)
        if sockets is not None and sockets.pop(conn.id, None) is not None and not sockets:
            del self._by_account[conn.user.id]

    def all(self) -> list[Connection]:
        """Every open socket."""
        return [c for sockets in self._by_account.values() for c in sockets.values()]

    def close_credential(self, credential_id: str, code: int, reason: str) -> int:
        """Close the sockets opened with one session or token; return how many."""
        if not credential_id:
            return 0
        self._remember(credential_id)
        matching = [c for c in self.all() if c.user.credential_id == credential_id]
        for conn in matching:
            conn.close(code, reason)
        return len(matching)

    def close_account(self, account_id: str, code: int, reason: str) -> int:
        """Close every socket of one account; return how many."""
        matching = list(self._by_account.get(account_id, {}).values())
        for conn in matching:
            conn.close(code, reason)
        return len(matching)

    def _remember(self, credential_id: str) -> None:
        now = time.monotonic()
        self._revoked = {k: t for k, t in self._revoked.items() if now - t < REVOKED_MEMORY_S}
        self._revoked[credential_id] = now

    def revoked(self, credential_id: str) -> bool:
        """Whether this gateway saw the credential revoked in the last minute."""
        at = self._revoked.get(credential_id)
        return at is not None and time.monotonic() - at < REVOKED_MEMORY_S
