"""The job queue on its own, with fake backends: lines per model, failures, and closing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from services.image_node.backends.base import ImageRequest, JobHooks
from services.image_node.backends.fake import FakeBackend
from services.image_node.queue import Event, Final, Job, JobQueue, JobStatus, Progress, Queued
from services.image_node.tests.support import WAIT_S, fake

pytestmark = pytest.mark.unit


def request(job_id: str, steps: int = 2) -> ImageRequest:
    return ImageRequest(
        job_id=job_id,
        prompt="a lighthouse at dusk",
        negative_prompt="",
        width=64,
        height=64,
        steps=steps,
        guidance=0.0,
        seeds=(1,),
    )


@pytest.fixture
async def queue() -> AsyncIterator[JobQueue]:
    jobs = JobQueue(max_jobs=8)
    yield jobs
    await jobs.close()


@pytest.fixture
async def backends(queue: JobQueue) -> AsyncIterator[dict[str, FakeBackend]]:
    """Closed after the queue, as the node does."""
    made = {"held": FakeBackend(fake("held", hold_after=1)), "quick": FakeBackend(fake("quick"))}
    for backend in made.values():
        await backend.start()
    yield made
    for backend in made.values():
        await backend.close()


async def until(job: Job, kind: type) -> list[Event]:
    seen: list[Event] = []
    async with asyncio.timeout(WAIT_S):
        async for event in job.events():
            seen.append(event)
            if isinstance(event, kind):
                return seen
    raise AssertionError(f"the job ended without a {kind.__name__}: {seen}")


async def test_each_model_has_its_own_line(
    queue: JobQueue, backends: dict[str, FakeBackend]
) -> None:
    held = queue.submit("held", backends["held"], request("held"))
    behind = queue.submit("held", backends["held"], request("behind"))
    assert [e for e in await until(behind, Queued)] == [Queued(1)]
    quick = queue.submit("quick", backends["quick"], request("quick"))
    events = await until(quick, Final)
    assert [type(e).__name__ for e in events] == [
        "Queued",
        "Progress",
        "Progress",
        "Picture",
        "Final",
    ]
    assert isinstance(events[-1], Final) and events[-1].status is JobStatus.COMPLETED
    assert (held.status, behind.status) == (JobStatus.RUNNING, JobStatus.QUEUED)
    assert queue.waiting("held") == 1


async def test_an_unexpected_backend_error_fails_the_job_and_not_the_line(
    queue: JobQueue, backends: dict[str, FakeBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = backends["quick"]
    generate = backend.generate

    def once_broken(request: ImageRequest, hooks: JobHooks) -> None:
        monkeypatch.setattr(backend, "generate", generate)
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(backend, "generate", once_broken)
    failed = (await until(queue.submit("quick", backend, request("a")), Final))[-1]
    assert isinstance(failed, Final)
    assert (failed.status, failed.error) == (JobStatus.FAILED, None)
    fine = (await until(queue.submit("quick", backend, request("b")), Final))[-1]
    assert isinstance(fine, Final) and fine.status is JobStatus.COMPLETED


async def test_closing_cancels_every_job_and_stops_the_running_one(
    backends: dict[str, FakeBackend],
) -> None:
    queue = JobQueue()
    backend = backends["held"]
    running = queue.submit("held", backend, request("running", steps=3))
    waiting = queue.submit("held", backend, request("waiting"))
    await until(running, Progress)
    await queue.close()
    for job in (running, waiting):
        final = (await until(job, Final))[-1]
        assert isinstance(final, Final) and final.status is JobStatus.CANCELLED
    assert await asyncio.to_thread(backend.stop_seen.wait, WAIT_S)
    assert backend.stopped == ["running"] and queue.jobs == {}
