"""The job queue: one line of jobs per model, each run in turn on that model's worker thread.

A job is queued (with its position), loading (only when its model must load first), running,
then completed, failed or cancelled. At most `max_jobs` unfinished jobs across all models;
past that `submit` raises QueueFull. Cancelling a queued job drops it from its line; a job
cancelled while its model loads ends at once (the load goes on: the next job needs it); a
running one stops at its next step, and its final event comes once the worker is free.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from services.image_node.backends.base import (
    BackendError,
    ImageBackend,
    ImageRequest,
    JobCancelled,
    Picture,
)

logger = logging.getLogger(__name__)

DEFAULT_MAX_JOBS = 32


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    LOADING = "loading"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Queued:
    position: int  # jobs ahead on the same model, the running one included


@dataclass(frozen=True)
class Loading:
    pass


@dataclass(frozen=True)
class Progress:
    step: int
    steps: int
    preview_png: bytes = b""


@dataclass(frozen=True)
class Final:
    status: JobStatus  # COMPLETED, FAILED or CANCELLED
    images: int
    queued_ms: int
    load_ms: int
    run_ms: int
    total_ms: int
    # FAILED: what the backend said (None: an unexpected error, already logged).
    error: BackendError | None = None


Event = Queued | Loading | Progress | Picture | Final


class QueueFull(Exception):
    """Too many unfinished jobs to take another."""

    def __init__(self, max_jobs: int) -> None:
        super().__init__(f"The image queue is full ({max_jobs} jobs); try again shortly.")
        self.message = str(self)


class DuplicateJob(Exception):
    """A job with this id has not finished yet."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"Job {job_id!r} is still going; give each job its own id.")
        self.message = str(self)


class QueueClosed(Exception):
    """The node is stopping."""


class Job:
    """One request on its way through the queue, and the hooks its backend reports through."""

    def __init__(self, model_id: str, request: ImageRequest) -> None:
        self.id = request.job_id
        self.model_id = model_id
        self.request = request
        self.status = JobStatus.QUEUED
        self.position = -1
        self.images = 0
        self.final: Final | None = None
        # Set from the event loop, read by the worker thread between steps.
        self.cancelled = threading.Event()
        self._loop = asyncio.get_running_loop()
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._created = time.perf_counter()
        self._started: float | None = None
        self._load_s = 0.0
        self._run_started: float | None = None

    async def events(self) -> AsyncIterator[Event]:
        """What happens to the job, in order, ending with its Final."""
        while True:
            event = await self._events.get()
            yield event
            if isinstance(event, Final):
                return

    def _put(self, event: Event) -> None:
        if self.final is None:
            if isinstance(event, Picture):
                self.images += 1
            self._events.put_nowait(event)

    def _finish(self, status: JobStatus, error: BackendError | None = None) -> bool:
        if self.final is not None:
            return False
        now = time.perf_counter()
        started = self._started or now
        self.status = status
        self.final = Final(
            status,
            self.images,
            queued_ms=_ms(started - self._created),
            load_ms=_ms(self._load_s),
            run_ms=_ms(now - self._run_started) if self._run_started else 0,
            total_ms=_ms(now - self._created),
            error=error,
        )
        self._events.put_nowait(self.final)
        return True

    # The hooks (JobHooks), called on the backend's worker thread.

    def check(self) -> None:
        if self.cancelled.is_set():
            raise JobCancelled

    def wait(self, seconds: float) -> None:
        if self.cancelled.wait(max(0.0, seconds)):
            raise JobCancelled

    def preview_due(self, step: int) -> bool:
        every = self.request.preview_every
        return every > 0 and step % every == 0

    def step(self, step: int, steps: int, preview_png: bytes = b"") -> None:
        self.check()
        self._send(Progress(step, steps, preview_png))

    def image(self, picture: Picture) -> None:
        self.check()
        self._send(picture)

    def _send(self, event: Event) -> None:
        try:
            self._loop.call_soon_threadsafe(self._put, event)
        except RuntimeError:  # the event loop is gone: nobody is listening
            self.cancelled.set()
            raise JobCancelled from None


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


class _Line:
    """One model's jobs: those waiting, the one its worker runs, and the task that runs them."""

    def __init__(self, backend: ImageBackend) -> None:
        self.backend = backend
        self.waiting: deque[Job] = deque()
        self.current: Job | None = None
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None


class JobQueue:
    """Every unfinished job, by id; each model's line runs one job at a time."""

    def __init__(self, max_jobs: int = DEFAULT_MAX_JOBS) -> None:
        self.max_jobs = max_jobs
        self.jobs: dict[str, Job] = {}
        self._lines: dict[str, _Line] = {}
        self._closed = False

    def submit(self, model_id: str, backend: ImageBackend, request: ImageRequest) -> Job:
        """Queue a job; QueueFull past `max_jobs`, DuplicateJob for an id still in use."""
        if self._closed:
            raise QueueClosed
        if request.job_id in self.jobs:
            raise DuplicateJob(request.job_id)
        if len(self.jobs) >= self.max_jobs:
            raise QueueFull(self.max_jobs)
        job = Job(model_id, request)
        self.jobs[job.id] = job
        line = self._lines.get(model_id)
        if line is None or line.backend is not backend:
            line = self._lines[model_id] = _Line(backend)
            line.task = asyncio.create_task(self._run(line), name=f"image-line-{model_id}")
        line.waiting.append(job)
        self._reposition(line)
        line.wake.set()
        return job

    def cancel(self, job_id: str) -> JobStatus | None:
        """Cancel a job; return what it was doing (None: no such unfinished job)."""
        job = self.jobs.get(job_id)
        if job is None or job.final is not None:
            return None
        was = job.status
        job.cancelled.set()
        line = self._lines.get(job.model_id)
        if was is JobStatus.QUEUED and line is not None and job in line.waiting:
            line.waiting.remove(job)
            self._finish(job, JobStatus.CANCELLED)
            self._reposition(line)
        elif was is JobStatus.LOADING:
            self._finish(job, JobStatus.CANCELLED)
        logger.info("image job cancelled", extra={"job_id": job_id, "was": str(was)})
        return was

    def waiting(self, model_id: str) -> int:
        """Jobs waiting (not running) on a model."""
        line = self._lines.get(model_id)
        return len(line.waiting) if line else 0

    def _finish(self, job: Job, status: JobStatus, error: BackendError | None = None) -> None:
        if job._finish(status, error):
            if self.jobs.get(job.id) is job:
                del self.jobs[job.id]
            logger.info(
                "image job ended",
                extra={"job_id": job.id, "model_id": job.model_id, "status": str(status)},
            )

    def _reposition(self, line: _Line) -> None:
        ahead = 1 if line.current is not None else 0
        for index, job in enumerate(line.waiting):
            if job.position != ahead + index:
                job.position = ahead + index
                job._put(Queued(job.position))

    async def _run(self, line: _Line) -> None:
        while True:
            if not line.waiting:
                line.wake.clear()
                await line.wake.wait()
                continue
            job = line.current = line.waiting.popleft()
            self._reposition(line)
            try:
                await self._execute(line.backend, job)
            finally:
                line.current = None

    async def _execute(self, backend: ImageBackend, job: Job) -> None:
        job._started = time.perf_counter()
        try:
            if not backend.loaded:
                job.status = JobStatus.LOADING
                job._put(Loading())
                await backend.worker.call(backend.load)
                job._load_s = time.perf_counter() - job._started
            job.check()
            job.status = JobStatus.RUNNING
            job._run_started = time.perf_counter()
            await backend.worker.call(backend.generate, job.request, job)
        except JobCancelled:
            self._finish(job, JobStatus.CANCELLED)
        except BackendError as exc:
            self._finish(job, JobStatus.FAILED, exc)
        except asyncio.CancelledError:  # the queue is closing
            job.cancelled.set()
            self._finish(job, JobStatus.CANCELLED)
            raise
        except Exception:
            logger.exception("image job failed", extra={"job_id": job.id})
            self._finish(job, JobStatus.FAILED)
        else:
            self._finish(job, JobStatus.COMPLETED)

    async def close(self) -> None:
        """Cancel every job and stop every line (backends stop their workers when closed)."""
        self._closed = True
        for job in list(self.jobs.values()):
            self.cancel(job.id)
        tasks = [line.task for line in self._lines.values() if line.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
