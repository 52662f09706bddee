"""Request and response bodies of the REST API (they make the OpenAPI page).

Response models are read off the room service's protobuf messages field by name (from_proto.py);
`WhenUnset` says what a field is when its proto field is unset and None is not an answer.

Request bodies are strict: a field's JSON type must be its own ("yes" is not a boolean, "1" and
1.5 are not integers; an integer is a number), and every string must be text the stores can hold.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.validation import Content, Name, Text
from services.gateway.from_proto import WhenUnset


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


Role = Literal["owner", "member", "viewer"]
Access = Literal["invite", "open"]


class SessionIn(_In):
    name: Name = Field(description="Display name, 1-64 characters.", examples=["Ana"])


class RegisterIn(_In):
    username: Text = Field(
        max_length=64, description="3-32 of a-z, 0-9, _ . - (case-insensitive).", examples=["ana"]
    )
    password: Text = Field(max_length=1024, description="8-256 characters.")
    name: Name | None = Field(None, max_length=256, description="Display name (default: username).")


class LoginIn(_In):
    username: Text = Field(max_length=256)
    password: Text = Field(max_length=1024)


class UserOut(BaseModel):
    id: str
    name: str


class MeOut(BaseModel):
    id: str
    name: str
    username: str | None = Field(description="None for guests.")
    kind: Annotated[Literal["user", "guest"], WhenUnset("user")]
    admin: bool


class SessionOut(BaseModel):
    user: MeOut
    token: str = Field(
        description="Session token: send it as `Authorization: Bearer <token>` or keep the cookie."
    )


class TokenIn(_In):
    name: Name = Field(max_length=64, description="What the token is for, 1-64 characters.")
    expires_in_days: int | None = Field(None, ge=1, le=3650, description="Default: never.")


class TokenOut(BaseModel):
    id: str
    name: str
    created_at: str
    expires_at: str | None
    last_used_at: str | None


class NewTokenOut(BaseModel):
    id: str
    token: str = Field(description="The secret, shown only once.")
    name: str
    created_at: str
    expires_at: str | None


class TokenList(BaseModel):
    tokens: list[TokenOut]


class PersonaIn(_In):
    handle: Text = Field(
        description="Unique in the room: 1-32 of a-z, 0-9, _ and -.", examples=["alpha"]
    )
    name: Name = Field("", description="Display name (default: the handle).", examples=["Alpha"])
    model: Text = Field(description="A model id from GET /api/models.", examples=["gpt-4o-mini"])
    system_prompt: Text = ""
    temperature: float | None = Field(None, ge=0, le=2, description="Default 0.7.")
    max_tokens: int | None = Field(None, ge=1, le=32768, description="Reply budget; default 512.")
    talkativeness: float | None = Field(
        None, ge=0, le=1, description="Weight in autopilot's natural draw, 0-1; default 0.5."
    )
    muted: bool = Field(False, description="Takes no autopilot turns (mentions still work).")
    voice: Text | None = Field(
        None, description="A voice id from GET /api/voices, or null: the persona is not heard."
    )
    voice_rate: float | None = Field(None, ge=0.5, le=2, description="Speaking rate; default 1.")


class PersonaOut(BaseModel):
    handle: str
    name: str
    model: str
    system_prompt: str
    temperature: float
    max_tokens: int
    talkativeness: float
    muted: bool
    voice: str | None
    voice_rate: float


class RoomIn(_In):
    name: Name = Field(description="Room name, 1-200 characters.", examples=["Design review"])
    personas: list[PersonaIn] = Field(default_factory=list, max_length=20)
    access: Access = Field("invite", description="invite: members only; open: any account.")
    allow_guests: bool = Field(False, description="Guests may join (open) or accept invites.")


AutopilotStrategy = Literal["natural", "round_robin", "manual"]


class AutopilotIn(_In):
    """A change to a room's autopilot; fields left out stay as they are."""

    enabled: bool | None = None
    strategy: AutopilotStrategy | None = Field(
        None,
        description="natural: a persona named in the last message, else a draw weighted by "
        "talkativeness; round_robin: in order; manual: only @mentioned personas.",
    )
    max_turns: int | None = Field(
        None, ge=1, le=1000, description="Autopilot turns without a human message before it stops."
    )
    token_budget: int | None = Field(
        None, ge=0, le=1_000_000_000, description="Tokens one run may use; 0 = no limit."
    )
    idle_timeout_s: int | None = Field(
        None, ge=1, le=7 * 24 * 3600, description="It stops once nobody has been online this long."
    )
    summary_model: Text | None = Field(
        None, max_length=128, description="The room's summarizer model; empty = the default."
    )


class RoomPatch(_In):
    name: Name | None = None
    personas: list[PersonaIn] | None = Field(
        None, max_length=20, description="Replaces all personas."
    )
    access: Access | None = None
    allow_guests: bool | None = None
    autopilot: AutopilotIn | None = Field(
        None, description="Members may change only this field; every other field is owner only."
    )


class AutopilotOut(BaseModel):
    enabled: bool
    strategy: Annotated[AutopilotStrategy, WhenUnset("natural")]
    max_turns: int
    token_budget: int
    idle_timeout_s: int
    summary_model: str | None
    turns: int = Field(description="Autopilot turns since the last human message.")
    tokens_used: int = Field(description="Tokens this run's turns used.")
    stopped_reason: str | None = Field(
        None, description="Why it last stopped: max_turns, token_budget, idle, switched_off, error."
    )


class SummaryOut(BaseModel):
    text: str
    upto_seq: int = Field(description="Every message up to this seq is folded into the text.")
    updated_at: str


class RoomOut(BaseModel):
    id: str
    name: str
    created_by: str
    created_at: str
    updated_at: str
    last_seq: int
    personas: list[PersonaOut]
    access: Annotated[Access, WhenUnset("invite")]
    allow_guests: bool
    role: Role | None = Field(description="The caller's role; None: not a member (open room).")
    autopilot: AutopilotOut
    summary: SummaryOut | None = Field(None, description="The rolling summary of older messages.")


class RoomList(BaseModel):
    rooms: list[RoomOut]


class AuthorOut(BaseModel):
    id: str
    name: str
    kind: Annotated[Literal["human", "ai", "system"], WhenUnset("human")]
    handle: str | None = Field(None, description="The persona's handle, for AI authors.")


class UsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int


class TimingOut(BaseModel):
    time_to_first_token_ms: int
    total_ms: int


class SpeechOut(BaseModel):
    """How an AI reply's speech went (its audio: GET .../messages/{id}/speech)."""

    voice: str
    sentences: int = Field(description="Sentences spoken so far (every one, once final).")
    final: bool = Field(description="Nothing more will be spoken for this reply.")
    error: str | None = Field(None, description="Why speech failed or stopped early.")
    sample_rate: int


class MessageOut(BaseModel):
    id: str
    room_id: str
    seq: int
    author: AuthorOut
    content: str
    reply_to: str | None
    status: Annotated[
        Literal["queued", "streaming", "complete", "interrupted", "error"], WhenUnset("complete")
    ]
    created_at: str
    client_msg_id: str | None
    model: str | None = None
    usage: UsageOut | None = None
    timing: TimingOut | None = None
    error: str | None = Field(None, description="Why, when status is error.")
    queue_position: int | None = Field(
        None, description="While queued: its place in the room's line of replies (1 = next)."
    )
    speech: SpeechOut | None = Field(None, description="AI replies of a persona with a voice.")


class MessageIn(_In):
    content: Content = Field(description="1-16,000 characters, not only invisible ones.")
    client_msg_id: Text | None = Field(
        None, min_length=1, max_length=128, description="Idempotency key."
    )
    reply_to: Text | None = Field(
        None, max_length=64, description="Id of a message in the same room."
    )


class MessagePage(BaseModel):
    messages: list[MessageOut] = Field(description="Oldest first.")
    has_more: bool


class ModelOut(BaseModel):
    id: str
    backend: str
    model: str
    available: bool
    reason: str | None = Field(None, description="Why not, when not available.")
    context_window: int


class ModelList(BaseModel):
    models: list[ModelOut]


class ProviderOut(BaseModel):
    backend: str
    models: int
    available: int
    healthy: bool
    detail: str


class ProviderList(BaseModel):
    providers: list[ProviderOut]


class VoiceOut(BaseModel):
    id: str
    backend: str
    name: str
    language: str | None = Field(description="e.g. en_US; null when unknown.")
    available: bool
    reason: str | None = Field(None, description="Why not, when not available.")
    sample_rate: int | None = Field(description="Hz; null while unknown (an unavailable voice).")
    speakers: list[str] = Field(description="The speakers of a multi-speaker voice.")


class VoiceList(BaseModel):
    voices: list[VoiceOut]


class SpeechIn(_In):
    voice: Text = Field(max_length=128, description="A voice id from GET /api/voices.")
    text: Text = Field(min_length=1, max_length=500, description="1-500 characters to say.")
    rate: float | None = Field(None, ge=0.5, le=2, description="Speaking rate; default 1.")


class MemberOut(BaseModel):
    user: UserOut
    role: Annotated[Role, WhenUnset("member")]
    joined_at: str
    guest: bool


class MemberList(BaseModel):
    members: list[MemberOut]


class MemberPatch(_In):
    role: Role


class InviteIn(_In):
    max_uses: int | None = Field(None, ge=1, le=10_000, description="Default: unlimited.")
    expires_in_hours: int | None = Field(None, ge=1, le=8760, description="Default: never.")
    role: Literal["member", "viewer"] = "member"


class InviteOut(BaseModel):
    id: str
    room_id: str
    role: Annotated[Role, WhenUnset("member")]
    max_uses: int | None
    uses: int
    expires_at: str | None
    created_at: str
    revoked: bool


class NewInviteOut(InviteOut):
    token: str = Field(description="The secret, shown only once.")
    url: str = Field(description="A link to the web app that accepts the invite.")


class InviteList(BaseModel):
    invites: list[InviteOut]


class AdminUserOut(MeOut):
    disabled: bool
    created_at: str


class AdminUserList(BaseModel):
    users: list[AdminUserOut]


class AdminUserPatch(_In):
    disabled: bool


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody
