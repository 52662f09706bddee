"""The two paths of scripts/bench_image_node.py: diffusers in this process, and the image node
as its own process over gRPC."""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import os
import random
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.common.net import free_port, grpc_serving
from services.common.pb import image_pb2 as pb
from services.common.pb.image_pb2_grpc import ImageServiceStub

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-image-secret"
MODEL_ID = "bench"
READY_TIMEOUT_S = 900.0  # an SDXL-sized random pipeline takes minutes to load on a slow disk
CALL_TIMEOUT_S = 900.0
CANCEL_FIRST_STEP = 3  # cancel no earlier than this step: the step time is known by then
PROMPT = "a lighthouse on a cliff at dusk, oil painting, warm light"
# --- the two paths -------------------------------------------------------------------------------


@dataclass
class Job:
    """One job on one path; seconds from the call."""

    total: float  # to the last image
    iterations: int  # denoiser calls the pipeline made (PNDM's 50 steps are 51)
    first_progress: float = 0.0  # node: to the first progress event
    last_progress: float = 0.0  # node: to the last progress event
    run_ms: int = 0  # node: its own Final.run_ms
    png: bytes = b""
    picture: Any = None


@dataclass
class Cancelled:
    # Progress events that came after the Cancel was sent (one already on its way counts too).
    steps_after: int
    cancel_to_final: float  # seconds
    step_s: float  # this job's median step time before the cancel
    into_step_s: float  # how far into the step after the last one reported the Cancel was sent
    status: int


@dataclass
class Request:
    size: int
    steps: int
    guidance: float
    seed: int

    def message(self, **fields: Any) -> pb.GenerateImageRequest:
        return pb.GenerateImageRequest(
            model_id=MODEL_ID,
            prompt=PROMPT,
            width=self.size,
            height=self.size,
            steps=self.steps,
            guidance=self.guidance,
            seed=self.seed,
            **fields,
        )


class Direct:
    """diffusers' own API in this process, as a program without Chimera would call it."""

    def __init__(self, directory: Path, device: str, dtype: str) -> None:
        import diffusers
        import torch

        self.torch = torch
        # As the node loads: without accelerate, what diffusers falls back to, minus its warning.
        kwargs = {} if importlib.util.find_spec("accelerate") else {"low_cpu_mem_usage": False}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.pipe: Any = diffusers.DiffusionPipeline.from_pretrained(
                directory, torch_dtype=getattr(torch, dtype), **kwargs
            ).to(device)
        self.pipe.set_progress_bar_config(disable=True)

    def __call__(self, request: Request) -> Job:
        generator = [self.torch.Generator("cpu").manual_seed(request.seed)]
        start = time.perf_counter()
        images = self.pipe(
            prompt=PROMPT,
            negative_prompt=None,
            width=request.size,
            height=request.size,
            num_inference_steps=request.steps,
            guidance_scale=request.guidance,
            num_images_per_prompt=1,
            generator=generator,
            output_type="pil",
        ).images
        total = time.perf_counter() - start
        return Job(total, int(self.pipe.num_timesteps), picture=images[0])


class Node:
    """ImageService.Generate through the generated stub, as the room service will call it."""

    def __init__(self, stub: ImageServiceStub) -> None:
        self.stub = stub

    async def __call__(self, request: Request) -> Job:
        message = request.message()
        perf = time.perf_counter
        start = perf()
        first = last = image_at = 0.0
        iterations, png, final = 0, b"", None
        async for event in self.stub.Generate(message, timeout=CALL_TIMEOUT_S):
            now = perf()
            kind = event.WhichOneof("kind")
            if kind == "progress":
                first = first or now
                last, iterations = now, event.progress.steps
            elif kind == "image":
                image_at, png = now, event.image.png
            elif kind == "final":
                final = event.final
        if final is None or final.status != pb.JOB_STATUS_COMPLETED or not png:
            raise RuntimeError(f"the node's job did not complete: {final}")
        return Job(
            image_at - start,
            iterations,
            first_progress=first - start,
            last_progress=last - start,
            run_ms=final.run_ms,
            png=png,
        )

    async def cancel_one(self, request: Request, job_id: str, rng: random.Random) -> Cancelled:
        """A job cancelled at a random point of a random step; what came after the Cancel."""
        target = rng.randint(CANCEL_FIRST_STEP, max(CANCEL_FIRST_STEP, request.steps * 3 // 5))
        call = self.stub.Generate(request.message(job_id=job_id), timeout=CALL_TIMEOUT_S)
        seen: list[tuple[float, pb.GenerateEvent]] = []
        reached = asyncio.Event()

        async def read() -> None:
            async for event in call:
                seen.append((time.perf_counter(), event))
                if event.WhichOneof("kind") == "progress" and event.progress.step >= target:
                    reached.set()
            reached.set()  # the stream ended: the job did, too

        reader = asyncio.create_task(read())
        try:
            async with asyncio.timeout(CALL_TIMEOUT_S):
                await reached.wait()
            steps = [t for t, e in seen if e.WhichOneof("kind") == "progress"]
            if reader.done() or len(steps) < 2:
                raise RuntimeError(f"job {job_id} ended before step {target}")
            step_s = statistics.median(b - a for a, b in itertools.pairwise(steps))
            into_step = rng.random() * step_s
            await asyncio.sleep(into_step)  # somewhere inside the step that follows
            sent = time.perf_counter()
            reply = await self.stub.Cancel(pb.CancelRequest(job_id=job_id), timeout=30)
            async with asyncio.timeout(CALL_TIMEOUT_S):
                await reader
        finally:
            reader.cancel()
        if not reply.found:
            raise RuntimeError(f"Cancel did not find job {job_id}: it ended first")
        last_at, final = seen[-1]
        after = sum(1 for t, e in seen if t > sent and e.WhichOneof("kind") == "progress")
        return Cancelled(after, last_at - sent, step_s, into_step, final.final.status)


async def start_node(workdir: Path, directory: Path, device: str, dtype: str) -> tuple[Any, str]:
    """The image node as a child serving the pipeline (preloaded); (process, address)."""
    models = workdir / "models.toml"
    models.write_text(
        f'[[models]]\nid = "{MODEL_ID}"\nbackend = "diffusers"\nmodel = "{directory}"\n'
        f'device = "{device}"\ndtype = "{dtype}"\npreload = true\n'
    )
    port = free_port("127.0.0.1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIMERA_")}
    env.update(
        CHIMERA_IMAGE_MODELS=str(models),
        CHIMERA_IMAGE_PORT=str(port),
        CHIMERA_DATA_DIR=str(workdir),
        CHIMERA_INTERNAL_SECRET=SECRET,
        HF_HUB_OFFLINE="1",
    )
    with (workdir / "image.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.image_node", env=env, cwd=ROOT, stdout=log, stderr=log
        )
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not await grpc_serving(address, "chimera.v1.ImageService"):
        if process.returncode is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the image node did not start; see {workdir / 'image.log'}")
        await asyncio.sleep(0.05)
    return process, address


async def wait_loaded(stub: ImageServiceStub, process: Any) -> None:
    """Until the model is available with its weights in memory (it preloads at start)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        reply = await stub.ListModels(pb.ListImageModelsRequest(), timeout=10)
        model = next(m for m in reply.models if m.id == MODEL_ID)
        if model.available and model.loaded:
            return
        if model.reason not in ("", "starting") or process.returncode is not None:
            raise RuntimeError(f"the model is unavailable: {model.reason}")
        if time.monotonic() > deadline:
            raise RuntimeError("the model did not load in time")
        await asyncio.sleep(0.1)  # the node has no readiness event for one model
