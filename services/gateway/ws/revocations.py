"""The gateway's one WatchRevocations stream: revoked credentials' sockets close 1008 at once."""

from __future__ import annotations

import asyncio
import logging
import random

import grpc

from services.common.pb import account_pb2 as apb
from services.common.pb.account_pb2_grpc import AccountServiceStub
from services.gateway.ws.protocol import CLOSE_POLICY
from services.gateway.ws.sockets import SocketRegistry

logger = logging.getLogger(__name__)

REVOKED_REASON = "Signed out or credential revoked."
MAX_BACKOFF_S = 2.0
RECHECK_CONCURRENCY = 16


class RevocationWatcher:
    """Holds the stream open, reconnecting with backoff; closes the sockets each event names.

    Events sent while the stream was down are lost, so after every (re)connect the credentials
    of the open sockets are checked again.
    """

    def __init__(
        self,
        accounts: AccountServiceStub,
        sockets: SocketRegistry,
        *,
        gateway_id: str,
        call_timeout_s: float,
    ) -> None:
        self.accounts = accounts
        self.sockets = sockets
        self.gateway_id = gateway_id
        self.call_timeout_s = call_timeout_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Open the stream in the background."""
        self._task = asyncio.create_task(self._run(), name="revocation-watch")

    async def close(self) -> None:
        """Stop watching (gateway shutdown)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def apply(self, revocation: apb.Revocation) -> int:
        """Close the sockets one revocation names; return how many."""
        if revocation.credential_id:
            return self.sockets.close_credential(
                revocation.credential_id, CLOSE_POLICY, REVOKED_REASON
            )
        if revocation.account_id:
            return self.sockets.close_account(revocation.account_id, CLOSE_POLICY, REVOKED_REASON)
        return 0

    async def _run(self) -> None:
        backoff = 0.05
        while True:
            call = self.accounts.WatchRevocations(
                apb.WatchRevocationsRequest(gateway_id=self.gateway_id)
            )
            try:
                # The room service sends headers once the watch is registered: from then on no
                # revocation is missed, so the sockets' credentials are checked once more now.
                await call.initial_metadata()
                await self.recheck()
                backoff = 0.05
                async for revocation in call:
                    self.apply(revocation)
                logger.info("revocation stream ended; reconnecting")
            except asyncio.CancelledError:
                call.cancel()
                raise
            except grpc.aio.AioRpcError as exc:
                logger.info(
                    "revocation stream lost; reconnecting", extra={"grpc_code": exc.code().name}
                )
            except Exception:
                logger.exception("revocation stream failed; reconnecting")
            finally:
                call.cancel()
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def recheck(self) -> None:
        """Check every open socket's credential again; close those no longer valid."""
        by_token: dict[str, list[str]] = {}
        for conn in self.sockets.all():
            if conn.token:
                by_token.setdefault(conn.token, []).append(conn.user.credential_id)
        limit = asyncio.Semaphore(RECHECK_CONCURRENCY)

        async def check(token: str, credential_id: str) -> None:
            async with limit:
                try:
                    await self.accounts.Authenticate(
                        apb.AuthenticateRequest(token=token), timeout=self.call_timeout_s
                    )
                except grpc.aio.AioRpcError as exc:
                    if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
                        self.sockets.close_credential(credential_id, CLOSE_POLICY, REVOKED_REASON)
                    else:
                        raise

        # A task group, not gather: when one check fails (the room service went away again), the
        # others are cancelled and awaited, never left pending to be destroyed with the loop.
        try:
            async with asyncio.TaskGroup() as group:
                for token, ids in by_token.items():
                    group.create_task(check(token, ids[0]))
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None
