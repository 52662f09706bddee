"""The ImageService gRPC servicer: requests checked and queued, job events streamed, typed
errors (the backends', the queue's) mapped to gRPC status here and nowhere else."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import secrets
from collections.abc import AsyncIterator

import grpc

from services.common.errors import (
    ChimeraError,
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    ResourceExhausted,
    Unavailable,
)
from services.common.grpc_errors import streaming, unary
from services.common.ids import new_id
from services.common.pb import image_pb2 as pb
from services.common.pb import image_pb2_grpc
from services.image_node.backends.base import (
    MAX_BATCH,
    MAX_GUIDANCE,
    MAX_SEED,
    MAX_SIZE,
    MAX_STEPS,
    MIN_SIZE,
    BackendError,
    ImageBackend,
    ImageRequest,
    InvalidRequest,
    Picture,
    resolve_defaults,
)
from services.image_node.queue import (
    DuplicateJob,
    Event,
    Final,
    JobQueue,
    JobStatus,
    Loading,
    Progress,
    QueueClosed,
    Queued,
    QueueFull,
)
from services.image_node.registry import ImageModelRegistry

logger = logging.getLogger(__name__)

JOB_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
MAX_PROMPT_CHARS = 4_000
DEFAULT_STRENGTH = 0.8
RANDOM_SEEDS = 2**32  # a random first seed is below this: short enough to read out and retype

STATUS = {
    JobStatus.QUEUED: pb.JOB_STATUS_QUEUED,
    JobStatus.LOADING: pb.JOB_STATUS_LOADING,
    JobStatus.RUNNING: pb.JOB_STATUS_RUNNING,
    JobStatus.COMPLETED: pb.JOB_STATUS_COMPLETED,
    JobStatus.FAILED: pb.JOB_STATUS_FAILED,
    JobStatus.CANCELLED: pb.JOB_STATUS_CANCELLED,
}


def mapped(exc: BackendError) -> ChimeraError:
    """A backend's typed error as the status it ends a call with."""
    if isinstance(exc, InvalidRequest):
        return InvalidArgument(exc.message)
    return (Unavailable if exc.retryable else FailedPrecondition)(exc.message)


def resolve_request(request: pb.GenerateImageRequest, backend: ImageBackend) -> ImageRequest:
    """The request with defaults filled in; InvalidArgument for anything out of bounds."""
    job_id = request.job_id or new_id()
    if not JOB_ID.match(job_id):
        raise InvalidArgument("job_id is 1 to 128 of the characters A-Z a-z 0-9 . _ : -")
    if not request.prompt.strip():
        raise InvalidArgument("Give a prompt.")
    if max(len(request.prompt), len(request.negative_prompt)) > MAX_PROMPT_CHARS:
        raise InvalidArgument("prompt and negative_prompt are at most 4,000 characters each.")
    defaults = backend.defaults or resolve_defaults("fake", {})
    assert defaults is not None
    width, height = request.width or defaults.width, request.height or defaults.height
    multiple = backend.size_multiple
    for name, value in (("width", width), ("height", height)):
        if not MIN_SIZE <= value <= MAX_SIZE or value % multiple:
            raise InvalidArgument(
                f"{name} is a multiple of {multiple} from {MIN_SIZE} to {MAX_SIZE} (got {value})."
            )
    steps = request.steps or defaults.steps
    if not 1 <= steps <= MAX_STEPS:
        raise InvalidArgument(f"steps is from 1 to {MAX_STEPS}.")
    n = request.n or 1
    if not 1 <= n <= MAX_BATCH:
        raise InvalidArgument(f"n is from 1 to {MAX_BATCH}.")
    guidance = request.guidance if request.HasField("guidance") else defaults.guidance
    if not 0 <= guidance <= MAX_GUIDANCE:  # NaN fails this too
        raise InvalidArgument(f"guidance is from 0 to {MAX_GUIDANCE:g}.")
    if request.HasField("seed"):
        first = request.seed
        if not 0 <= first <= MAX_SEED - (n - 1):
            raise InvalidArgument(f"seed is from 0 to 2^53 - {n} for {n} image(s).")
    else:
        first = secrets.randbelow(RANDOM_SEEDS)
    strength = DEFAULT_STRENGTH
    if request.init_image:
        strength = request.strength if request.HasField("strength") else DEFAULT_STRENGTH
        if not 0 < strength <= 1:
            raise InvalidArgument("strength is above 0 and at most 1.")
        if int(steps * strength) < 1:
            raise InvalidArgument("steps x strength comes to no step at all; raise either.")
    elif request.HasField("strength"):
        raise InvalidArgument("strength goes with an init_image.")
    if request.preview_every < 0:
        raise InvalidArgument("preview_every is 0 (no previews) or more.")
    try:
        backend.check_scheduler(request.scheduler)
    except InvalidRequest as exc:
        raise InvalidArgument(exc.message) from None
    return ImageRequest(
        job_id=job_id,
        prompt=request.prompt,
        negative_prompt=request.negative_prompt,
        width=width,
        height=height,
        steps=steps,
        guidance=guidance,
        seeds=tuple(first + k for k in range(n)),
        scheduler=request.scheduler,
        strength=strength,
        preview_every=request.preview_every,
    )


def to_event(job_id: str, event: Event) -> pb.GenerateEvent:
    """A queue event as the wire's."""
    match event:
        case Queued(position=position):
            return pb.GenerateEvent(job_id=job_id, queued=pb.JobQueued(position=position))
        case Loading():
            return pb.GenerateEvent(job_id=job_id, loading=pb.JobLoading())
        case Progress(step=step, steps=steps, preview_png=preview):
            return pb.GenerateEvent(
                job_id=job_id, progress=pb.JobProgress(step=step, steps=steps, preview_png=preview)
            )
        case Picture():
            return pb.GenerateEvent(
                job_id=job_id,
                image=pb.GeneratedImage(
                    index=event.index,
                    seed=event.seed,
                    width=event.width,
                    height=event.height,
                    png=event.png,
                ),
            )
        case Final():
            return pb.GenerateEvent(
                job_id=job_id,
                final=pb.JobFinal(
                    status=STATUS[event.status],
                    images=event.images,
                    queued_ms=event.queued_ms,
                    load_ms=event.load_ms,
                    run_ms=event.run_ms,
                    total_ms=event.total_ms,
                ),
            )
    raise AssertionError(f"unknown event {event!r}")


class ImageServicer(image_pb2_grpc.ImageServiceServicer):
    """Serves images from the model registry through the job queue."""

    def __init__(self, registry: ImageModelRegistry, queue: JobQueue) -> None:
        self.registry = registry
        self.queue = queue

    def _backend(self, model_id: str) -> ImageBackend:
        backend = self.registry.usable(model_id, "image model").backend
        assert backend is not None  # usable() checked it
        return backend

    @streaming
    async def Generate(
        self, request: pb.GenerateImageRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.GenerateEvent]:
        backend = self._backend(request.model_id)
        params = resolve_request(request, backend)
        if request.init_image:
            from services.image_node.imaging import decode_init_image

            try:  # in a thread: a large PNG takes a while to decode and scale
                init = await asyncio.to_thread(
                    decode_init_image, request.init_image, params.width, params.height
                )
            except InvalidRequest as exc:
                raise InvalidArgument(exc.message) from None
            params = dataclasses.replace(params, init_image=init)
        try:
            job = self.queue.submit(request.model_id, backend, params)
        except QueueFull as exc:
            raise ResourceExhausted(exc.message) from None
        except DuplicateJob as exc:
            raise Conflict(exc.message) from None
        except QueueClosed:
            raise Unavailable("The image node is stopping.") from None
        try:
            async for event in job.events():
                if isinstance(event, Final) and event.status is JobStatus.FAILED:
                    if event.error is None:
                        raise ChimeraError("The image model failed while generating.")
                    raise mapped(event.error)
                yield to_event(job.id, event)
        finally:
            if job.final is None:  # the caller went away: nobody wants the images
                self.queue.cancel(job.id)

    @unary
    async def ListModels(
        self, request: pb.ListImageModelsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListImageModelsResponse:
        models = []
        for model in self.registry.models.values():
            spec, backend = model.spec, model.backend
            if backend is not None:
                pipeline, defaults = backend.pipeline, backend.defaults
            else:  # what the entry says, so a UI can show an unavailable model fully
                pipeline = spec.pipeline or ("fake" if spec.backend == "fake" else "")
                defaults = resolve_defaults(pipeline, spec.defaults)
            info = pb.ImageModelInfo(
                id=spec.id,
                backend=spec.backend,
                pipeline=pipeline,
                name=spec.name or spec.id,
                available=model.available,
                reason=model.reason,
                loaded=backend.loaded if backend is not None else False,
                schedulers=list(backend.schedulers) if backend is not None else [],
                size_multiple=(
                    backend.size_multiple if backend else 16 if pipeline == "flux" else 8
                ),
            )
            if defaults is not None:
                info.defaults.CopyFrom(
                    pb.ImageDefaults(
                        width=defaults.width,
                        height=defaults.height,
                        steps=defaults.steps,
                        guidance=defaults.guidance,
                    )
                )
            models.append(info)
        return pb.ListImageModelsResponse(models=models)

    @unary
    async def Cancel(
        self, request: pb.CancelRequest, context: grpc.aio.ServicerContext
    ) -> pb.CancelResponse:
        was = self.queue.cancel(request.job_id)
        if was is None:
            return pb.CancelResponse(found=False)
        return pb.CancelResponse(found=True, status=STATUS[was])
