"""Store records to protobuf messages."""

from __future__ import annotations

from datetime import datetime

from services.common.ids import to_ms
from services.common.pb import account_pb2 as apb
from services.common.pb import room_pb2 as pb
from services.room.personas import persona_pb
from services.room.store.records import (
    AccountRecord,
    AutopilotRecord,
    CredentialRecord,
    InviteRecord,
    MemberRecord,
    MessageRecord,
    RoomRecord,
    SpeechRecord,
    SummaryRecord,
)

AUTHOR_KINDS = {
    "human": pb.AUTHOR_KIND_HUMAN,
    "ai": pb.AUTHOR_KIND_AI,
    "system": pb.AUTHOR_KIND_SYSTEM,
}
STATUSES = {
    "complete": pb.MESSAGE_STATUS_COMPLETE,
    "streaming": pb.MESSAGE_STATUS_STREAMING,
    "interrupted": pb.MESSAGE_STATUS_INTERRUPTED,
    "error": pb.MESSAGE_STATUS_ERROR,
    "queued": pb.MESSAGE_STATUS_QUEUED,
}

ROLES = {
    "viewer": pb.ROOM_ROLE_VIEWER,
    "member": pb.ROOM_ROLE_MEMBER,
    "owner": pb.ROOM_ROLE_OWNER,
}
ROLE_NAMES: dict[int, str] = {value: name for name, value in ROLES.items()}
ACCESS = {"invite": pb.ROOM_ACCESS_INVITE, "open": pb.ROOM_ACCESS_OPEN}
ACCESS_NAMES: dict[int, str] = {value: name for name, value in ACCESS.items()}
ACCOUNT_KINDS = {"user": apb.ACCOUNT_KIND_USER, "guest": apb.ACCOUNT_KIND_GUEST}
CREDENTIAL_KINDS = {
    "session": apb.Principal.CREDENTIAL_KIND_SESSION,
    "api_token": apb.Principal.CREDENTIAL_KIND_API_TOKEN,
}


def _ms(value: datetime | None) -> int:
    return 0 if value is None else to_ms(value)


def room_pb(room: RoomRecord, role: str | None = None) -> pb.Room:
    """A stored room as the wire type; `role` is the caller's (unary replies only)."""
    return pb.Room(
        id=room.id,
        name=room.name,
        created_by=room.created_by,
        created_at_ms=to_ms(room.created_at),
        updated_at_ms=to_ms(room.updated_at),
        last_seq=room.last_seq,
        personas=[persona_pb(p) for p in room.personas],
        access=ACCESS.get(room.access, pb.ROOM_ACCESS_INVITE),
        allow_guests=room.allow_guests,
        role=ROLES.get(role or "", pb.ROOM_ROLE_UNSPECIFIED),
        autopilot=autopilot_pb(room.autopilot),
        summary=summary_pb(room.summary) if room.summary else None,
    )


def autopilot_pb(autopilot: AutopilotRecord) -> pb.Autopilot:
    """A room's autopilot as the wire type."""
    return pb.Autopilot(
        enabled=autopilot.enabled,
        strategy=autopilot.strategy,
        max_turns=autopilot.max_turns,
        token_budget=autopilot.token_budget,
        idle_timeout_s=autopilot.idle_timeout_s,
        summary_model=autopilot.summary_model,
        turns=autopilot.turns,
        tokens_used=autopilot.tokens_used,
        stopped_reason=autopilot.stopped_reason,
    )


def summary_pb(summary: SummaryRecord) -> pb.Summary:
    """A room's rolling summary as the wire type."""
    return pb.Summary(
        text=summary.text, upto_seq=summary.upto_seq, updated_at_ms=to_ms(summary.updated_at)
    )


def member_pb(member: MemberRecord) -> pb.RoomMember:
    """A room member as the wire type."""
    return pb.RoomMember(
        user=pb.User(id=member.account_id, name=member.name),
        role=ROLES[member.role],
        joined_at_ms=to_ms(member.joined_at),
        guest=member.guest,
    )


def invite_pb(invite: InviteRecord) -> pb.Invite:
    """An invite as the wire type (never its token)."""
    return pb.Invite(
        id=invite.id,
        room_id=invite.room_id,
        created_by=invite.created_by,
        role=ROLES[invite.role],
        max_uses=invite.max_uses or 0,
        uses=invite.uses,
        created_at_ms=to_ms(invite.created_at),
        expires_at_ms=_ms(invite.expires_at),
        revoked=invite.revoked_at is not None,
    )


def account_pb(account: AccountRecord) -> apb.Account:
    """An account as the wire type."""
    return apb.Account(
        id=account.id,
        username=account.username or "",
        name=account.name,
        kind=ACCOUNT_KINDS.get(account.kind, apb.ACCOUNT_KIND_UNSPECIFIED),
        admin=account.admin,
        disabled=account.disabled,
        created_at_ms=to_ms(account.created_at),
    )


def principal_pb(account: AccountRecord, credential: CredentialRecord) -> apb.Principal:
    """What a verified credential stands for."""
    return apb.Principal(
        account=account_pb(account),
        credential_id=credential.id,
        credential_kind=CREDENTIAL_KINDS.get(
            credential.kind, apb.Principal.CREDENTIAL_KIND_UNSPECIFIED
        ),
        expires_at_ms=_ms(credential.expires_at),
    )


def token_pb(token: CredentialRecord) -> apb.ApiToken:
    """An API token's metadata (never its secret)."""
    return apb.ApiToken(
        id=token.id,
        name=token.name or "",
        created_at_ms=to_ms(token.created_at),
        expires_at_ms=_ms(token.expires_at),
        last_used_at_ms=_ms(token.last_used_at),
    )


def message_pb(message: MessageRecord) -> pb.Message:
    """A stored message as the wire type."""
    result = pb.Message(
        id=message.id,
        room_id=message.room_id,
        seq=message.seq,
        author=pb.Author(
            id=message.author.id,
            name=message.author.name,
            kind=AUTHOR_KINDS.get(message.author.kind, pb.AUTHOR_KIND_UNSPECIFIED),
            handle=message.author.handle or "",
        ),
        content=message.content,
        reply_to=message.reply_to or "",
        status=STATUSES.get(message.status, pb.MESSAGE_STATUS_UNSPECIFIED),
        created_at_ms=to_ms(message.created_at),
        client_msg_id=message.client_msg_id or "",
        model=message.model or "",
        error=message.error or "",
    )
    if message.prompt_tokens is not None or message.completion_tokens is not None:
        result.usage.prompt_tokens = message.prompt_tokens or 0
        result.usage.completion_tokens = message.completion_tokens or 0
    if message.ttft_ms is not None or message.total_ms is not None:
        result.timing.time_to_first_token_ms = message.ttft_ms or 0
        result.timing.total_ms = message.total_ms or 0
    if message.speech is not None:
        result.speech.CopyFrom(speech_pb(message.speech))
    return result


def speech_pb(speech: SpeechRecord) -> pb.Speech:
    """A reply's stored speech state as the wire type."""
    return pb.Speech(
        voice=speech.voice,
        sentences=speech.sentences,
        final=speech.final,
        error=speech.error,
        sample_rate=speech.sample_rate,
    )
