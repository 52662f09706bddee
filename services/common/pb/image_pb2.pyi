from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATUS_UNSPECIFIED: _ClassVar[JobStatus]
    JOB_STATUS_QUEUED: _ClassVar[JobStatus]
    JOB_STATUS_LOADING: _ClassVar[JobStatus]
    JOB_STATUS_RUNNING: _ClassVar[JobStatus]
    JOB_STATUS_COMPLETED: _ClassVar[JobStatus]
    JOB_STATUS_FAILED: _ClassVar[JobStatus]
    JOB_STATUS_CANCELLED: _ClassVar[JobStatus]
JOB_STATUS_UNSPECIFIED: JobStatus
JOB_STATUS_QUEUED: JobStatus
JOB_STATUS_LOADING: JobStatus
JOB_STATUS_RUNNING: JobStatus
JOB_STATUS_COMPLETED: JobStatus
JOB_STATUS_FAILED: JobStatus
JOB_STATUS_CANCELLED: JobStatus

class GenerateImageRequest(_message.Message):
    __slots__ = ("job_id", "model_id", "prompt", "negative_prompt", "width", "height", "steps", "guidance", "seed", "n", "scheduler", "init_image", "strength", "preview_every")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_PROMPT_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    GUIDANCE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    SCHEDULER_FIELD_NUMBER: _ClassVar[int]
    INIT_IMAGE_FIELD_NUMBER: _ClassVar[int]
    STRENGTH_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_EVERY_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    model_id: str
    prompt: str
    negative_prompt: str
    width: int
    height: int
    steps: int
    guidance: float
    seed: int
    n: int
    scheduler: str
    init_image: bytes
    strength: float
    preview_every: int
    def __init__(self, job_id: _Optional[str] = ..., model_id: _Optional[str] = ..., prompt: _Optional[str] = ..., negative_prompt: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., steps: _Optional[int] = ..., guidance: _Optional[float] = ..., seed: _Optional[int] = ..., n: _Optional[int] = ..., scheduler: _Optional[str] = ..., init_image: _Optional[bytes] = ..., strength: _Optional[float] = ..., preview_every: _Optional[int] = ...) -> None: ...

class JobQueued(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: int
    def __init__(self, position: _Optional[int] = ...) -> None: ...

class JobLoading(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class JobProgress(_message.Message):
    __slots__ = ("step", "steps", "preview_png")
    STEP_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_PNG_FIELD_NUMBER: _ClassVar[int]
    step: int
    steps: int
    preview_png: bytes
    def __init__(self, step: _Optional[int] = ..., steps: _Optional[int] = ..., preview_png: _Optional[bytes] = ...) -> None: ...

class GeneratedImage(_message.Message):
    __slots__ = ("index", "seed", "width", "height", "png")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    PNG_FIELD_NUMBER: _ClassVar[int]
    index: int
    seed: int
    width: int
    height: int
    png: bytes
    def __init__(self, index: _Optional[int] = ..., seed: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., png: _Optional[bytes] = ...) -> None: ...

class JobFinal(_message.Message):
    __slots__ = ("status", "images", "queued_ms", "load_ms", "run_ms", "total_ms")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    QUEUED_MS_FIELD_NUMBER: _ClassVar[int]
    LOAD_MS_FIELD_NUMBER: _ClassVar[int]
    RUN_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MS_FIELD_NUMBER: _ClassVar[int]
    status: JobStatus
    images: int
    queued_ms: int
    load_ms: int
    run_ms: int
    total_ms: int
    def __init__(self, status: _Optional[_Union[JobStatus, str]] = ..., images: _Optional[int] = ..., queued_ms: _Optional[int] = ..., load_ms: _Optional[int] = ..., run_ms: _Optional[int] = ..., total_ms: _Optional[int] = ...) -> None: ...

class GenerateEvent(_message.Message):
    __slots__ = ("job_id", "queued", "loading", "progress", "image", "final")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    LOADING_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    queued: JobQueued
    loading: JobLoading
    progress: JobProgress
    image: GeneratedImage
    final: JobFinal
    def __init__(self, job_id: _Optional[str] = ..., queued: _Optional[_Union[JobQueued, _Mapping]] = ..., loading: _Optional[_Union[JobLoading, _Mapping]] = ..., progress: _Optional[_Union[JobProgress, _Mapping]] = ..., image: _Optional[_Union[GeneratedImage, _Mapping]] = ..., final: _Optional[_Union[JobFinal, _Mapping]] = ...) -> None: ...

class ImageDefaults(_message.Message):
    __slots__ = ("width", "height", "steps", "guidance")
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    GUIDANCE_FIELD_NUMBER: _ClassVar[int]
    width: int
    height: int
    steps: int
    guidance: float
    def __init__(self, width: _Optional[int] = ..., height: _Optional[int] = ..., steps: _Optional[int] = ..., guidance: _Optional[float] = ...) -> None: ...

class ImageModelInfo(_message.Message):
    __slots__ = ("id", "backend", "pipeline", "name", "available", "reason", "defaults", "loaded", "schedulers", "size_multiple")
    ID_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DEFAULTS_FIELD_NUMBER: _ClassVar[int]
    LOADED_FIELD_NUMBER: _ClassVar[int]
    SCHEDULERS_FIELD_NUMBER: _ClassVar[int]
    SIZE_MULTIPLE_FIELD_NUMBER: _ClassVar[int]
    id: str
    backend: str
    pipeline: str
    name: str
    available: bool
    reason: str
    defaults: ImageDefaults
    loaded: bool
    schedulers: _containers.RepeatedScalarFieldContainer[str]
    size_multiple: int
    def __init__(self, id: _Optional[str] = ..., backend: _Optional[str] = ..., pipeline: _Optional[str] = ..., name: _Optional[str] = ..., available: _Optional[bool] = ..., reason: _Optional[str] = ..., defaults: _Optional[_Union[ImageDefaults, _Mapping]] = ..., loaded: _Optional[bool] = ..., schedulers: _Optional[_Iterable[str]] = ..., size_multiple: _Optional[int] = ...) -> None: ...

class ListImageModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListImageModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ImageModelInfo]
    def __init__(self, models: _Optional[_Iterable[_Union[ImageModelInfo, _Mapping]]] = ...) -> None: ...

class CancelRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class CancelResponse(_message.Message):
    __slots__ = ("found", "status")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    found: bool
    status: JobStatus
    def __init__(self, found: _Optional[bool] = ..., status: _Optional[_Union[JobStatus, str]] = ...) -> None: ...
