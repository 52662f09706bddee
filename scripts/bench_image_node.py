"""Image node overhead: the same diffusion job through the node and through diffusers directly.

  direct  diffusers in this process: DiffusionPipeline.from_pretrained(directory), then
          pipe(prompt, width, height, num_inference_steps, guidance_scale, generator)
  node    gRPC ImageService.Generate -> the image node (`python -m services.image_node`, its own
          process, behind the internal secret) -> the same pipeline directory

Both load one pipeline saved to a temporary directory with save_pretrained, with random weights
(nothing is downloaded), and run the same job: prompt, size, steps, guidance and seed (one CPU
generator, as the node seeds). Job time is from the call to the last image (the direct call's
return; the node's `image` event), so the node's share includes its queue, its per-step hook,
a fresh scheduler per job, the PNG encode and the gRPC hop. Rounds run one job on each path,
the order alternating, after warm-up rounds. Through the node also: call -> first `progress`
event, last `progress` -> `image` event, and cancel latency: jobs of many steps cancelled
(`Cancel` by job id) at a random point of a random step, counting the steps reported after the
Cancel and the time from it to the final CANCELLED event. Targets: the node's job p50 at most
3% above the direct one; a cancel lets no step run after the one it lands in, and the final
comes within one step time of the Cancel.

Models: by default the tests' tiny SD 1.5-shaped pipeline (services/image_node/tests/
tiny_pipelines.py), small enough for a CPU; --real-arch builds SD 1.5's architecture at its real
sizes (UNet 320-640-1280-1280, CLIP ViT-L/14 text tower, SD VAE; 512 x 512, 50 steps), --sdxl
SDXL's (UNet 320-640-1280 with 1-2-10 transformer layers, CLIP ViT-L and bigG text towers;
1024 x 1024, 30 steps). Both are meant for a GPU; the tokenizer is a byte-level one written here.

Usage: python scripts/bench_image_node.py [--rounds N] [--warmup 2] [--cancels 10]
           [--size PX] [--steps N] [--device cpu|cuda] [--dtype float32|float16|bfloat16]
           [--real-arch | --sdxl] [--smoke]

The tiny model runs on the CPU unless --device cuda; --real-arch and --sdxl run on CUDA (and
print SKIP where there is none), in float16 unless --dtype says otherwise.

--smoke builds the pipeline and runs one 2-step 64 x 64 job per path: a check that a
--real-arch or --sdxl build loads and runs, on any machine.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import random
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import benchlib  # noqa: E402
from image_bench_models import build_real_sd15, build_real_sdxl  # noqa: E402
from image_bench_paths import (  # noqa: E402
    SECRET,
    Cancelled,
    Direct,
    Job,
    Node,
    Request,
    start_node,
    wait_loaded,
)

from services.common.grpc_security import GrpcSecurity, open_channel  # noqa: E402
from services.common.pb import image_pb2 as pb  # noqa: E402
from services.common.pb.image_pb2_grpc import ImageServiceStub  # noqa: E402

PATHS = ("direct", "node")
TARGET_OVERHEAD = 0.03  # the node's job time at most 3% above the pipeline's own, at p50


@dataclass(frozen=True)
class Mode:
    """A model to build and the job the issue measures it with."""

    name: str
    describe: str
    size: int
    steps: int
    guidance: float
    rounds: int
    cancel_steps: int
    anchor: str = ""


MODES = {
    "tiny": Mode(
        "tiny",
        "the tests' tiny SD 1.5-shaped pipeline (UNet 4-8 channels, DDIM), random weights",
        size=128,  # 64 x 64 latents: a step takes about what a real SD 1.5 step does on a GPU
        steps=25,
        guidance=7.5,
        rounds=60,  # jobs spread by tens of % on a shared 2-core VM: many pairs for a 3% call
        cancel_steps=100,
    ),
    "sd15": Mode(
        "sd15",
        "SD 1.5's architecture at its real sizes (860M UNet, CLIP ViT-L/14, SD VAE, PNDM), "
        "random weights",
        size=512,
        steps=50,
        guidance=7.5,
        rounds=10,
        cancel_steps=150,
        anchor="31 it/s on an A100 with SDPA (the denoising loop's rate: see the loop figure)",
    ),
    "sdxl": Mode(
        "sdxl",
        "SDXL's architecture at its real sizes (2.6B UNet, CLIP ViT-L + bigG, SDXL VAE, Euler), "
        "random weights",
        size=1024,
        steps=30,
        guidance=5.0,
        rounds=10,
        cancel_steps=100,
        anchor="2.5 s a job on an H100 (see the job p50)",
    ),
}


def quiet() -> None:
    """No progress bars or notes from diffusers and transformers between the figures."""
    import diffusers
    import transformers

    for library in (diffusers, transformers):
        library.utils.logging.set_verbosity_error()
        library.utils.logging.disable_progress_bar()


def build(mode: Mode, path: Path, device: str, dtype: str) -> None:
    """Save the mode's pipeline in `path` (float32 for the tiny one, else in `dtype`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # diffusers' notes on random configs
        if mode.name == "tiny":
            from services.image_node.tests.tiny_pipelines import build_sd15

            build_sd15(path)
        elif mode.name == "sd15":
            build_real_sd15(path, device, dtype)
        else:
            build_real_sdxl(path, device, dtype)
    gc.collect()  # the built modules go before the two copies under test load
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()


# --- measuring -----------------------------------------------------------------------------------


@dataclass
class Results:
    jobs: dict[str, list[Job]] = field(default_factory=lambda: {p: [] for p in PATHS})
    cancels: list[Cancelled] = field(default_factory=list)
    png_ms: float = 0.0
    warmup_difference: int = -1
    cpu: dict[str, float] = field(default_factory=dict)
    window: float = 0.0


async def measure(
    direct: Direct, node: Node, node_pid: int, request: Request, args: argparse.Namespace
) -> Results:
    from services.image_node.imaging import png

    results = Results()

    async def one(path: str) -> Job:
        return direct(request) if path == "direct" else await node(request)

    for _ in range(args.warmup):
        warm = {path: await one(path) for path in PATHS}
        results.warmup_difference = difference(warm["direct"].picture, warm["node"].png)
    pids = [("node", node_pid)]
    with benchlib.gc_paused():
        meter = benchlib.CpuWindow(pids)
        for turn in range(args.rounds):
            for path in PATHS[turn % 2 :] + PATHS[: turn % 2]:
                results.jobs[path].append(await one(path))
        results.cpu, results.window = meter.stop(pids, "bench")
    # What the node adds that a bare call does not do: the PNG, timed apart on the same picture.
    picture = results.jobs["direct"][-1].picture
    encodes = []
    for _ in range(20):
        start = time.perf_counter()
        png(picture)
        encodes.append(time.perf_counter() - start)
    results.png_ms = statistics.median(encodes) * 1000
    rng = random.Random(args.seed)
    cancel_request = Request(request.size, args.cancel_steps, request.guidance, request.seed)
    for index in range(args.cancels):
        results.cancels.append(await node.cancel_one(cancel_request, f"bench-cancel-{index}", rng))
    return results


def difference(picture: Any, png: bytes) -> int:
    """The largest difference of one channel of one pixel between the two paths' pictures."""
    import io

    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(png)) as decoded:
        theirs = np.asarray(decoded.convert("RGB")).astype(int)
    return int(np.abs(np.asarray(picture.convert("RGB")).astype(int) - theirs).max())


# --- the report ----------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:9.1f} ms"


def report(results: Results, mode: Mode, request: Request, args: argparse.Namespace) -> None:
    p = benchlib.percentile

    def verdict(ok: bool) -> str:
        return "smoke run, no verdict" if args.smoke else "met" if ok else "NOT met"

    jobs = results.jobs
    print(f"\n{'path':8} {'job p50':>12} {'job p99':>12} {'it/s (p50 job)':>15}")
    for path in PATHS:
        total = [j.total for j in jobs[path]]
        iterations = jobs[path][0].iterations
        print(
            f"{path:8} {ms(p(total, 0.5))}   {ms(p(total, 0.99))}   "
            f"{iterations / p(total, 0.5):12.2f}"
        )
    direct = [j.total for j in jobs["direct"]]
    node = [j.total for j in jobs["node"]]
    ratio = p(node, 0.5) / p(direct, 0.5)
    paired = statistics.median(b - a for a, b in zip(direct, node, strict=True))
    ok = ratio - 1 <= TARGET_OVERHEAD
    print(
        f"node/direct job p50: {ratio:.3f}x ({(ratio - 1) * 100:+.1f}%, "
        f"{(p(node, 0.5) - p(direct, 0.5)) * 1000:+.1f} ms; paired median "
        f"{paired * 1000:+.1f} ms, {paired / p(direct, 0.5) * 100:+.1f}%); target <= "
        f"+{TARGET_OVERHEAD:.0%}: {verdict(ok)}"
    )
    run_ms = [j.run_ms for j in jobs["node"]]
    hop = [j.total * 1000 - j.run_ms for j in jobs["node"]]
    print(
        f"  the node's own run_ms (its worker: scheduler, pipeline, PNG) p50 {p(run_ms, 0.5):.1f} "
        f"ms; job - run_ms (queue, gRPC, both ways) p50 {p(hop, 0.5):.1f} ms; PNG encode of one "
        f"{request.size} x {request.size} picture {results.png_ms:.2f} ms"
    )
    first = [j.first_progress for j in jobs["node"]]
    tail = [j.total - j.last_progress for j in jobs["node"]]
    loop = [
        (j.iterations - 1) / (j.last_progress - j.first_progress)
        for j in jobs["node"]
        if j.last_progress > j.first_progress
    ]
    print(
        f"node: call -> first progress p50 {ms(p(first, 0.5))}, p99 {ms(p(first, 0.99))}; "
        f"last progress -> image p50 {ms(p(tail, 0.5))}, p99 {ms(p(tail, 0.99))}; "
        f"denoising loop (progress events) {p(loop, 0.5):.2f} it/s at p50"
    )
    if results.warmup_difference >= 0:
        print(
            f"same job on both paths: the warm-up pictures differ by at most "
            f"{results.warmup_difference} of 255 in a channel"
        )
    if mode.anchor:
        print(f"anchor ({mode.size} x {mode.size}, {mode.steps} steps): {mode.anchor}")
    cancels = results.cancels
    if cancels:
        after = [c.steps_after for c in cancels]
        waits = [c.cancel_to_final for c in cancels]
        in_steps = [c.cancel_to_final / c.step_s for c in cancels]
        # Past the end of the step the Cancel landed in (which no cancel can cut short).
        excess = [c.cancel_to_final - (c.step_s - c.into_step_s) for c in cancels]
        statuses = {c.status for c in cancels}
        spread = ", ".join(f"{n}: {after.count(n)}" for n in sorted(set(after)))
        stopped = max(after) <= 1 and statuses == {pb.JOB_STATUS_CANCELLED}
        print(
            f"cancel, {len(cancels)} jobs of {args.cancel_steps} steps, each at a random point of "
            f"a random step: steps reported after Cancel ({spread}); "
            f"no step after the one running: {verdict(stopped)}"
        )
        print(
            f"  Cancel -> final CANCELLED p50 {ms(p(waits, 0.5))}, p99 {ms(p(waits, 0.99))}; "
            f"in steps of that job p50 {p(in_steps, 0.5):.2f}, p99 {p(in_steps, 0.99):.2f} "
            f"(one step p50 {ms(statistics.median(c.step_s for c in cancels))}); "
            f"past the step's end p50 {ms(p(excess, 0.5))}, p99 {ms(p(excess, 0.99))}; "
            f"within one step: {verdict(p(in_steps, 0.99) <= 1)}"
        )
    cpu, window = results.cpu, results.window
    if window:
        print(
            f"CPU over the {window:.1f} s of rounds: node process {cpu['node'] / window:.0%}, "
            f"this process (direct path + client) {cpu['bench'] / window:.0%}, other processes "
            f"{cpu['others'] / window:.0%} of a core"
        )


# --- main ----------------------------------------------------------------------------------------


def versions() -> str:
    import diffusers
    import torch

    python = platform.python_version()
    return f"Python {python}, torch {torch.__version__}, diffusers {diffusers.__version__}"


async def run(args: argparse.Namespace, mode: Mode) -> None:
    import torch

    machine = benchlib.machine()
    if args.device == "cuda":
        machine += f"; GPU {torch.cuda.get_device_name()}"
    quiet()
    request = Request(args.size, args.steps, args.guidance, args.seed)
    print(f"Image node overhead, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine}")
    print(f"{versions()}; {args.device} {args.dtype}")
    print(
        f"Model: {mode.describe}. Job: {request.size} x {request.size}, {request.steps} steps, "
        f"guidance {request.guidance:g}, seed {request.seed}; {args.warmup} warm-up + "
        f"{args.rounds} measured rounds, one job per path per round, order alternating; "
        f"{args.cancels} cancels of {args.cancel_steps}-step jobs.",
        flush=True,
    )
    if args.smoke:
        print("SMOKE RUN: one cold job a path, to check the build loads and runs; no measurement")
    with tempfile.TemporaryDirectory(prefix="bench-image-node-") as tmp:
        workdir = Path(tmp)
        directory = workdir / mode.name
        started = time.perf_counter()
        build(mode, directory, args.device, args.dtype)
        print(f"built in {time.perf_counter() - started:.1f} s; loading on both paths", flush=True)
        process, address = await start_node(workdir, directory, args.device, args.dtype)
        channel = open_channel(address, GrpcSecurity(secret=SECRET))
        try:
            direct = Direct(directory, args.device, args.dtype)
            node = Node(ImageServiceStub(channel))
            await wait_loaded(node.stub, process)
            results = await measure(direct, node, process.pid, request, args)
        finally:
            await channel.close()
            await benchlib.stop_process(process, grace=30.0)
    report(results, mode, request, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, help="measured rounds (tiny 60, GPU models 10)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--cancels", type=int, default=10)
    parser.add_argument("--cancel-steps", type=int, help="steps of a job to cancel")
    parser.add_argument("--size", type=int, help="width = height (tiny 128, sd15 512, sdxl 1024)")
    parser.add_argument("--steps", type=int, help="steps a job (tiny 25, sd15 50, sdxl 30)")
    parser.add_argument("--guidance", type=float, help="guidance scale (sd15 7.5, sdxl 5)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--device", choices=["cpu", "cuda"], help="tiny cpu, GPU models cuda")
    parser.add_argument(
        "--dtype", choices=["float32", "float16", "bfloat16"], help="cpu float32, cuda float16"
    )
    arch = parser.add_mutually_exclusive_group()
    arch.add_argument("--real-arch", action="store_true", help="SD 1.5 at its real sizes")
    arch.add_argument("--sdxl", action="store_true", help="SDXL base at its real sizes")
    parser.add_argument("--smoke", action="store_true", help="build, then one 2-step job a path")
    args = parser.parse_args()
    mode = MODES["sd15" if args.real_arch else "sdxl" if args.sdxl else "tiny"]
    args.device = args.device or ("cpu" if mode.name == "tiny" else "cuda")
    if mode.name != "tiny" and args.device == "cpu" and not args.smoke:
        flag = "--real-arch" if args.real_arch else "--sdxl"
        parser.error(f"{flag} is measured on a GPU: leave out --device cpu (or add --smoke)")
    args.dtype = args.dtype or ("float16" if args.device == "cuda" else "float32")
    if args.smoke:
        args.size, args.steps, args.rounds, args.warmup, args.cancels = 64, 2, 1, 0, 0
    args.size = args.size or mode.size
    args.steps = args.steps or mode.steps
    args.guidance = mode.guidance if args.guidance is None else args.guidance
    args.rounds = args.rounds or mode.rounds
    args.cancel_steps = args.cancel_steps or mode.cancel_steps
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            print(f"SKIP: this needs a CUDA GPU, and torch {torch.__version__} sees none")
            return
        if args.dtype == "bfloat16" and not torch.cuda.is_bf16_supported():
            print(f"SKIP: {torch.cuda.get_device_name()} does not support bfloat16")
            return
    asyncio.run(run(args, MODES[mode.name]))


if __name__ == "__main__":
    main()
