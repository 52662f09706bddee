"""The room service as a real process: AccountService and room access over real gRPC."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from services.common.pb import account_pb2 as apb
from services.common.pb import room_pb2 as pb
from tests.support.room_grpc import PASSWORD, TIMEOUT_S, RoomGrpc, actor, room_service

pytestmark = pytest.mark.integration


@pytest.fixture
async def room(tmp_path: Path, database_url: str) -> AsyncIterator[RoomGrpc]:
    async with room_service(tmp_path, database_url, CHIMERA_LOGIN_MAX_FAILURES="2") as service:
        yield service


async def status_of(call) -> tuple[grpc.StatusCode, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value.code(), raised.value.details() or ""


async def test_accounts_over_grpc(room: RoomGrpc) -> None:
    grant = await room.register("Alice")
    assert grant.principal.account.username == "alice"
    assert grant.principal.account.kind == apb.ACCOUNT_KIND_USER
    assert grant.principal.credential_kind == apb.Principal.CREDENTIAL_KIND_SESSION

    principal = await room.accounts.Authenticate(
        apb.AuthenticateRequest(token=grant.token), timeout=TIMEOUT_S
    )
    assert principal.credential_id == grant.principal.credential_id

    token = await room.accounts.CreateToken(
        apb.CreateTokenRequest(actor_id=principal.account.id, name="ci", expires_in_days=7),
        timeout=TIMEOUT_S,
    )
    assert token.secret.startswith("chm_")
    by_token = await room.accounts.Authenticate(
        apb.AuthenticateRequest(token=token.secret), timeout=TIMEOUT_S
    )
    assert by_token.credential_kind == apb.Principal.CREDENTIAL_KIND_API_TOKEN

    assert await status_of(
        room.accounts.Register(
            apb.RegisterRequest(username="ALICE", password=PASSWORD), timeout=TIMEOUT_S
        )
    ) == (grpc.StatusCode.ALREADY_EXISTS, "That username is taken.")
    for _ in range(2):
        assert await status_of(
            room.accounts.Login(
                apb.LoginRequest(username="alice", password="wrong password"), timeout=TIMEOUT_S
            )
        ) == (grpc.StatusCode.UNAUTHENTICATED, "Invalid username or password.")
    with pytest.raises(grpc.aio.AioRpcError) as limited:
        await room.accounts.Login(
            apb.LoginRequest(username="alice", password=PASSWORD), timeout=TIMEOUT_S
        )
    assert limited.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    retry_after = dict(limited.value.trailing_metadata() or ())["retry-after"]
    assert 1 <= int(retry_after) <= 900  # seconds, the default 15-minute window at most
    assert await status_of(
        room.accounts.Authenticate(apb.AuthenticateRequest(token="forged"), timeout=TIMEOUT_S)
    ) == (grpc.StatusCode.UNAUTHENTICATED, "Invalid or expired credentials.")


async def test_room_access_over_grpc(room: RoomGrpc) -> None:
    alice, bob = actor(await room.register("alice")), actor(await room.register("bob"))
    guest = actor(await room.guest())
    created = await room.rooms.CreateRoom(
        pb.CreateRoomRequest(actor=alice, name="Plans"), timeout=TIMEOUT_S
    )
    assert (created.role, created.access) == (pb.ROOM_ROLE_OWNER, pb.ROOM_ACCESS_INVITE)

    # Not a member: exactly as if the room did not exist.
    hidden = (grpc.StatusCode.NOT_FOUND, "Room not found.")
    for room_id in (created.id, "00000000-0000-0000-0000-000000000000"):
        assert (
            await status_of(
                room.rooms.GetRoom(pb.GetRoomRequest(room_id=room_id, actor=bob), timeout=TIMEOUT_S)
            )
            == hidden
        )
        assert (
            await status_of(
                room.rooms.LoadHistory(
                    pb.LoadHistoryRequest(room_id=room_id, actor=bob), timeout=TIMEOUT_S
                )
            )
            == hidden
        )
    listed = await room.rooms.ListRooms(pb.ListRoomsRequest(actor=bob), timeout=TIMEOUT_S)
    assert list(listed.rooms) == []

    invite = await room.rooms.CreateInvite(
        pb.CreateInviteRequest(actor=alice, room_id=created.id, role=pb.ROOM_ROLE_VIEWER),
        timeout=TIMEOUT_S,
    )
    joined = await room.rooms.AcceptInvite(
        pb.AcceptInviteRequest(actor=bob, token=invite.token), timeout=TIMEOUT_S
    )
    assert (joined.id, joined.role) == (created.id, pb.ROOM_ROLE_VIEWER)
    assert await status_of(
        room.rooms.PostMessage(
            pb.PostMessageRequest(room_id=created.id, author=bob, content="hi"), timeout=TIMEOUT_S
        )
    ) == (grpc.StatusCode.PERMISSION_DENIED, "Viewers cannot send messages.")
    assert await status_of(
        room.rooms.UpdateMember(
            pb.UpdateMemberRequest(
                actor=bob, room_id=created.id, user_id=bob.id, role=pb.ROOM_ROLE_OWNER
            ),
            timeout=TIMEOUT_S,
        )
    ) == (grpc.StatusCode.PERMISSION_DENIED, "Only the room's owners can do that.")
    assert await status_of(
        room.rooms.RemoveMember(
            pb.RemoveMemberRequest(actor=alice, room_id=created.id, user_id=alice.id),
            timeout=TIMEOUT_S,
        )
    ) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "A room needs an owner: make someone else owner first.",
    )
    assert await status_of(
        room.rooms.AcceptInvite(
            pb.AcceptInviteRequest(actor=guest, token=invite.token), timeout=TIMEOUT_S
        )
    ) == (grpc.StatusCode.NOT_FOUND, "Invite not found or no longer valid.")


async def test_room_session_joins_are_checked(room: RoomGrpc) -> None:
    alice, bob = actor(await room.register("alice")), actor(await room.register("bob"))
    created = await room.rooms.CreateRoom(
        pb.CreateRoomRequest(actor=alice, name="Plans"), timeout=TIMEOUT_S
    )
    requests: asyncio.Queue[pb.SessionRequest | None] = asyncio.Queue()

    async def outgoing() -> AsyncIterator[pb.SessionRequest]:
        while (request := await requests.get()) is not None:
            yield request

    call = room.rooms.RoomSession(outgoing())
    await requests.put(pb.SessionRequest(open=pb.SessionOpen(room_id=created.id, gateway_id="t")))
    events = aiter(call)
    async with asyncio.timeout(TIMEOUT_S):
        assert (await anext(events)).HasField("opened")
        assert (await anext(events)).autopilot_status.state == "off"
        await requests.put(pb.SessionRequest(join=pb.MemberJoin(conn_id="b", user=bob)))
        denied = await anext(events)
        assert (denied.error.conn_id, denied.error.code) == ("b", "permission_denied")
        await requests.put(pb.SessionRequest(join=pb.MemberJoin(conn_id="a", user=alice)))
        online = await anext(events)
        assert (online.presence.user.id, online.presence.online) == (alice.id, True)
    await requests.put(None)
    call.cancel()


async def test_revocations_are_pushed_and_the_watch_ends_on_shutdown(room: RoomGrpc) -> None:
    grant = await room.register("alice")
    watch = room.accounts.WatchRevocations(apb.WatchRevocationsRequest(gateway_id="t"))
    async with asyncio.timeout(TIMEOUT_S):
        await watch.initial_metadata()  # the watch is registered
        await room.accounts.Logout(apb.LogoutRequest(token=grant.token), timeout=TIMEOUT_S)
        revocation = await watch.read()
        assert revocation == apb.Revocation(credential_id=grant.principal.credential_id)

        assert room.stack.room is not None
        exit_code = await room.stack.room.signal(signal.SIGTERM)
        assert await watch.read() == grpc.aio.EOF
        assert await watch.code() == grpc.StatusCode.OK  # ended by the server, not cut at the grace
    assert exit_code == 0
