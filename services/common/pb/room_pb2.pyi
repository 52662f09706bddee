from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AuthorKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUTHOR_KIND_UNSPECIFIED: _ClassVar[AuthorKind]
    AUTHOR_KIND_HUMAN: _ClassVar[AuthorKind]
    AUTHOR_KIND_AI: _ClassVar[AuthorKind]
    AUTHOR_KIND_SYSTEM: _ClassVar[AuthorKind]

class MessageStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_STATUS_UNSPECIFIED: _ClassVar[MessageStatus]
    MESSAGE_STATUS_COMPLETE: _ClassVar[MessageStatus]
    MESSAGE_STATUS_STREAMING: _ClassVar[MessageStatus]
    MESSAGE_STATUS_INTERRUPTED: _ClassVar[MessageStatus]
    MESSAGE_STATUS_ERROR: _ClassVar[MessageStatus]
    MESSAGE_STATUS_QUEUED: _ClassVar[MessageStatus]

class RoomAccess(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROOM_ACCESS_UNSPECIFIED: _ClassVar[RoomAccess]
    ROOM_ACCESS_INVITE: _ClassVar[RoomAccess]
    ROOM_ACCESS_OPEN: _ClassVar[RoomAccess]

class RoomRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROOM_ROLE_UNSPECIFIED: _ClassVar[RoomRole]
    ROOM_ROLE_VIEWER: _ClassVar[RoomRole]
    ROOM_ROLE_MEMBER: _ClassVar[RoomRole]
    ROOM_ROLE_OWNER: _ClassVar[RoomRole]
AUTHOR_KIND_UNSPECIFIED: AuthorKind
AUTHOR_KIND_HUMAN: AuthorKind
AUTHOR_KIND_AI: AuthorKind
AUTHOR_KIND_SYSTEM: AuthorKind
MESSAGE_STATUS_UNSPECIFIED: MessageStatus
MESSAGE_STATUS_COMPLETE: MessageStatus
MESSAGE_STATUS_STREAMING: MessageStatus
MESSAGE_STATUS_INTERRUPTED: MessageStatus
MESSAGE_STATUS_ERROR: MessageStatus
MESSAGE_STATUS_QUEUED: MessageStatus
ROOM_ACCESS_UNSPECIFIED: RoomAccess
ROOM_ACCESS_INVITE: RoomAccess
ROOM_ACCESS_OPEN: RoomAccess
ROOM_ROLE_UNSPECIFIED: RoomRole
ROOM_ROLE_VIEWER: RoomRole
ROOM_ROLE_MEMBER: RoomRole
ROOM_ROLE_OWNER: RoomRole

class User(_message.Message):
    __slots__ = ("id", "name")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class Author(_message.Message):
    __slots__ = ("id", "name", "kind", "handle")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    kind: AuthorKind
    handle: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[_Union[AuthorKind, str]] = ..., handle: _Optional[str] = ...) -> None: ...

class Persona(_message.Message):
    __slots__ = ("handle", "name", "model", "system_prompt", "temperature", "max_tokens", "talkativeness", "muted", "voice", "voice_rate")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_PROMPT_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TALKATIVENESS_FIELD_NUMBER: _ClassVar[int]
    MUTED_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    VOICE_RATE_FIELD_NUMBER: _ClassVar[int]
    handle: str
    name: str
    model: str
    system_prompt: str
    temperature: float
    max_tokens: int
    talkativeness: float
    muted: bool
    voice: str
    voice_rate: float
    def __init__(self, handle: _Optional[str] = ..., name: _Optional[str] = ..., model: _Optional[str] = ..., system_prompt: _Optional[str] = ..., temperature: _Optional[float] = ..., max_tokens: _Optional[int] = ..., talkativeness: _Optional[float] = ..., muted: _Optional[bool] = ..., voice: _Optional[str] = ..., voice_rate: _Optional[float] = ...) -> None: ...

class PersonaList(_message.Message):
    __slots__ = ("personas",)
    PERSONAS_FIELD_NUMBER: _ClassVar[int]
    personas: _containers.RepeatedCompositeFieldContainer[Persona]
    def __init__(self, personas: _Optional[_Iterable[_Union[Persona, _Mapping]]] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("prompt_tokens", "completion_tokens")
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    prompt_tokens: int
    completion_tokens: int
    def __init__(self, prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ...) -> None: ...

class Timing(_message.Message):
    __slots__ = ("time_to_first_token_ms", "total_ms")
    TIME_TO_FIRST_TOKEN_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MS_FIELD_NUMBER: _ClassVar[int]
    time_to_first_token_ms: int
    total_ms: int
    def __init__(self, time_to_first_token_ms: _Optional[int] = ..., total_ms: _Optional[int] = ...) -> None: ...

class Room(_message.Message):
    __slots__ = ("id", "name", "created_by", "created_at_ms", "updated_at_ms", "last_seq", "personas", "access", "allow_guests", "role", "autopilot", "summary")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQ_FIELD_NUMBER: _ClassVar[int]
    PERSONAS_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_GUESTS_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    AUTOPILOT_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    created_by: str
    created_at_ms: int
    updated_at_ms: int
    last_seq: int
    personas: _containers.RepeatedCompositeFieldContainer[Persona]
    access: RoomAccess
    allow_guests: bool
    role: RoomRole
    autopilot: Autopilot
    summary: Summary
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., created_by: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., updated_at_ms: _Optional[int] = ..., last_seq: _Optional[int] = ..., personas: _Optional[_Iterable[_Union[Persona, _Mapping]]] = ..., access: _Optional[_Union[RoomAccess, str]] = ..., allow_guests: _Optional[bool] = ..., role: _Optional[_Union[RoomRole, str]] = ..., autopilot: _Optional[_Union[Autopilot, _Mapping]] = ..., summary: _Optional[_Union[Summary, _Mapping]] = ...) -> None: ...

class Autopilot(_message.Message):
    __slots__ = ("enabled", "strategy", "max_turns", "token_budget", "idle_timeout_s", "summary_model", "turns", "tokens_used", "stopped_reason")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    MAX_TURNS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_BUDGET_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_MODEL_FIELD_NUMBER: _ClassVar[int]
    TURNS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_USED_FIELD_NUMBER: _ClassVar[int]
    STOPPED_REASON_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    strategy: str
    max_turns: int
    token_budget: int
    idle_timeout_s: int
    summary_model: str
    turns: int
    tokens_used: int
    stopped_reason: str
    def __init__(self, enabled: _Optional[bool] = ..., strategy: _Optional[str] = ..., max_turns: _Optional[int] = ..., token_budget: _Optional[int] = ..., idle_timeout_s: _Optional[int] = ..., summary_model: _Optional[str] = ..., turns: _Optional[int] = ..., tokens_used: _Optional[int] = ..., stopped_reason: _Optional[str] = ...) -> None: ...

class AutopilotPatch(_message.Message):
    __slots__ = ("enabled", "strategy", "max_turns", "token_budget", "idle_timeout_s", "summary_model")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    MAX_TURNS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_BUDGET_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_MODEL_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    strategy: str
    max_turns: int
    token_budget: int
    idle_timeout_s: int
    summary_model: str
    def __init__(self, enabled: _Optional[bool] = ..., strategy: _Optional[str] = ..., max_turns: _Optional[int] = ..., token_budget: _Optional[int] = ..., idle_timeout_s: _Optional[int] = ..., summary_model: _Optional[str] = ...) -> None: ...

class Summary(_message.Message):
    __slots__ = ("text", "upto_seq", "updated_at_ms")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    UPTO_SEQ_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    text: str
    upto_seq: int
    updated_at_ms: int
    def __init__(self, text: _Optional[str] = ..., upto_seq: _Optional[int] = ..., updated_at_ms: _Optional[int] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("id", "room_id", "seq", "author", "content", "reply_to", "status", "created_at_ms", "client_msg_id", "model", "usage", "timing", "error", "queue_position", "speech")
    ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    TIMING_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    SPEECH_FIELD_NUMBER: _ClassVar[int]
    id: str
    room_id: str
    seq: int
    author: Author
    content: str
    reply_to: str
    status: MessageStatus
    created_at_ms: int
    client_msg_id: str
    model: str
    usage: Usage
    timing: Timing
    error: str
    queue_position: int
    speech: Speech
    def __init__(self, id: _Optional[str] = ..., room_id: _Optional[str] = ..., seq: _Optional[int] = ..., author: _Optional[_Union[Author, _Mapping]] = ..., content: _Optional[str] = ..., reply_to: _Optional[str] = ..., status: _Optional[_Union[MessageStatus, str]] = ..., created_at_ms: _Optional[int] = ..., client_msg_id: _Optional[str] = ..., model: _Optional[str] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., timing: _Optional[_Union[Timing, _Mapping]] = ..., error: _Optional[str] = ..., queue_position: _Optional[int] = ..., speech: _Optional[_Union[Speech, _Mapping]] = ...) -> None: ...

class Speech(_message.Message):
    __slots__ = ("voice", "sentences", "final", "error", "sample_rate")
    VOICE_FIELD_NUMBER: _ClassVar[int]
    SENTENCES_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    voice: str
    sentences: int
    final: bool
    error: str
    sample_rate: int
    def __init__(self, voice: _Optional[str] = ..., sentences: _Optional[int] = ..., final: _Optional[bool] = ..., error: _Optional[str] = ..., sample_rate: _Optional[int] = ...) -> None: ...

class SpeechEvent(_message.Message):
    __slots__ = ("message_id", "index", "text", "sample_rate", "pcm", "final", "error")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    PCM_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    index: int
    text: str
    sample_rate: int
    pcm: bytes
    final: bool
    error: str
    def __init__(self, message_id: _Optional[str] = ..., index: _Optional[int] = ..., text: _Optional[str] = ..., sample_rate: _Optional[int] = ..., pcm: _Optional[bytes] = ..., final: _Optional[bool] = ..., error: _Optional[str] = ...) -> None: ...

class GetSpeechRequest(_message.Message):
    __slots__ = ("room_id", "message_id", "actor")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    message_id: str
    actor: User
    def __init__(self, room_id: _Optional[str] = ..., message_id: _Optional[str] = ..., actor: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class GetSpeechResponse(_message.Message):
    __slots__ = ("speech", "sentences")
    SPEECH_FIELD_NUMBER: _ClassVar[int]
    SENTENCES_FIELD_NUMBER: _ClassVar[int]
    speech: Speech
    sentences: _containers.RepeatedCompositeFieldContainer[SpeechEvent]
    def __init__(self, speech: _Optional[_Union[Speech, _Mapping]] = ..., sentences: _Optional[_Iterable[_Union[SpeechEvent, _Mapping]]] = ...) -> None: ...

class CreateRoomRequest(_message.Message):
    __slots__ = ("actor", "name", "personas", "access", "allow_guests")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PERSONAS_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_GUESTS_FIELD_NUMBER: _ClassVar[int]
    actor: User
    name: str
    personas: _containers.RepeatedCompositeFieldContainer[Persona]
    access: RoomAccess
    allow_guests: bool
    def __init__(self, actor: _Optional[_Union[User, _Mapping]] = ..., name: _Optional[str] = ..., personas: _Optional[_Iterable[_Union[Persona, _Mapping]]] = ..., access: _Optional[_Union[RoomAccess, str]] = ..., allow_guests: _Optional[bool] = ...) -> None: ...

class GetRoomRequest(_message.Message):
    __slots__ = ("room_id", "actor")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    actor: User
    def __init__(self, room_id: _Optional[str] = ..., actor: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class ListRoomsRequest(_message.Message):
    __slots__ = ("limit", "actor", "all_rooms")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ALL_ROOMS_FIELD_NUMBER: _ClassVar[int]
    limit: int
    actor: User
    all_rooms: bool
    def __init__(self, limit: _Optional[int] = ..., actor: _Optional[_Union[User, _Mapping]] = ..., all_rooms: _Optional[bool] = ...) -> None: ...

class ListRoomsResponse(_message.Message):
    __slots__ = ("rooms",)
    ROOMS_FIELD_NUMBER: _ClassVar[int]
    rooms: _containers.RepeatedCompositeFieldContainer[Room]
    def __init__(self, rooms: _Optional[_Iterable[_Union[Room, _Mapping]]] = ...) -> None: ...

class UpdateRoomRequest(_message.Message):
    __slots__ = ("actor", "room_id", "name", "personas", "access", "allow_guests", "autopilot")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PERSONAS_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_GUESTS_FIELD_NUMBER: _ClassVar[int]
    AUTOPILOT_FIELD_NUMBER: _ClassVar[int]
    actor: User
    room_id: str
    name: str
    personas: PersonaList
    access: RoomAccess
    allow_guests: bool
    autopilot: AutopilotPatch
    def __init__(self, actor: _Optional[_Union[User, _Mapping]] = ..., room_id: _Optional[str] = ..., name: _Optional[str] = ..., personas: _Optional[_Union[PersonaList, _Mapping]] = ..., access: _Optional[_Union[RoomAccess, str]] = ..., allow_guests: _Optional[bool] = ..., autopilot: _Optional[_Union[AutopilotPatch, _Mapping]] = ...) -> None: ...

class SummaryPostRequest(_message.Message):
    __slots__ = ("actor", "room_id")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    actor: User
    room_id: str
    def __init__(self, actor: _Optional[_Union[User, _Mapping]] = ..., room_id: _Optional[str] = ...) -> None: ...

class LoadHistoryRequest(_message.Message):
    __slots__ = ("room_id", "before_seq", "after_seq", "limit", "actor")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    BEFORE_SEQ_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    before_seq: int
    after_seq: int
    limit: int
    actor: User
    def __init__(self, room_id: _Optional[str] = ..., before_seq: _Optional[int] = ..., after_seq: _Optional[int] = ..., limit: _Optional[int] = ..., actor: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class LoadHistoryResponse(_message.Message):
    __slots__ = ("messages", "has_more")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    has_more: bool
    def __init__(self, messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., has_more: _Optional[bool] = ...) -> None: ...

class PostMessageRequest(_message.Message):
    __slots__ = ("room_id", "author", "content", "client_msg_id", "reply_to")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    author: User
    content: str
    client_msg_id: str
    reply_to: str
    def __init__(self, room_id: _Optional[str] = ..., author: _Optional[_Union[User, _Mapping]] = ..., content: _Optional[str] = ..., client_msg_id: _Optional[str] = ..., reply_to: _Optional[str] = ...) -> None: ...

class InterruptMessageRequest(_message.Message):
    __slots__ = ("actor", "room_id", "message_id")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    actor: User
    room_id: str
    message_id: str
    def __init__(self, actor: _Optional[_Union[User, _Mapping]] = ..., room_id: _Optional[str] = ..., message_id: _Optional[str] = ...) -> None: ...

class RoomMember(_message.Message):
    __slots__ = ("user", "role", "joined_at_ms", "guest")
    USER_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    JOINED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    GUEST_FIELD_NUMBER: _ClassVar[int]
    user: User
    role: RoomRole
    joined_at_ms: int
    guest: bool
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ..., role: _Optional[_Union[RoomRole, str]] = ..., joined_at_ms: _Optional[int] = ..., guest: _Optional[bool] = ...) -> None: ...

class ListMembersRequest(_message.Message):
    __slots__ = ("actor", "room_id")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    actor: User
    room_id: str
    def __init__(self, actor: _Optional[_Union[User, _Mapping]] = ..., room_id: _Optional[str] = ...) -> None: ...

class ListMembersResponse(_message.Message):
    __slots__ = ("members",)
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[RoomMember]
    def __init__(self, members: _Optional[_Iterable[_Union[RoomMember, _Mapping]]] = ...) -> None: ...

class UpdateMemberRequest(_message.Message):
    __slots__ = ("actor", "room_id", "user_id", "role")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    actor: User
    room_id: str
    user_id: str
    role: RoomRole
    def __init__(self, actor: _Optional[_Union[User, _Mapping]] = ..., room_id: _Optional[str] = ..., user_id: _Optional[str] = ..., role: _Optional[_Union[RoomRole, str]] = ...) -> None: ...

class RemoveMemberRequest(_message.Message):
    __slots__ = ("actor", "room_id", "user_id")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    actor: User
    room_id: str
    user_id: str
    def __init__(self, actor: _Optional[_Union[User, _Mapping]] = ..., room_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class RemoveMemberResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Invite(_message.Message):
    __slots__ = ("id", "room_id", "created_by", "role", "max_uses", "uses", "created_at_ms", "expires_at_ms", "revoked")
    ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    MAX_USES_FIELD_NUMBER: _ClassVar[int]
    USES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    id: str
    room_id: str
    created_by: str
    role: RoomRole
    max_uses: int
    uses: int
    created_at_ms: int
    expires_at_ms: int
    revoked: bool
    def __init__(self, id: _Optional[str] = ..., room_id: _Optional[str] = ..., created_by: _Optional[str] = ..., role: _Optional[_Union[RoomRole, str]] = ..., max_uses: _Optional[int] = ..., uses: _Optional[int] = ..., created_at_ms: _Optional[int] = ..., expires_at_ms: _Optional[int] = ..., revoked: _Optional[bool] = ...) -> None: ...

class CreateInviteRequest(_message.Message):
    __slots__ = ("actor", "room_id", "max_uses", "expires_in_hours", "role")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_USES_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_HOURS_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    actor: User
    room_id: str
    max_uses: int
    expires_in_hours: int
    role: RoomRole
    def __init__(self, actor: _Optional[_Union[User, _Mapping]] = ..., room_id: _Optional[str] = ..., max_uses: _Optional[int] = ..., expires_in_hours: _Optional[int] = ..., role: _Optional[_Union[RoomRole, str]] = ...) -> None: ...

class CreateInviteResponse(_message.Message):
    __slots__ = ("invite", "token")
    INVITE_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    invite: Invite
    token: str
    def __init__(self, invite: _Optional[_Union[Invite, _Mapping]] = ..., token: _Optional[str] = ...) -> None: ...

class ListInvitesRequest(_message.Message):
    __slots__ = ("actor", "room_id")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    actor: User
    room_id: str
    def __init__(self, actor: _Optional[_Union[User, _Mapping]] = ..., room_id: _Optional[str] = ...) -> None: ...

class ListInvitesResponse(_message.Message):
    __slots__ = ("invites",)
    INVITES_FIELD_NUMBER: _ClassVar[int]
    invites: _containers.RepeatedCompositeFieldContainer[Invite]
    def __init__(self, invites: _Optional[_Iterable[_Union[Invite, _Mapping]]] = ...) -> None: ...

class RevokeInviteRequest(_message.Message):
    __slots__ = ("actor", "room_id", "invite_id")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    INVITE_ID_FIELD_NUMBER: _ClassVar[int]
    actor: User
    room_id: str
    invite_id: str
    def __init__(self, actor: _Optional[_Union[User, _Mapping]] = ..., room_id: _Optional[str] = ..., invite_id: _Optional[str] = ...) -> None: ...

class RevokeInviteResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AcceptInviteRequest(_message.Message):
    __slots__ = ("actor", "token")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    actor: User
    token: str
    def __init__(self, actor: _Optional[_Union[User, _Mapping]] = ..., token: _Optional[str] = ...) -> None: ...

class PostMessageResponse(_message.Message):
    __slots__ = ("message", "duplicate")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    message: Message
    duplicate: bool
    def __init__(self, message: _Optional[_Union[Message, _Mapping]] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class SessionOpen(_message.Message):
    __slots__ = ("room_id", "gateway_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    gateway_id: str
    def __init__(self, room_id: _Optional[str] = ..., gateway_id: _Optional[str] = ...) -> None: ...

class MemberJoin(_message.Message):
    __slots__ = ("conn_id", "user")
    CONN_ID_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    conn_id: str
    user: User
    def __init__(self, conn_id: _Optional[str] = ..., user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class MemberLeave(_message.Message):
    __slots__ = ("conn_id",)
    CONN_ID_FIELD_NUMBER: _ClassVar[int]
    conn_id: str
    def __init__(self, conn_id: _Optional[str] = ...) -> None: ...

class SendMessage(_message.Message):
    __slots__ = ("conn_id", "author", "content", "client_msg_id", "reply_to")
    CONN_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    conn_id: str
    author: User
    content: str
    client_msg_id: str
    reply_to: str
    def __init__(self, conn_id: _Optional[str] = ..., author: _Optional[_Union[User, _Mapping]] = ..., content: _Optional[str] = ..., client_msg_id: _Optional[str] = ..., reply_to: _Optional[str] = ...) -> None: ...

class InterruptReply(_message.Message):
    __slots__ = ("conn_id", "message_id")
    CONN_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    conn_id: str
    message_id: str
    def __init__(self, conn_id: _Optional[str] = ..., message_id: _Optional[str] = ...) -> None: ...

class SetTyping(_message.Message):
    __slots__ = ("conn_id", "active")
    CONN_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    conn_id: str
    active: bool
    def __init__(self, conn_id: _Optional[str] = ..., active: _Optional[bool] = ...) -> None: ...

class AutopilotRequest(_message.Message):
    __slots__ = ("conn_id", "patch")
    CONN_ID_FIELD_NUMBER: _ClassVar[int]
    PATCH_FIELD_NUMBER: _ClassVar[int]
    conn_id: str
    patch: AutopilotPatch
    def __init__(self, conn_id: _Optional[str] = ..., patch: _Optional[_Union[AutopilotPatch, _Mapping]] = ...) -> None: ...

class SessionRequest(_message.Message):
    __slots__ = ("open", "join", "leave", "send", "typing", "interrupt", "autopilot")
    OPEN_FIELD_NUMBER: _ClassVar[int]
    JOIN_FIELD_NUMBER: _ClassVar[int]
    LEAVE_FIELD_NUMBER: _ClassVar[int]
    SEND_FIELD_NUMBER: _ClassVar[int]
    TYPING_FIELD_NUMBER: _ClassVar[int]
    INTERRUPT_FIELD_NUMBER: _ClassVar[int]
    AUTOPILOT_FIELD_NUMBER: _ClassVar[int]
    open: SessionOpen
    join: MemberJoin
    leave: MemberLeave
    send: SendMessage
    typing: SetTyping
    interrupt: InterruptReply
    autopilot: AutopilotRequest
    def __init__(self, open: _Optional[_Union[SessionOpen, _Mapping]] = ..., join: _Optional[_Union[MemberJoin, _Mapping]] = ..., leave: _Optional[_Union[MemberLeave, _Mapping]] = ..., send: _Optional[_Union[SendMessage, _Mapping]] = ..., typing: _Optional[_Union[SetTyping, _Mapping]] = ..., interrupt: _Optional[_Union[InterruptReply, _Mapping]] = ..., autopilot: _Optional[_Union[AutopilotRequest, _Mapping]] = ...) -> None: ...

class SessionOpened(_message.Message):
    __slots__ = ("room", "participants", "streaming", "speaking")
    ROOM_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    STREAMING_FIELD_NUMBER: _ClassVar[int]
    SPEAKING_FIELD_NUMBER: _ClassVar[int]
    room: Room
    participants: _containers.RepeatedCompositeFieldContainer[User]
    streaming: _containers.RepeatedCompositeFieldContainer[Message]
    speaking: _containers.RepeatedCompositeFieldContainer[SpeechEvent]
    def __init__(self, room: _Optional[_Union[Room, _Mapping]] = ..., participants: _Optional[_Iterable[_Union[User, _Mapping]]] = ..., streaming: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., speaking: _Optional[_Iterable[_Union[SpeechEvent, _Mapping]]] = ...) -> None: ...

class MessageDelta(_message.Message):
    __slots__ = ("message_id", "text")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    text: str
    def __init__(self, message_id: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class RequestError(_message.Message):
    __slots__ = ("conn_id", "code", "message")
    CONN_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    conn_id: str
    code: str
    message: str
    def __init__(self, conn_id: _Optional[str] = ..., code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class SendResult(_message.Message):
    __slots__ = ("conn_id", "client_msg_id", "message", "duplicate", "error_code", "error_message")
    CONN_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    conn_id: str
    client_msg_id: str
    message: Message
    duplicate: bool
    error_code: str
    error_message: str
    def __init__(self, conn_id: _Optional[str] = ..., client_msg_id: _Optional[str] = ..., message: _Optional[_Union[Message, _Mapping]] = ..., duplicate: _Optional[bool] = ..., error_code: _Optional[str] = ..., error_message: _Optional[str] = ...) -> None: ...

class PresenceEvent(_message.Message):
    __slots__ = ("user", "online")
    USER_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    user: User
    online: bool
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ..., online: _Optional[bool] = ...) -> None: ...

class TypingEvent(_message.Message):
    __slots__ = ("user", "active")
    USER_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    user: User
    active: bool
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ..., active: _Optional[bool] = ...) -> None: ...

class RoomUpdated(_message.Message):
    __slots__ = ("room",)
    ROOM_FIELD_NUMBER: _ClassVar[int]
    room: Room
    def __init__(self, room: _Optional[_Union[Room, _Mapping]] = ...) -> None: ...

class MemberRemoved(_message.Message):
    __slots__ = ("user_id", "reason")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    reason: str
    def __init__(self, user_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class MemberUpdated(_message.Message):
    __slots__ = ("member",)
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    member: RoomMember
    def __init__(self, member: _Optional[_Union[RoomMember, _Mapping]] = ...) -> None: ...

class AutopilotStatus(_message.Message):
    __slots__ = ("state", "handle", "reason")
    STATE_FIELD_NUMBER: _ClassVar[int]
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    state: str
    handle: str
    reason: str
    def __init__(self, state: _Optional[str] = ..., handle: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class SessionEvent(_message.Message):
    __slots__ = ("opened", "message", "send_result", "presence", "typing", "room_updated", "delta", "error", "member_removed", "member_updated", "autopilot_status", "joined", "speech")
    OPENED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SEND_RESULT_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_FIELD_NUMBER: _ClassVar[int]
    TYPING_FIELD_NUMBER: _ClassVar[int]
    ROOM_UPDATED_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    MEMBER_REMOVED_FIELD_NUMBER: _ClassVar[int]
    MEMBER_UPDATED_FIELD_NUMBER: _ClassVar[int]
    AUTOPILOT_STATUS_FIELD_NUMBER: _ClassVar[int]
    JOINED_FIELD_NUMBER: _ClassVar[int]
    SPEECH_FIELD_NUMBER: _ClassVar[int]
    opened: SessionOpened
    message: Message
    send_result: SendResult
    presence: PresenceEvent
    typing: TypingEvent
    room_updated: RoomUpdated
    delta: MessageDelta
    error: RequestError
    member_removed: MemberRemoved
    member_updated: MemberUpdated
    autopilot_status: AutopilotStatus
    joined: MemberJoined
    speech: SpeechEvent
    def __init__(self, opened: _Optional[_Union[SessionOpened, _Mapping]] = ..., message: _Optional[_Union[Message, _Mapping]] = ..., send_result: _Optional[_Union[SendResult, _Mapping]] = ..., presence: _Optional[_Union[PresenceEvent, _Mapping]] = ..., typing: _Optional[_Union[TypingEvent, _Mapping]] = ..., room_updated: _Optional[_Union[RoomUpdated, _Mapping]] = ..., delta: _Optional[_Union[MessageDelta, _Mapping]] = ..., error: _Optional[_Union[RequestError, _Mapping]] = ..., member_removed: _Optional[_Union[MemberRemoved, _Mapping]] = ..., member_updated: _Optional[_Union[MemberUpdated, _Mapping]] = ..., autopilot_status: _Optional[_Union[AutopilotStatus, _Mapping]] = ..., joined: _Optional[_Union[MemberJoined, _Mapping]] = ..., speech: _Optional[_Union[SpeechEvent, _Mapping]] = ...) -> None: ...

class MemberJoined(_message.Message):
    __slots__ = ("conn_id", "role")
    CONN_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    conn_id: str
    role: RoomRole
    def __init__(self, conn_id: _Optional[str] = ..., role: _Optional[_Union[RoomRole, str]] = ...) -> None: ...
