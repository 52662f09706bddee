"""Request and response bodies of the REST API (they make the OpenAPI page)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.validation import Text


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SessionIn(_In):
    name: Text = Field(description="Display name, 1-64 characters.", examples=["Ana"])


class UserOut(BaseModel):
    id: str
    name: str


class SessionOut(BaseModel):
    user: UserOut
    token: str = Field(description="Signed, expiring bearer token.")


class PersonaIn(_In):
    handle: Text = Field(
        description="Unique in the room: 1-32 of a-z, 0-9, _ and -.", examples=["alpha"]
    )
    name: Text = Field("", description="Display name (default: the handle).", examples=["Alpha"])
    model: Text = Field(description="A model id from GET /api/models.", examples=["gpt-4o-mini"])
    system_prompt: Text = ""
    temperature: float | None = Field(None, ge=0, le=2, description="Default 0.7.")
    max_tokens: int | None = Field(None, ge=1, le=32768, description="Reply budget; default 512.")
    talkativeness: float | None = Field(
        None, ge=0, le=1, description="Weight in autopilot's natural draw, 0-1; default 0.5."
    )
    muted: bool = Field(False, description="Takes no autopilot turns (mentions still work).")


class PersonaOut(BaseModel):
    handle: str
    name: str
    model: str
    system_prompt: str
    temperature: float
    max_tokens: int
    talkativeness: float
    muted: bool


class RoomIn(_In):
    name: Text = Field(description="Room name, 1-200 characters.", examples=["Design review"])
    personas: list[PersonaIn] = Field(default_factory=list, max_length=20)


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
    name: Text | None = None
    personas: list[PersonaIn] | None = Field(
        None, max_length=20, description="Replaces all personas."
    )
    autopilot: AutopilotIn | None = None


class AutopilotOut(BaseModel):
    enabled: bool
    strategy: AutopilotStrategy
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
    autopilot: AutopilotOut
    summary: SummaryOut | None = Field(None, description="The rolling summary of older messages.")


class RoomList(BaseModel):
    rooms: list[RoomOut]


class AuthorOut(BaseModel):
    id: str
    name: str
    kind: Literal["human", "ai", "system"]
    handle: str | None = Field(None, description="The persona's handle, for AI authors.")


class UsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int


class TimingOut(BaseModel):
    time_to_first_token_ms: int
    total_ms: int


class MessageOut(BaseModel):
    id: str
    room_id: str
    seq: int
    author: AuthorOut
    content: str
    reply_to: str | None
    status: Literal["complete", "streaming", "interrupted", "error"]
    created_at: str
    client_msg_id: str | None
    model: str | None = None
    usage: UsageOut | None = None
    timing: TimingOut | None = None
    error: str | None = Field(None, description="Why, when status is error.")


class MessageIn(_In):
    content: Text
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


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody
