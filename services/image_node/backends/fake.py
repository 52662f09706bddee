"""A model that needs nothing: a deterministic picture from (prompt, seed), for tests, demos,
load runs and the room service's tests.

Options (the registry entry's `options` table): `step_ms` (work per step, default 0),
`hold_after` (steps after this many wait until the job is cancelled or `release()` is
called: a job that stays running as long as a test needs), `load_ms` (how long the first
job's load takes, default 0: no loading step), `fail` (a
message: every job fails so), `retryable` (whether that failure is), `schedulers` (the names
it takes, default a few of diffusers'). A step's wait ends early on cancel, so cancelling is
prompt however slow the steps. It counts what it did, so tests can tell a job stopped.
"""

from __future__ import annotations

import hashlib
import threading

import numpy as np
from PIL import Image

from services.image_node.backends.base import (
    BackendError,
    ImageBackend,
    ImageRequest,
    JobCancelled,
    JobHooks,
    ModelSpec,
    Picture,
)
from services.image_node.imaging import png, preview_png

SCHEDULERS = ("EulerDiscreteScheduler", "DDIMScheduler", "DPMSolverMultistepScheduler")


class FakeBackend(ImageBackend):
    """Colour fields and noise, paced by `step_ms`."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        options = spec.options
        self.pipeline = spec.pipeline or "fake"
        self.step_s = float(options.get("step_ms", 0)) / 1000
        hold_after = options.get("hold_after")
        self.hold_after = None if hold_after is None else int(hold_after)
        self._released = threading.Event()
        self.load_s = float(options.get("load_ms", 0)) / 1000
        self.fail = str(options.get("fail") or "")
        self.retryable = bool(options.get("retryable", False))
        self.schedulers = tuple(str(s) for s in options.get("schedulers", SCHEDULERS))
        self.loaded = not self.load_s
        self.started: list[str] = []  # job ids, in the order they began generating
        self.finished: list[str] = []  # jobs whose every image was sent
        self.stopped: list[str] = []  # jobs cancelled while generating
        self.stop_seen = threading.Event()  # set when a job is stopped
        self._closing = threading.Event()

    def load(self) -> None:
        self._closing.wait(self.load_s)
        self.loaded = True

    def generate(self, request: ImageRequest, hooks: JobHooks) -> None:
        self.started.append(request.job_id)
        done = False
        try:
            if self.fail:
                raise BackendError(self.fail, retryable=self.retryable)
            targets = [self._picture(request, seed) for seed in request.seeds]
            noise = np.random.default_rng(0).random(targets[0].shape)
            steps = request.steps
            if request.init_image is not None:  # as diffusers does: strength of the schedule
                steps = int(steps * request.strength)
            for step in range(1, steps + 1):
                hooks.wait(self.step_s)
                if self.hold_after is not None and step > self.hold_after:
                    while not self._released.is_set():
                        if self._closing.is_set():  # the node is stopping: end the hold
                            raise JobCancelled
                        hooks.wait(0.02)
                preview = b""
                if hooks.preview_due(step):
                    mix = step / steps
                    frame = (targets[0] * mix + noise * 255 * (1 - mix)).astype(np.uint8)
                    preview = preview_png(frame[::8, ::8])
                hooks.step(step, steps, preview)
            for index, (seed, target) in enumerate(zip(request.seeds, targets, strict=True)):
                hooks.image(
                    Picture(
                        index, seed, request.width, request.height, png(Image.fromarray(target))
                    )
                )
            done = True
            self.finished.append(request.job_id)
        finally:
            if not done and not self.fail:
                self.stopped.append(request.job_id)
                self.stop_seen.set()

    def release(self) -> None:
        """Let held steps (`hold_after`) go on, now and from now on."""
        self._released.set()

    def _picture(self, request: ImageRequest, seed: int) -> np.ndarray:
        """A gradient in colours from the prompt, with noise from the seed (and the init image)."""
        digest = hashlib.sha256(f"{request.prompt}\0{request.negative_prompt}".encode()).digest()
        start, end = np.frombuffer(digest[:3], np.uint8), np.frombuffer(digest[3:6], np.uint8)
        ramp = np.linspace(0.0, 1.0, request.width)[None, :, None]
        picture = np.broadcast_to(
            start * (1 - ramp) + end * ramp, (request.height, request.width, 3)
        ).astype(np.float64)
        picture = picture + np.random.default_rng(seed).normal(0, 24, picture.shape)
        if request.init_image is not None:
            init = np.asarray(request.init_image, dtype=np.float64)
            picture = init * (1 - request.strength) + picture * request.strength
        return np.clip(picture, 0, 255).astype(np.uint8)

    async def close(self) -> None:
        self._closing.set()
        await super().close()
