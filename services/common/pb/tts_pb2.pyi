from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AudioFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIO_FORMAT_UNSPECIFIED: _ClassVar[AudioFormat]
    AUDIO_FORMAT_PCM_S16LE: _ClassVar[AudioFormat]
AUDIO_FORMAT_UNSPECIFIED: AudioFormat
AUDIO_FORMAT_PCM_S16LE: AudioFormat

class SynthesizeRequest(_message.Message):
    __slots__ = ("request_id", "voice_id", "text", "rate", "max_chunk_ms")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VOICE_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    MAX_CHUNK_MS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    voice_id: str
    text: str
    rate: float
    max_chunk_ms: int
    def __init__(self, request_id: _Optional[str] = ..., voice_id: _Optional[str] = ..., text: _Optional[str] = ..., rate: _Optional[float] = ..., max_chunk_ms: _Optional[int] = ...) -> None: ...

class AudioChunk(_message.Message):
    __slots__ = ("sentence_index", "audio", "format", "sample_rate", "sentence_end", "text")
    SENTENCE_INDEX_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    SENTENCE_END_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    sentence_index: int
    audio: bytes
    format: AudioFormat
    sample_rate: int
    sentence_end: bool
    text: str
    def __init__(self, sentence_index: _Optional[int] = ..., audio: _Optional[bytes] = ..., format: _Optional[_Union[AudioFormat, str]] = ..., sample_rate: _Optional[int] = ..., sentence_end: _Optional[bool] = ..., text: _Optional[str] = ...) -> None: ...

class SynthesizeFinal(_message.Message):
    __slots__ = ("sentences", "audio_ms", "first_audio_ms", "total_ms")
    SENTENCES_FIELD_NUMBER: _ClassVar[int]
    AUDIO_MS_FIELD_NUMBER: _ClassVar[int]
    FIRST_AUDIO_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MS_FIELD_NUMBER: _ClassVar[int]
    sentences: int
    audio_ms: int
    first_audio_ms: int
    total_ms: int
    def __init__(self, sentences: _Optional[int] = ..., audio_ms: _Optional[int] = ..., first_audio_ms: _Optional[int] = ..., total_ms: _Optional[int] = ...) -> None: ...

class SynthesizeChunk(_message.Message):
    __slots__ = ("audio", "final")
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    audio: AudioChunk
    final: SynthesizeFinal
    def __init__(self, audio: _Optional[_Union[AudioChunk, _Mapping]] = ..., final: _Optional[_Union[SynthesizeFinal, _Mapping]] = ...) -> None: ...

class VoiceInfo(_message.Message):
    __slots__ = ("id", "backend", "name", "language", "speakers", "sample_rate", "available", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SPEAKERS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    backend: str
    name: str
    language: str
    speakers: _containers.RepeatedScalarFieldContainer[str]
    sample_rate: int
    available: bool
    reason: str
    def __init__(self, id: _Optional[str] = ..., backend: _Optional[str] = ..., name: _Optional[str] = ..., language: _Optional[str] = ..., speakers: _Optional[_Iterable[str]] = ..., sample_rate: _Optional[int] = ..., available: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class ListVoicesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListVoicesResponse(_message.Message):
    __slots__ = ("voices",)
    VOICES_FIELD_NUMBER: _ClassVar[int]
    voices: _containers.RepeatedCompositeFieldContainer[VoiceInfo]
    def __init__(self, voices: _Optional[_Iterable[_Union[VoiceInfo, _Mapping]]] = ...) -> None: ...
