"""The diffusers backend through the node over real gRPC, on tiny random-weight SD 1.5, SDXL
and FLUX pipelines built in the test and loaded by the real code."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest

from services.common.pb import image_pb2 as pb
from services.image_node.backends.base import ImageRequest, ModelSpec
from services.image_node.backends.diffusers import DiffusersBackend
from services.image_node.queue import Job
from services.image_node.tests.support import (
    WAIT_S,
    Node,
    job,
    kinds,
    of_kind,
    pixels,
    png_of,
    read_until,
    run,
    serving,
)

pytestmark = [
    pytest.mark.unit,
    pytest.mark.diffusion,
    # diffusers' Euler scheduler on numpy 2: theirs to fix, nothing to do with the node.
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
]

OWN_SCHEDULER = {
    "sd15": "DDIMScheduler",
    "sdxl": "EulerDiscreteScheduler",
    "flux": "FlowMatchEulerDiscreteScheduler",
}


@pytest.fixture(params=["sd15", "sdxl", "flux"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def pipeline_dir(kind: str, request: pytest.FixtureRequest) -> Path:
    path: Path = request.getfixturevalue(f"tiny_{kind}")
    return path


@pytest.fixture
async def node(pipeline_dir: Path) -> AsyncIterator[Node]:
    # No `pipeline`: the backend reads the kind from model_index.json.
    spec = ModelSpec(id="tiny", backend="diffusers", model=str(pipeline_dir), device="cpu")
    async with serving([spec]) as served:
        yield served


@pytest.fixture
async def sd15(tiny_sd15: Path) -> AsyncIterator[Node]:
    async with serving([ModelSpec(id="tiny", backend="diffusers", model=str(tiny_sd15))]) as served:
        yield served


def tiny(**fields: Any) -> pb.GenerateImageRequest:
    return job("tiny", **{"width": 64, "height": 64, "steps": 3, **fields})


def backend_of(node: Node) -> DiffusersBackend:
    backend: DiffusersBackend = node.backend("tiny")
    return backend


def hold_at_first_step(backend: DiffusersBackend, job_id: str, monkeypatch: Any) -> None:
    """Job `job_id` stops in its first step's callback until it is cancelled."""
    original: Callable[[ImageRequest, Any], Any] = backend._on_step

    def held(request: ImageRequest, hooks: Job) -> Any:
        inner = original(request, hooks)

        def on_step(pipe: Any, index: int, timestep: Any, tensors: Any) -> Any:
            out = inner(pipe, index, timestep, tensors)  # sends step 1's progress
            if request.job_id == job_id and index == 0:
                assert hooks.cancelled.wait(WAIT_S)
            return out

        return on_step

    monkeypatch.setattr(backend, "_on_step", held)


def count_decodes(backend: DiffusersBackend, monkeypatch: Any) -> list[int]:
    """Every VAE decode from now on appends to the list returned."""
    vae, calls = backend._pipe.vae, []
    decode = vae.decode

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return decode(*args, **kwargs)

    monkeypatch.setattr(vae, "decode", counted)
    return calls


async def test_txt2img_loads_once_then_streams_progress_previews_and_images(
    node: Node, kind: str
) -> None:
    first = await run(node.stub, tiny(seed=3, preview_every=1, negative_prompt="blurry"))
    assert kinds(first) == ["queued", "loading"] + ["progress"] * 3 + ["image", "final"]
    progress = of_kind(first, "progress")
    assert [(p.step, p.steps) for p in progress] == [(1, 3), (2, 3), (3, 3)]
    previews = [pixels(p.preview_png) for p in progress]
    assert {p.shape for p in previews} == {(32, 32, 3)}  # the latents' size
    assert not np.array_equal(previews[0], previews[2])  # it follows the denoising
    image = of_kind(first, "image")[0]
    assert (image.index, image.seed, image.width, image.height) == (0, 3, 64, 64)
    assert pixels(image.png).shape == (64, 64, 3)
    assert of_kind(first, "final")[0].status == pb.JOB_STATUS_COMPLETED

    again = await run(node.stub, tiny(seed=3, negative_prompt="blurry"))
    assert kinds(again) == ["queued"] + ["progress"] * 3 + ["image", "final"]  # loaded now
    assert of_kind(again, "image")[0].png == image.png  # the same seed, the same picture
    (info,) = (await node.stub.ListModels(pb.ListImageModelsRequest())).models
    assert (info.pipeline, info.available, info.loaded) == (kind, True, True)
    assert info.schedulers[0] == OWN_SCHEDULER[kind]
    assert ("EulerAncestralDiscreteScheduler" in info.schedulers) is (kind != "flux")
    assert info.size_multiple == (16 if kind == "flux" else 8)


async def test_image_k_of_a_batch_matches_a_single_run_with_its_seed(node: Node) -> None:
    batch = of_kind(await run(node.stub, tiny(seed=100, n=3)), "image")
    assert [i.seed for i in batch] == [100, 101, 102]
    alone = of_kind(await run(node.stub, tiny(seed=102)), "image")[0]
    third, other = pixels(batch[2].png), pixels(batch[0].png)
    # The same starting noise; a batched matmul on a CPU may round the last bit differently.
    assert np.abs(third - pixels(alone.png)).max() <= 1
    assert np.abs(third - other).mean() > 10  # a different seed is a different picture


async def test_img2img_runs_on_the_same_loaded_modules(node: Node, kind: str) -> None:
    plain = of_kind(await run(node.stub, tiny(seed=5, steps=4)), "image")[0]
    events = await run(node.stub, tiny(seed=5, steps=4, init_image=png_of(80, 48), strength=0.5))
    assert "loading" not in kinds(events)
    assert [p.steps for p in of_kind(events, "progress")] == [2, 2]  # half the schedule
    painted = of_kind(events, "image")[0]
    assert (painted.width, painted.height) == (64, 64)  # the init image was fitted to the size
    assert painted.png != plain.png
    backend = backend_of(node)
    assert backend._img2img is not backend._pipe
    weights = {k: v for k, v in backend._pipe.components.items() if hasattr(v, "parameters")}
    assert {"vae", "text_encoder"} <= set(weights)
    for name, module in weights.items():  # no second copy of any weights
        assert backend._img2img.components[name] is module


async def test_a_scheduler_by_name_is_used_for_its_job_only(sd15: Node) -> None:
    before = of_kind(await run(sd15.stub, tiny(seed=9)), "image")[0]
    other = of_kind(await run(sd15.stub, tiny(seed=9, scheduler="EulerDiscreteScheduler")), "image")
    after = of_kind(await run(sd15.stub, tiny(seed=9)), "image")[0]
    assert other[0].png != before.png
    assert after.png == before.png  # each job gets a fresh copy of the model's own


@pytest.mark.parametrize(
    ("fields", "details"),
    [
        ({"scheduler": "FlowMatchEulerDiscreteScheduler"}, "it takes: DDIMScheduler, "),
        ({"scheduler": "StableDiffusionPipeline"}, "Unknown scheduler 'StableDiffusionPipeline'"),
        ({"width": 68}, "width is a multiple of 8"),
        ({"init_image": b"\x89PNG\r\n\x1a\n but broken"}, "init_image is not a PNG"),
    ],
)
async def test_requests_the_model_cannot_do_are_refused(
    sd15: Node, fields: dict[str, Any], details: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await run(sd15.stub, tiny(**fields))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details in (refused.value.details() or "")


async def test_a_cancelled_job_decodes_nothing_and_frees_the_worker(
    sd15: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    await run(sd15.stub, tiny(steps=1))  # loaded
    backend = backend_of(sd15)
    decodes = count_decodes(backend, monkeypatch)
    hold_at_first_step(backend, "held", monkeypatch)
    held = sd15.stub.Generate(tiny(job_id="held", steps=20, n=2))
    await read_until(held, "progress")
    waiting = sd15.stub.Generate(tiny(job_id="waiting"))
    assert of_kind(await read_until(waiting, "queued"), "queued")[0].position == 1

    reply = await sd15.stub.Cancel(pb.CancelRequest(job_id="waiting"))
    assert (reply.found, reply.status) == (True, pb.JOB_STATUS_QUEUED)
    assert kinds(await read_until(waiting, "final")) == ["final"]
    reply = await sd15.stub.Cancel(pb.CancelRequest(job_id="held"))
    assert (reply.found, reply.status) == (True, pb.JOB_STATUS_RUNNING)
    rest = await read_until(held, "final")
    assert "image" not in kinds(rest)
    assert of_kind(rest, "final")[0].status == pb.JOB_STATUS_CANCELLED
    assert decodes == []  # stopped inside the denoising loop, before the VAE

    events = await run(sd15.stub, tiny(seed=1))  # the worker is free, the pipeline intact
    assert of_kind(events, "final")[0].status == pb.JOB_STATUS_COMPLETED
    assert len(of_kind(events, "image")) == 1 and decodes == [1]


async def test_a_preloaded_model_has_no_loading_step(tiny_sd15: Path) -> None:
    spec = ModelSpec(id="tiny", backend="diffusers", model=str(tiny_sd15), preload=True)
    async with serving([spec]) as node:
        (info,) = (await node.stub.ListModels(pb.ListImageModelsRequest())).models
        assert info.loaded
        assert "loading" not in kinds(await run(node.stub, tiny(steps=1)))


async def test_an_unloadable_model_fails_its_job_with_the_reason(
    tmp_path: Path, tiny_sd15: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model_index.json").write_text((tiny_sd15 / "model_index.json").read_text())
    spec = ModelSpec(id="tiny", backend="diffusers", model=str(broken))
    async with serving([spec]) as node:
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await run(node.stub, tiny())
    assert failed.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert (failed.value.details() or "").startswith(f"could not load {broken}: ")


async def test_jobs_on_one_model_run_one_at_a_time_on_its_worker_thread(
    sd15: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = backend_of(sd15)
    generate, lock = backend.generate, threading.Lock()
    running, most, threads = [0], [0], set()

    def watched(request: ImageRequest, hooks: Any) -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            threads.add(threading.current_thread().name)
        try:
            generate(request, hooks)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(backend, "generate", watched)
    results = await asyncio.gather(*(run(sd15.stub, tiny(seed=s, steps=2)) for s in range(4)))
    assert [of_kind(r, "final")[0].status for r in results] == [pb.JOB_STATUS_COMPLETED] * 4
    assert most == [1] and threads == {"image-tiny"}
