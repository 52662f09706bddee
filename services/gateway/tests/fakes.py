"""An in-memory AccountService and RoomService on a real (threaded) gRPC server, for gateway tests.

They implement just enough of the contract to drive the gateway: sessions and tokens, rooms
with members and roles, each room's message log (dense seqs, idempotent by author and
client_msg_id, paged by LoadHistory), and a RoomSession that answers joins and sends and hears
every message committed after its snapshot. The real services are tested in services/room and,
end to end, in tests/integration.
"""

from __future__ import annotations

import itertools
import queue
import secrets
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import cast

import grpc

from services.common.pb import account_pb2 as apb
from services.common.pb import room_pb2 as pb
from services.common.pb.account_pb2_grpc import (
    AccountServiceServicer,
    add_AccountServiceServicer_to_server,
)
from services.common.pb.room_pb2_grpc import RoomServiceServicer, add_RoomServiceServicer_to_server
from services.gateway.tests.fake_speech import FakeSpeech

_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}{next(_ids)}"


class FakeAccounts(AccountServiceServicer):
    """Accounts, sessions and API tokens in dicts; revocations fan out to every watcher."""

    def __init__(self) -> None:
        self.accounts: dict[str, apb.Account] = {}
        self.passwords: dict[str, str] = {}
        self.credentials: dict[str, apb.Principal] = {}  # secret -> principal
        self.watchers: list[queue.Queue[apb.Revocation | None]] = []
        self.lock = threading.Lock()

    def _grant(
        self,
        account: apb.Account,
        kind: apb.Principal.CredentialKind = apb.Principal.CREDENTIAL_KIND_SESSION,
    ) -> apb.SessionGrant:
        token = secrets.token_urlsafe(16)
        principal = apb.Principal(account=account, credential_id=_id("cred"), credential_kind=kind)
        self.credentials[token] = principal
        return apb.SessionGrant(principal=principal, token=token)

    def Register(self, request, context):  # type: ignore[no-untyped-def]
        with self.lock:
            if any(a.username == request.username for a in self.accounts.values()):
                context.abort(grpc.StatusCode.ALREADY_EXISTS, "Username taken.")
            account = apb.Account(
                id=_id("acct"),
                username=request.username,
                name=request.name or request.username,
                kind=apb.ACCOUNT_KIND_USER,
            )
            self.accounts[account.id] = account
            self.passwords[request.username] = request.password
            return self._grant(account)

    def Login(self, request, context):  # type: ignore[no-untyped-def]
        with self.lock:
            if self.passwords.get(request.username) != request.password:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "Invalid username or password.")
            account = next(a for a in self.accounts.values() if a.username == request.username)
            return self._grant(account)

    def CreateGuest(self, request, context):  # type: ignore[no-untyped-def]
        with self.lock:
            account = apb.Account(id=_id("guest"), name=request.name, kind=apb.ACCOUNT_KIND_GUEST)
            self.accounts[account.id] = account
            return self._grant(account)

    def Authenticate(self, request, context):  # type: ignore[no-untyped-def]
        with self.lock:
            principal = self.credentials.get(request.token)
            if principal is None or self.accounts[principal.account.id].disabled:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "Invalid or expired credentials.")
            return principal

    def Logout(self, request, context):  # type: ignore[no-untyped-def]
        with self.lock:
            principal = self.credentials.pop(request.token, None)
        if principal is not None:
            self.revoke(apb.Revocation(credential_id=principal.credential_id))
        return apb.LogoutResponse()

    def CreateToken(self, request, context):  # type: ignore[no-untyped-def]
        with self.lock:
            kind = apb.Principal.CREDENTIAL_KIND_API_TOKEN
            grant = self._grant(self.accounts[request.actor_id], kind=kind)
        token = apb.ApiToken(id=grant.principal.credential_id, name=request.name)
        return apb.CreateTokenResponse(token=token, secret=grant.token)

    def revoke(self, revocation: apb.Revocation) -> None:
        """Tell every watching gateway."""
        for watcher in list(self.watchers):
            watcher.put(revocation)

    def revoke_silently(self, token: str) -> None:
        """End a credential without telling anyone (a revocation lost while a stream was down)."""
        with self.lock:
            self.credentials.pop(token, None)

    def WatchRevocations(self, request, context) -> Iterator[apb.Revocation]:  # type: ignore[no-untyped-def]
        inbox: queue.Queue[apb.Revocation | None] = queue.Queue()
        self.watchers.append(inbox)
        context.add_callback(lambda: inbox.put(None))
        context.send_initial_metadata(())  # as the room service does: watching from now on
        try:
            while (item := inbox.get()) is not None:
                yield item
        finally:
            self.watchers.remove(inbox)

    def end_watches(self) -> None:
        """Cut every watch stream (the room service restarting)."""
        for watcher in list(self.watchers):
            watcher.put(None)


@dataclass
class FakeRoom:
    room: pb.Room  # room.last_seq: the newest message's seq
    roles: dict[str, int] = field(default_factory=dict)
    messages: list[pb.Message] = field(default_factory=list)  # by seq, from 1
    by_client_id: dict[tuple[str, str], pb.Message] = field(default_factory=dict)


class FakeRooms(FakeSpeech, RoomServiceServicer):
    """Rooms with roles, and RoomSession streams that take joins and sends (and speech)."""

    def __init__(self) -> None:
        super().__init__()
        self.rooms: dict[str, FakeRoom] = {}
        self.streams: dict[str, list[queue.Queue[pb.SessionEvent | None]]] = {}
        self.deny_joins: set[str] = set()  # user ids whose stream joins are refused
        self.deny_history: set[str] = set()  # user ids refused history (removed after joining)
        self.fail_sends: set[str] = set()  # contents whose sends end the stream (a broken store)
        # Contents whose next send is committed and broadcast, and then its stream ends before
        # the SendResult goes out (the room service dying between the two).
        self.lose_answers: set[str] = set()
        self.sends: list[pb.SendMessage] = []  # every send any stream took, in order
        self.opens = threading.Event()  # cleared: a stream's open waits (a room service restarting)
        self.opens.set()
        # Users whose stream joins wait for `joins_answered` before they are checked (a slow
        # database); `join_waiting` is set once one waits. Events sent meanwhile go out first.
        self.slow_joins: set[str] = set()
        self.joins_answered = threading.Event()
        self.joins_answered.set()
        self.join_waiting = threading.Event()
        self.sessions_opened = 0
        # A stream's snapshot and its registration, and a commit and its broadcast, are atomic
        # with respect to each other (the room lock): every message reaches a stream once.
        self.lock = threading.Lock()

    def add_room(self, roles: dict[str, int], access: pb.RoomAccess = pb.ROOM_ACCESS_INVITE) -> str:
        room = pb.Room(id=_id("room"), name="Room", access=access)
        self.rooms[room.id] = FakeRoom(room, dict(roles))
        return room.id

    def _role(self, room_id: str, user_id: str) -> int | None:
        """The user's role; 0 for a non-member of an open room; None: not allowed to read."""
        fake = self.rooms.get(room_id)
        if fake is None:
            return None
        role = fake.roles.get(user_id, 0)
        if role == 0 and fake.room.access != pb.ROOM_ACCESS_OPEN:
            return None
        return role

    def GetRoom(self, request, context):  # type: ignore[no-untyped-def]
        role = self._role(request.room_id, request.actor.id)
        if role is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "Room not found.")
        room = pb.Room()
        room.CopyFrom(self.rooms[request.room_id].room)
        room.role = cast(pb.RoomRole, role)
        return room

    def LoadHistory(self, request, context):  # type: ignore[no-untyped-def]
        if request.actor.id in self.deny_history:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "You are not a member of this room.")
        if self._role(request.room_id, request.actor.id) is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "Room not found.")
        limit = min(request.limit or 50, 200)
        with self.lock:
            messages = list(self.rooms[request.room_id].messages)
        if request.HasField("after_seq"):
            later = [m for m in messages if m.seq > request.after_seq]
            return pb.LoadHistoryResponse(messages=later[:limit], has_more=len(later) > limit)
        if request.HasField("before_seq"):
            messages = [m for m in messages if m.seq < request.before_seq]
        return pb.LoadHistoryResponse(messages=messages[-limit:], has_more=len(messages) > limit)

    def post(
        self,
        room_id: str,
        author: pb.User,
        content: str,
        client_msg_id: str = "",
        *,
        broadcast: bool = True,
    ) -> tuple[pb.Message, bool]:
        """Commit a message under the room's next seq and send it on every stream; a duplicate
        (same author and client_msg_id) is returned as it was and not sent again.

        broadcast=False: committed, but no stream hears of it (a lost event, which the gateway
        must notice as a gap in seqs).
        """
        with self.lock:
            fake = self.rooms[room_id]
            if client_msg_id and (author.id, client_msg_id) in fake.by_client_id:
                return fake.by_client_id[(author.id, client_msg_id)], True
            human = pb.Author(id=author.id, name=author.name, kind=pb.AUTHOR_KIND_HUMAN)
            message = self._commit(
                fake, human, content, pb.MESSAGE_STATUS_COMPLETE, broadcast, client_msg_id
            )
            if client_msg_id:
                fake.by_client_id[(author.id, client_msg_id)] = message
        return message, False

    def start_reply(self, room_id: str, persona: str, content: str) -> pb.Message:
        """Commit an AI reply that is still streaming (its text so far), and send it."""
        ai = pb.Author(id=persona, name=persona, kind=pb.AUTHOR_KIND_AI)
        with self.lock:
            return self._commit(self.rooms[room_id], ai, content, pb.MESSAGE_STATUS_STREAMING, True)

    def end_reply(self, room_id: str, message_id: str, content: str, *, broadcast: bool) -> None:
        """A reply ended: stored complete under its seq, and sent again unless broadcast=False
        (it ended while no stream was there to hear it)."""
        with self.lock:
            messages = self.rooms[room_id].messages
            at = next(n for n, m in enumerate(messages) if m.id == message_id)
            message = pb.Message()  # a new one: the old may still be on its way somewhere
            message.CopyFrom(messages[at])
            message.content, message.status = content, pb.MESSAGE_STATUS_COMPLETE
            messages[at] = message
            if broadcast:
                self._push(room_id, pb.SessionEvent(message=message))

    def _commit(
        self,
        fake: FakeRoom,
        author: pb.Author,
        content: str,
        status: pb.MessageStatus,
        broadcast: bool,
        client_msg_id: str = "",
    ) -> pb.Message:
        """Under the lock: store a message under the room's next seq (and send it)."""
        fake.room.last_seq += 1
        message = pb.Message(
            id=_id("msg"),
            room_id=fake.room.id,
            seq=fake.room.last_seq,
            content=content,
            author=author,
            status=status,
            client_msg_id=client_msg_id,
        )
        fake.messages.append(message)
        if broadcast:
            self._push(fake.room.id, pb.SessionEvent(message=message))
        return message

    def push(self, room_id: str, event: pb.SessionEvent) -> None:
        """Send an event on every stream of the room."""
        with self.lock:
            self._push(room_id, event)

    def _push(self, room_id: str, event: pb.SessionEvent) -> None:
        for stream in self.streams.get(room_id, []):
            stream.put(event)

    def cut(self, room_id: str) -> None:
        """End every stream of the room at once (the room service crashing)."""
        with self.lock:
            for stream in self.streams.pop(room_id, []):
                stream.put(None)

    def delete_room(self, room_id: str) -> None:
        """What DeleteRoom does: the room is gone, and so are its streams."""
        with self.lock:
            del self.rooms[room_id]
        self.cut(room_id)

    def remove_member(self, room_id: str, user_id: str) -> None:
        """What RemoveMember does: forget the role, tell the gateways."""
        self.rooms[room_id].roles.pop(user_id, None)
        self.push(room_id, pb.SessionEvent(member_removed=pb.MemberRemoved(user_id=user_id)))

    def RoomSession(self, request_iterator, context) -> Iterator[pb.SessionEvent]:  # type: ignore[no-untyped-def]
        out: queue.Queue[pb.SessionEvent | None] = queue.Queue()
        room_id = ""
        missing = False  # opened for a room there is not (set before the stream's end is put)

        def read() -> None:
            nonlocal room_id, missing
            try:
                for request in request_iterator:
                    kind = request.WhichOneof("kind")
                    if kind == "open":
                        self.opens.wait()
                        room_id = request.open.room_id
                        with self.lock:
                            if room_id not in self.rooms:
                                missing = True
                                return
                            self.sessions_opened += 1
                            self.streams.setdefault(room_id, []).append(out)
                            room = self.rooms[room_id].room
                            opened = pb.SessionOpened(room=room, speaking=self.speaking(room_id))
                            out.put(pb.SessionEvent(opened=opened))
                    elif kind == "join":
                        user_id = request.join.user.id
                        if user_id in self.slow_joins:
                            self.join_waiting.set()
                            self.joins_answered.wait()
                        if user_id in self.deny_joins or self._role(room_id, user_id) is None:
                            error = pb.RequestError(
                                conn_id=request.join.conn_id,
                                code="permission_denied",
                                message="Room not found.",
                            )
                            out.put(pb.SessionEvent(error=error))
                        else:  # an open room's reader becomes a member
                            role = cast(
                                pb.RoomRole, self._role(room_id, user_id) or pb.ROOM_ROLE_MEMBER
                            )
                            self.rooms[room_id].roles[user_id] = role
                            joined = pb.MemberJoined(conn_id=request.join.conn_id, role=role)
                            out.put(pb.SessionEvent(joined=joined))
                    elif kind == "send":
                        send = request.send
                        self.sends.append(send)
                        if send.content in self.fail_sends:
                            out.put(None)  # as the room service did: the whole stream fails
                            return
                        message, duplicate = self.post(
                            room_id, send.author, send.content, send.client_msg_id
                        )
                        if send.content in self.lose_answers:
                            self.lose_answers.discard(send.content)
                            out.put(None)
                            return
                        result = pb.SendResult(
                            conn_id=send.conn_id,
                            client_msg_id=send.client_msg_id,
                            message=message,
                            duplicate=duplicate,
                        )
                        out.put(pb.SessionEvent(send_result=result))
            except grpc.RpcError:
                pass  # the gateway hung up
            finally:
                out.put(None)

        threading.Thread(target=read, daemon=True).start()
        try:
            while (event := out.get()) is not None:
                yield event
            if missing:
                context.abort(grpc.StatusCode.NOT_FOUND, "Room not found.")
        finally:
            with self.lock:
                if out in self.streams.get(room_id, []):
                    self.streams[room_id].remove(out)


class FakeServices:
    """Both fakes on one loopback port, as the room service process serves them."""

    def __init__(self) -> None:
        self.accounts = FakeAccounts()
        self.rooms = FakeRooms()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
        add_AccountServiceServicer_to_server(self.accounts, self.server)
        add_RoomServiceServicer_to_server(self.rooms, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")

    def __enter__(self) -> FakeServices:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.rooms.opens.set()  # no stream left waiting in its open
        self.rooms.joins_answered.set()  # nor in a join
        self.accounts.end_watches()
        self.server.stop(grace=None)
