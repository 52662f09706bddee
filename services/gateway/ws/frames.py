"""The WebSocket frames as models: what clients send and what the server sends back.

docs/websocket-protocol.md describes each frame; the frame types and field names are a public
contract. Client frames are validated with these models (ws/protocol.py); the server frames
describe what ws/protocol.py's encoders write, and both are the source of the web app's frame
types (scripts/gen_web_types.py).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.validation import Text
from services.gateway.from_proto import WhenUnset
from services.gateway.schemas import MessageOut, RoomOut, UserOut

MAX_SEQ = 2**63 - 1

SpeechFormat = Literal["opus", "pcm"]

# ---------------------------------------------------------------------------------------------
# Client -> server
# ---------------------------------------------------------------------------------------------


class _ClientFrame(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


class SpeechHeard(_ClientFrame):
    """The last `speech` frame a client had: on resume, that reply's sentences up to it are
    not sent again."""

    message_id: Text = Field(min_length=1, max_length=64)
    index: int = Field(ge=0, le=MAX_SEQ)


class HelloFrame(_ClientFrame):
    """The first frame: who is connecting and what they have already seen."""

    type: Literal["hello"]
    token: Text | None = Field(None, max_length=4096, description="Default: the session cookie.")
    last_seq: int | None = Field(
        None, ge=0, le=MAX_SEQ, description="The highest seq the client has shown."
    )
    audio: SpeechFormat | None = Field(
        default=None, description="Send `speech` frames in this format; default none."
    )
    last_speech: SpeechHeard | None = Field(
        default=None,
        description="The last speech frame the client had; earlier ones are not sent again.",
    )


class SendFrame(_ClientFrame):
    type: Literal["send"]
    content: Text
    client_msg_id: Text | None = Field(
        None, min_length=1, max_length=128, description="Idempotency key."
    )
    reply_to: Text | None = Field(None, max_length=64)


class TypingFrame(_ClientFrame):
    type: Literal["typing"]
    active: bool


class PingFrame(_ClientFrame):
    type: Literal["ping"]


class InterruptFrame(_ClientFrame):
    """Stop a queued or streaming AI reply."""

    type: Literal["interrupt"]
    message_id: Text = Field(max_length=64)


class AutopilotFrame(_ClientFrame):
    """Switch the room's autopilot on or off, or change its settings (unset: unchanged)."""

    type: Literal["autopilot"]
    enabled: bool | None = None
    strategy: Text | None = Field(None, max_length=32)  # the room service names the choices
    max_turns: int | None = Field(None, ge=1, le=1000)
    token_budget: int | None = Field(None, ge=0, le=1_000_000_000)
    idle_timeout_s: int | None = Field(None, ge=1, le=7 * 24 * 3600)
    summary_model: Text | None = Field(None, max_length=128)

    def patch(self) -> dict[str, Any]:
        """The settings this frame changes."""
        return self.model_dump(exclude={"type"}, exclude_none=True)


class AudioFrame(_ClientFrame):
    """Start, switch or stop the `speech` frames this socket gets (from the next one on)."""

    type: Literal["audio"]
    format: SpeechFormat | Literal["off"]


AnyClientFrame = (
    HelloFrame | SendFrame | TypingFrame | PingFrame | InterruptFrame | AutopilotFrame | AudioFrame
)
ClientFrame = Annotated[AnyClientFrame, Field(discriminator="type")]
CLIENT_TYPES = ("hello", "send", "typing", "ping", "interrupt", "autopilot", "audio")

# ---------------------------------------------------------------------------------------------
# Server -> client (REST's models where a frame carries a room, a message or a user)
# ---------------------------------------------------------------------------------------------


class _ServerFrame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AutopilotStatus(_ServerFrame):
    """What a room's autopilot is doing right now (not stored)."""

    state: Annotated[Literal["off", "waiting", "held", "thinking", "speaking"], WhenUnset("off")]
    handle: str | None = Field(description="The persona thinking or speaking.")
    reason: str | None = Field(
        description="Why it waits or is held: replies, nobody_online, no_messages, no_speaker, "
        "typing."
    )


class WelcomeFrame(_ServerFrame):
    """The answer to `hello` once the join is committed; a replay may follow."""

    type: Literal["welcome"]
    room: RoomOut
    user: UserOut
    participants: list[UserOut]
    last_seq: int
    resumed: bool = Field(description="Every message after the hello's last_seq follows.")
    autopilot_status: AutopilotStatus


class MessageFrame(_ServerFrame):
    """A new message, or one whose content or status changed: upsert by id."""

    type: Literal["message"]
    message: MessageOut


class DeltaFrame(_ServerFrame):
    """Text to append to a streaming reply's content."""

    type: Literal["delta"]
    message_id: str
    text: str


class AckFrame(_ServerFrame):
    """The sender's `send` was stored (or had been: duplicate)."""

    type: Literal["ack"]
    client_msg_id: str
    message_id: str
    seq: int
    duplicate: bool


class UserTypingFrame(_ServerFrame):
    """Someone else started or stopped typing."""

    type: Literal["typing"]
    user: UserOut
    active: bool


class PresenceFrame(_ServerFrame):
    type: Literal["presence"]
    user: UserOut
    online: bool


class RoomFrame(_ServerFrame):
    """The room after a change, with the receiver's own role."""

    type: Literal["room"]
    room: RoomOut


class AutopilotStatusFrame(AutopilotStatus):
    type: Literal["autopilot_status"]


class SpeechFrame(_ServerFrame):
    """One spoken sentence of an AI reply, to the sockets that asked for audio, in order."""

    type: Literal["speech"]
    message_id: str
    index: int = Field(description="The reply's sentences, from 0.")
    text: str = Field(description="What is said.")
    format: SpeechFormat
    sample_rate: int = Field(description="Hz of `audio` (opus: 48000).")
    audio: str = Field(
        description="Base64: a whole Ogg/Opus stream (opus) or 16-bit little-endian mono PCM "
        "(pcm); empty on a final frame with nothing more to say."
    )
    final: bool = Field(description="The reply's last speech frame.")
    error: str | None = Field(None, description="Final only: why speech ended early.")


class PongFrame(_ServerFrame):
    type: Literal["pong"]


class ErrorFrame(_ServerFrame):
    """A frame that could not be used; the socket stays open."""

    type: Literal["error"]
    code: str
    message: str
    client_msg_id: str | None = Field(None, description="Present when it answers a `send`.")


AnyServerFrame = (
    WelcomeFrame
    | MessageFrame
    | DeltaFrame
    | AckFrame
    | UserTypingFrame
    | PresenceFrame
    | RoomFrame
    | AutopilotStatusFrame
    | SpeechFrame
    | PongFrame
    | ErrorFrame
)
ServerFrame = Annotated[AnyServerFrame, Field(discriminator="type")]
