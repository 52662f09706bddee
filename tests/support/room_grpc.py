"""The room service alone as a real process, called over gRPC with the internal secret."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc

from services.common.pb import account_pb2 as apb
from services.common.pb import room_pb2 as pb
from services.common.pb.account_pb2_grpc import AccountServiceStub
from services.common.pb.room_pb2_grpc import RoomServiceStub
from tests.support.stack import Stack

PASSWORD = "correct horse battery"
TIMEOUT_S = 30.0


@dataclass
class RoomGrpc:
    """Stubs for a running room service's RoomService and AccountService."""

    stack: Stack
    channel: grpc.aio.Channel
    rooms: RoomServiceStub
    accounts: AccountServiceStub

    async def register(self, username: str, password: str = PASSWORD) -> apb.SessionGrant:
        """A new account, signed in."""
        grant: apb.SessionGrant = await self.accounts.Register(
            apb.RegisterRequest(username=username, password=password), timeout=TIMEOUT_S
        )
        return grant

    async def guest(self, name: str = "Guest") -> apb.SessionGrant:
        """A new guest account, signed in."""
        grant: apb.SessionGrant = await self.accounts.CreateGuest(
            apb.GuestRequest(name=name), timeout=TIMEOUT_S
        )
        return grant


async def register_actor(channel: grpc.aio.Channel, username: str) -> pb.User:
    """Register an account through the room service on `channel`; its RoomService actor."""
    grant = await AccountServiceStub(channel).Register(
        apb.RegisterRequest(username=username, password=PASSWORD), timeout=TIMEOUT_S
    )
    return actor(grant)


def actor(grant: apb.SessionGrant) -> pb.User:
    """The RoomService actor for a signed-in account."""
    account = grant.principal.account
    return pb.User(id=account.id, name=account.name)


@asynccontextmanager
async def room_service(workdir: Path, database_url: str, **env: str) -> AsyncIterator[RoomGrpc]:
    """Start the room service (CHIMERA_* overrides in `env`), yield its stubs, stop it."""
    stack = Stack(workdir, database_url, env_extra=env)
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    try:
        await stack.start_room()
        async with stack.channel(stack.room_addr) as channel:
            yield RoomGrpc(stack, channel, RoomServiceStub(channel), AccountServiceStub(channel))
    except BaseException:
        print(stack.logs())
        raise
    finally:
        await stack.stop()
