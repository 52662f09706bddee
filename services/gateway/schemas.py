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


class RoomIn(_In):
    name: Text = Field(description="Room name, 1-200 characters.", examples=["Design review"])


class RoomPatch(_In):
    name: Text | None = None


class RoomOut(BaseModel):
    id: str
    name: str
    created_by: str
    created_at: str
    updated_at: str
    last_seq: int


class RoomList(BaseModel):
    rooms: list[RoomOut]


class AuthorOut(BaseModel):
    id: str
    name: str
    kind: Literal["human", "ai", "system"]


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


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody
