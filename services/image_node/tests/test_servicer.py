"""ImageService over a real gRPC channel, on fake models: event streams, bounds, the queue's
positions and limit, and cancelling a job wherever it is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from services.common.pb import image_pb2 as pb
from services.image_node.backends.base import ModelSpec
from services.image_node.backends.fake import FakeBackend
from services.image_node.tests.support import (
    WAIT_S,
    Node,
    fake,
    job,
    kinds,
    of_kind,
    pixels,
    png_of,
    read_until,
    run,
    serving,
)

pytestmark = pytest.mark.unit

HOLD_MS = 600_000  # a load that never ends by itself within a test


@pytest.fixture
async def node() -> AsyncIterator[Node]:
    specs = [
        fake("quick"),
        fake("slow", hold_after=1),  # runs one step, then holds until cancelled
        fake("loading", load_ms=HOLD_MS),
        fake("broken", fail="The model broke."),
        fake("flaky", fail="The GPU is busy.", retryable=True),
        ModelSpec(id="gone", backend="diffusers", model="/nowhere/sd", pipeline="sdxl"),
    ]
    async with serving(specs, max_jobs=3) as served:
        yield served


def slow(node: Node) -> FakeBackend:
    backend: FakeBackend = node.backend("slow")
    return backend


async def test_a_job_streams_queued_progress_each_image_then_a_final(node: Node) -> None:
    request = job("quick", width=96, height=64, steps=4, n=2, seed=7, preview_every=2)
    events = await run(node.stub, request)
    assert kinds(events) == ["queued"] + ["progress"] * 4 + ["image"] * 2 + ["final"]
    assert {e.job_id for e in events} == {events[0].job_id} and events[0].job_id
    assert of_kind(events, "queued")[0].position == 0
    progress = of_kind(events, "progress")
    assert [(p.step, p.steps) for p in progress] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert [bool(p.preview_png) for p in progress] == [False, True, False, True]
    assert pixels(progress[1].preview_png).shape == (8, 12, 3)  # small: 1/8 of the image
    images = of_kind(events, "image")
    assert [(i.index, i.seed, i.width, i.height) for i in images] == [
        (0, 7, 96, 64),
        (1, 8, 96, 64),
    ]
    assert pixels(images[0].png).shape == (64, 96, 3)
    final = of_kind(events, "final")[0]
    assert (final.status, final.images, final.load_ms) == (pb.JOB_STATUS_COMPLETED, 2, 0)
    assert final.total_ms >= final.run_ms >= 0


async def test_unset_fields_get_the_model_defaults_and_a_random_seed_is_reported(
    node: Node,
) -> None:
    events = await run(node.stub, job("quick", n=2, job_id="mine-1"))
    assert {e.job_id for e in events} == {"mine-1"}
    assert {(p.steps) for p in of_kind(events, "progress")} == {8}
    assert not any(p.preview_png for p in of_kind(events, "progress"))
    first, second = of_kind(events, "image")
    assert (first.width, first.height) == (256, 256)
    assert 0 <= first.seed < 2**32 and second.seed == first.seed + 1


async def test_image_k_of_a_batch_is_a_single_run_with_its_seed(node: Node) -> None:
    batch = of_kind(await run(node.stub, job("quick", n=3, seed=40, steps=1)), "image")
    alone = of_kind(await run(node.stub, job("quick", seed=42, steps=1)), "image")
    assert batch[2].png == alone[0].png
    assert batch[0].png != batch[1].png


async def test_img2img_starts_from_the_init_image(node: Node) -> None:
    request = job("quick", width=64, height=64, steps=8, seed=1)
    plain = of_kind(await run(node.stub, request), "image")[0]
    request.init_image = png_of(128, 64, (0, 200, 0))
    request.strength = 0.25
    events = await run(node.stub, request)
    assert [p.steps for p in of_kind(events, "progress")] == [2, 2]  # a quarter of the schedule
    painted = of_kind(events, "image")[0]
    green = pixels(painted.png)[..., 1].mean() - pixels(plain.png)[..., 1].mean()
    assert (painted.width, painted.height) == (64, 64)
    assert green > 50  # three quarters of a bright green image is still there


@pytest.mark.parametrize(
    ("fields", "code", "details"),
    [
        ({"model_id": "nobody"}, grpc.StatusCode.NOT_FOUND, "Unknown image model 'nobody'"),
        (
            {"model_id": "gone"},
            grpc.StatusCode.FAILED_PRECONDITION,
            "Image model 'gone' is unavailable: model directory /nowhere/sd does not exist",
        ),
        ({"prompt": "  "}, grpc.StatusCode.INVALID_ARGUMENT, "Give a prompt."),
        ({"prompt": "x" * 4001}, grpc.StatusCode.INVALID_ARGUMENT, "4,000"),
        ({"width": 100}, grpc.StatusCode.INVALID_ARGUMENT, "width is a multiple of 8"),
        ({"height": 56}, grpc.StatusCode.INVALID_ARGUMENT, "from 64 to 2048 (got 56)"),
        ({"width": 2056}, grpc.StatusCode.INVALID_ARGUMENT, "(got 2056)"),
        ({"steps": 151}, grpc.StatusCode.INVALID_ARGUMENT, "steps is from 1 to 150"),
        ({"n": 9}, grpc.StatusCode.INVALID_ARGUMENT, "n is from 1 to 8"),
        ({"guidance": 30.5}, grpc.StatusCode.INVALID_ARGUMENT, "guidance is from 0 to 30"),
        ({"guidance": float("nan")}, grpc.StatusCode.INVALID_ARGUMENT, "guidance"),
        ({"seed": -1}, grpc.StatusCode.INVALID_ARGUMENT, "seed is from 0"),
        ({"seed": 2**53 - 2, "n": 3}, grpc.StatusCode.INVALID_ARGUMENT, "2^53 - 3"),
        ({"strength": 0.5}, grpc.StatusCode.INVALID_ARGUMENT, "strength goes with an init_image"),
        (
            {"init_image": png_of(64, 64), "strength": 0.0},
            grpc.StatusCode.INVALID_ARGUMENT,
            "strength is above 0",
        ),
        (
            {"init_image": png_of(64, 64), "strength": 0.5, "steps": 1},
            grpc.StatusCode.INVALID_ARGUMENT,
            "no step at all",
        ),
        (
            {"init_image": b"GIF89a not really"},
            grpc.StatusCode.INVALID_ARGUMENT,
            "init_image is not a PNG, JPEG or WebP picture.",
        ),
        (
            {"scheduler": "NoSuchScheduler"},
            grpc.StatusCode.INVALID_ARGUMENT,
            "Unknown scheduler 'NoSuchScheduler' for this model; it takes: EulerDiscreteScheduler",
        ),
        ({"job_id": "a b"}, grpc.StatusCode.INVALID_ARGUMENT, "job_id is 1 to 128"),
        ({"preview_every": -1}, grpc.StatusCode.INVALID_ARGUMENT, "preview_every"),
        ({"model_id": "broken"}, grpc.StatusCode.FAILED_PRECONDITION, "The model broke."),
        ({"model_id": "flaky"}, grpc.StatusCode.UNAVAILABLE, "The GPU is busy."),
    ],
)
async def test_bad_requests_end_with_a_status_that_says_why(
    node: Node, fields: dict[str, Any], code: grpc.StatusCode, details: str
) -> None:
    request = job(fields.pop("model_id", "quick"), **fields)
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await run(node.stub, request)
    assert failed.value.code() == code
    assert details in (failed.value.details() or "")


async def test_a_scheduler_the_model_takes_is_used(node: Node) -> None:
    events = await run(node.stub, job("quick", scheduler="DDIMScheduler", steps=1))
    assert of_kind(events, "final")[0].status == pb.JOB_STATUS_COMPLETED


async def test_jobs_wait_their_turn_with_positions_and_a_cancel_takes_one_out(node: Node) -> None:
    first = node.stub.Generate(job("slow", job_id="first"))
    await read_until(first, "progress")  # running: the model's worker is busy
    second = node.stub.Generate(job("slow", job_id="second"))
    assert of_kind(await read_until(second, "queued"), "queued")[0].position == 1
    third = node.stub.Generate(job("slow", job_id="third"))
    assert of_kind(await read_until(third, "queued"), "queued")[0].position == 2

    cancelled = await node.stub.Cancel(pb.CancelRequest(job_id="second"))
    assert (cancelled.found, cancelled.status) == (True, pb.JOB_STATUS_QUEUED)
    ended = await read_until(second, "final")
    assert of_kind(ended, "final")[0].status == pb.JOB_STATUS_CANCELLED
    assert kinds(ended) == ["final"]  # it never ran
    assert of_kind(await read_until(third, "queued"), "queued")[0].position == 1

    running = await node.stub.Cancel(pb.CancelRequest(job_id="first"))
    assert (running.found, running.status) == (True, pb.JOB_STATUS_RUNNING)
    assert of_kind(await read_until(first, "final"), "final")[0].status == pb.JOB_STATUS_CANCELLED
    await read_until(third, "progress")  # next in line: now running
    assert slow(node).started == ["first", "third"]
    await node.stub.Cancel(pb.CancelRequest(job_id="third"))
    await read_until(third, "final")


async def test_cancelling_a_running_job_sends_no_image_and_frees_its_worker(node: Node) -> None:
    backend = slow(node)
    call = node.stub.Generate(job("slow", job_id="held", n=2))
    await read_until(call, "progress")
    await node.stub.Cancel(pb.CancelRequest(job_id="held"))
    rest = await read_until(call, "final")
    assert "image" not in kinds(rest)
    final = of_kind(rest, "final")[0]
    assert (final.status, final.images) == (pb.JOB_STATUS_CANCELLED, 0)
    assert backend.stopped == ["held"] and backend.finished == []

    backend.release()  # the next job on the same worker runs through
    events = await run(node.stub, job("slow", job_id="after", steps=2))
    assert of_kind(events, "final")[0].status == pb.JOB_STATUS_COMPLETED
    assert backend.finished == ["after"]


async def test_cancelling_the_call_cancels_the_job(node: Node) -> None:
    backend = slow(node)
    call = node.stub.Generate(job("slow", job_id="gone-away"))
    await read_until(call, "progress")
    call.cancel()
    assert await asyncio.to_thread(backend.stop_seen.wait, WAIT_S)
    assert backend.stopped == ["gone-away"]
    reply = await node.stub.Cancel(pb.CancelRequest(job_id="gone-away"))
    assert reply.found is False  # nothing left of it


async def test_a_job_cancelled_while_its_model_loads_ends_at_once(node: Node) -> None:
    call = node.stub.Generate(job("loading", job_id="early"))
    assert kinds(await read_until(call, "loading")) == ["queued", "loading"]
    reply = await node.stub.Cancel(pb.CancelRequest(job_id="early"))
    assert (reply.found, reply.status) == (True, pb.JOB_STATUS_LOADING)
    ended = await read_until(call, "final")
    assert of_kind(ended, "final")[0].status == pb.JOB_STATUS_CANCELLED
    assert node.backend("loading").started == []


async def test_past_the_queue_bound_jobs_are_refused(node: Node) -> None:
    calls = [node.stub.Generate(job("slow", job_id="j0"))]
    await read_until(calls[0], "progress")
    for i in (1, 2):  # one at a time: the order they reach the node is their order in line
        calls.append(node.stub.Generate(job("slow", job_id=f"j{i}")))
        await read_until(calls[i], "queued")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await run(node.stub, job("quick"))
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "The image queue is full (3 jobs)" in (refused.value.details() or "")

    await node.stub.Cancel(pb.CancelRequest(job_id="j2"))
    await read_until(calls[2], "final")
    events = await run(node.stub, job("quick", steps=1))  # room again
    assert of_kind(events, "final")[0].status == pb.JOB_STATUS_COMPLETED
    for call in calls[:2]:
        call.cancel()


async def test_a_job_id_still_in_use_is_refused(node: Node) -> None:
    call = node.stub.Generate(job("slow", job_id="twice"))
    await read_until(call, "progress")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await run(node.stub, job("quick", job_id="twice"))
    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
    call.cancel()


async def test_cancel_of_an_unknown_job_finds_nothing(node: Node) -> None:
    reply = await node.stub.Cancel(pb.CancelRequest(job_id="never-was"))
    assert (reply.found, reply.status) == (False, pb.JOB_STATUS_UNSPECIFIED)


async def test_list_models_shows_defaults_and_the_unavailable_with_their_reason(
    node: Node,
) -> None:
    await run(node.stub, job("quick", steps=1))
    models = {m.id: m for m in (await node.stub.ListModels(pb.ListImageModelsRequest())).models}
    assert list(models) == ["quick", "slow", "loading", "broken", "flaky", "gone"]
    quick, loading, gone = models["quick"], models["loading"], models["gone"]
    assert (quick.backend, quick.pipeline, quick.available, quick.reason) == (
        "fake",
        "fake",
        True,
        "",
    )
    assert (quick.defaults.width, quick.defaults.steps, quick.size_multiple) == (256, 8, 8)
    assert quick.schedulers[0] == "EulerDiscreteScheduler" and quick.loaded
    assert not loading.loaded
    assert (gone.available, gone.backend, gone.pipeline, gone.loaded) == (
        False,
        "diffusers",
        "sdxl",
        False,
    )
    assert gone.reason == "model directory /nowhere/sd does not exist"
    assert (gone.defaults.width, gone.defaults.height, gone.defaults.guidance) == (1024, 1024, 5.0)
