"""The one small interface every image backend implements, and the worker thread it runs on.

A backend checks at `start` that its model can be used (cheaply: no weights loaded unless the
entry asks for `preload`), loads on first use (`load`), and makes a job's images in `generate`,
reporting each step and each image through the job's hooks. Both run on the backend's one
worker thread, so a pipeline (diffusers' are not thread-safe) never sees two jobs at once; the
queue decides what runs next. Cancelling is the hooks' business: they raise `JobCancelled`
from the step the backend reports, so a cancelled job stops within one step.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from services.common.node.backend import BackendError as BackendError
from services.common.node.backend import BackendUnavailable as BackendUnavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Request bounds (docs/images.md); the servicer enforces them before a job is queued.
MIN_SIZE, MAX_SIZE = 64, 2048
MAX_STEPS = 150
MAX_BATCH = 8
MAX_GUIDANCE = 30.0
MAX_SEED = 2**53 - 1  # seeds travel through JSON to browsers: keep them exact there
PREVIEW_MAX_PX = 128


@dataclass(frozen=True)
class Defaults:
    """What a request that leaves a field unset gets."""

    width: int
    height: int
    steps: int
    guidance: float


# Per pipeline kind, what its reference models were trained and tuned for.
PIPELINE_DEFAULTS: dict[str, Defaults] = {
    "sd15": Defaults(512, 512, 30, 7.5),
    "sdxl": Defaults(1024, 1024, 30, 5.0),
    "flux": Defaults(1024, 1024, 4, 0.0),  # FLUX.1-schnell: 1-4 steps, no guidance
    "fake": Defaults(256, 256, 8, 0.0),
}


def resolve_defaults(pipeline: str, overrides: dict[str, Any]) -> Defaults | None:
    """The pipeline kind's defaults with the entry's `defaults` table over them (None: unknown)."""
    base = PIPELINE_DEFAULTS.get(pipeline)
    if base is None:
        return None
    fields = {**base.__dict__, **overrides}
    return Defaults(
        width=int(fields["width"]),
        height=int(fields["height"]),
        steps=int(fields["steps"]),
        guidance=float(fields["guidance"]),
    )


@dataclass(frozen=True)
class ModelSpec:
    """One `[[models]]` entry of the registry file."""

    id: str
    backend: str
    model: str  # diffusers: a hub id or a local pipeline directory; fake: anything
    pipeline: str | None = None  # sd15 | sdxl | flux; default: model_index.json's _class_name
    name: str | None = None  # for people; default: the id
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    dtype: str = "auto"  # auto | float32 | float16 | bfloat16
    attention_slicing: bool = False
    vae_slicing: bool = False
    vae_tiling: bool = False
    cpu_offload: str = "none"  # none | model | sequential (needs CUDA and accelerate)
    preload: bool = False  # load the weights at start instead of on the first job
    defaults: dict[str, Any] = field(default_factory=dict)  # width, height, steps, guidance
    options: dict[str, Any] = field(default_factory=dict)  # backend-specific extras


@dataclass(frozen=True)
class ImageRequest:
    """A job's request with every default filled in and every bound checked."""

    job_id: str
    prompt: str
    negative_prompt: str
    width: int
    height: int
    steps: int
    guidance: float
    seeds: tuple[int, ...]  # one per image of the batch
    scheduler: str = ""  # a diffusers scheduler class name; "" = the model's own
    init_image: Any = None  # img2img: a PIL RGB image already width x height
    strength: float = 0.8
    preview_every: int = 0


@dataclass(frozen=True)
class Picture:
    """One finished image of a batch."""

    index: int
    seed: int
    width: int
    height: int
    png: bytes


class InvalidRequest(BackendError):
    """The request cannot be done on this model (an unknown scheduler, an unreadable image)."""


class JobCancelled(Exception):
    """Raised from a job's hooks once it is cancelled: unwinds the backend's work at once."""


class JobHooks(Protocol):
    """What a running job gives its backend; every call raises JobCancelled once cancelled."""

    def check(self) -> None: ...

    def wait(self, seconds: float) -> None:
        """Sleep up to `seconds`, or until the job is cancelled."""

    def preview_due(self, step: int) -> bool: ...

    def step(self, step: int, steps: int, preview_png: bytes = b"") -> None: ...

    def image(self, picture: Picture) -> None: ...


class WorkerThread:
    """One daemon thread that runs a backend's blocking calls one at a time, in order.

    A daemon, like the node's default executor: a load stuck on the network must not keep the
    process alive after a stop.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._calls: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on the thread; cancelling the wait does not stop `fn`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._calls.put((future, fn, args))
        return await asyncio.wrap_future(future)

    def _loop(self) -> None:
        while (item := self._calls.get()) is not None:
            future, fn, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                future.set_exception(exc)

    async def stop(self, timeout_s: float) -> None:
        """Let the current call finish (up to `timeout_s`), then end the thread."""
        if self._thread is None:
            return
        self._calls.put(None)
        await asyncio.to_thread(self._thread.join, timeout_s)
        if self._thread.is_alive():
            logger.warning("image worker still busy at close", extra={"worker": self.name})
        self._thread = None


class ImageBackend(ABC):
    """A model behind one interface: check, load, generate (on its worker thread), close."""

    close_timeout_s = 30.0

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        # Known once started: what ListModels shows and requests are checked against.
        self.pipeline = spec.pipeline or ""
        self.defaults = resolve_defaults(self.pipeline, spec.defaults)
        self.schedulers: tuple[str, ...] = ()  # accepted scheduler names, the default first
        self.size_multiple = 8
        self.loaded = False
        self.worker = WorkerThread(f"image-{spec.id}")

    async def start(self) -> None:
        """Check the model can be used; raise BackendUnavailable with the reason if not."""
        self.defaults = resolve_defaults(self.pipeline, self.spec.defaults)
        if self.spec.preload:
            await self.worker.call(self.load)

    def load(self) -> None:
        """Load the weights (on the worker thread); idempotent."""
        self.loaded = True

    def check_scheduler(self, name: str) -> None:
        """Raise InvalidRequest unless the model takes scheduler `name` ("" = its own)."""
        if name and name not in self.schedulers:
            takes = ", ".join(self.schedulers) or "only its own"
            raise InvalidRequest(f"Unknown scheduler {name!r} for this model; it takes: {takes}.")

    @abstractmethod
    def generate(self, request: ImageRequest, hooks: JobHooks) -> None:
        """Make the request's images (on the worker thread), reporting through `hooks`."""

    async def health(self) -> tuple[bool, str]:
        """(healthy, detail)."""
        return True, "loaded" if self.loaded else "not loaded"

    async def close(self) -> None:
        """Release the weights and the worker thread."""
        await self.worker.stop(self.close_timeout_s)
