"""Local generation speed: the transformers backend called in-process vs through the LLM node.

A random-weight model with Qwen2.5-0.5B's real architecture (tests.support.tiny_models
.qwen_0_5b_config, so every token costs what it costs the real model) and the tiny test
tokenizer is saved to a temporary directory and loaded by the real loading code twice:

  direct  TransformersBackend in this process, `generate()` consumed here
  node    `python -m services.llm_node` with CHIMERA_MODELS pointing at a one-model registry,
          called over gRPC (chimera.v1.LlmService/Generate) from this process

At each concurrency (--concurrency, default 1 and 8) a round sends that many identical greedy
requests at once and counts the completion tokens each Final reports; tokens/s is their sum over
the round's wall time. Paths alternate within every round (order rotating), so drift hits both
alike; the figures are medians over --rounds rounds after one warm-up round per path. The node's
share is the ratio node/direct (1.00 = no overhead).

    python scripts/bench_llm_gpu.py                      # CUDA GPU: Qwen2.5-0.5B-sized model
    python scripts/bench_llm_gpu.py --device cpu --tiny  # smoke run anywhere: CPU figures
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `tests.support` is not an installed package

import benchlib  # noqa: E402
import grpc  # noqa: E402

from services.common.net import free_port  # noqa: E402
from services.common.pb import llm_pb2  # noqa: E402
from services.common.pb.llm_pb2_grpc import LlmServiceStub  # noqa: E402
from services.llm_node.backends.base import (  # noqa: E402
    ChatTurn,
    Final,
    GenerationRequest,
    ModelSpec,
)
from services.llm_node.backends.transformers import TransformersBackend  # noqa: E402
from tests.support.tiny_models import build_tiny_chat_model, qwen_0_5b_config  # noqa: E402

MODEL_ID = "bench"
READY_TIMEOUT_S = 600.0
TURNS = [
    ChatTurn("system", "You are Alpha, a persona in a Chimera room. Answer in one paragraph."),
    ChatTurn("user", "Tell us about the history of the printing press.", name="Ada"),
]

Round = Callable[[int], Awaitable[int]]  # concurrency -> completion tokens generated


def registry(model_dir: Path, args: argparse.Namespace, concurrency: int) -> str:
    """A registry with one transformers model: the benchmark's."""
    return (
        "[[models]]\n"
        f'id = "{MODEL_ID}"\n'
        'backend = "transformers"\n'
        f'model = "{model_dir}"\n'
        f'device = "{args.device}"\n'
        f'dtype = "{args.dtype}"\n'
        f"max_concurrency = {concurrency}\n"
        f"max_tokens = {args.tokens}\n"
    )


def direct_round(backend: TransformersBackend, tokens: int) -> Round:
    async def one(i: int) -> int:
        request = GenerationRequest(f"direct-{time.monotonic_ns()}-{i}", TURNS, max_tokens=tokens)
        async for event in backend.generate(request):
            if isinstance(event, Final):
                return event.completion_tokens
        raise RuntimeError("no Final")

    async def run(concurrency: int) -> int:
        return sum(await asyncio.gather(*(one(i) for i in range(concurrency))))

    return run


def node_round(stub: LlmServiceStub, tokens: int) -> Round:
    messages = [
        llm_pb2.ChatMessage(role=t.role, content=t.content, name=t.name or "") for t in TURNS
    ]

    async def one(i: int) -> int:
        request = llm_pb2.GenerateRequest(
            request_id=f"node-{time.monotonic_ns()}-{i}",
            model_id=MODEL_ID,
            messages=messages,
            max_tokens=tokens,
        )
        async for chunk in stub.Generate(request):
            if chunk.HasField("final"):
                return chunk.final.completion_tokens
        raise RuntimeError("no final chunk")

    async def run(concurrency: int) -> int:
        return sum(await asyncio.gather(*(one(i) for i in range(concurrency))))

    return run


async def start_node(workdir: Path, port: int) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIMERA_")}
    env.update(
        CHIMERA_MODELS=str(workdir / "models.toml"),
        CHIMERA_LLM_HOST="127.0.0.1",
        CHIMERA_LLM_PORT=str(port),
        CHIMERA_DATA_DIR=str(workdir / "data"),
        CHIMERA_LOG_LEVEL="WARNING",
        HF_HUB_OFFLINE="1",
    )
    log = (workdir / "llm.log").open("ab")
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.llm_node", cwd=ROOT, env=env, stdout=log, stderr=log
    )


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


async def wait_available(stub: LlmServiceStub, node: asyncio.subprocess.Process, log: Path) -> None:
    """Until the node lists the model as available (it loads models in the background)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    reason = "not listed"
    while time.monotonic() < deadline:
        if node.returncode is not None:
            raise RuntimeError(f"the LLM node exited {node.returncode}:\n{tail(log)}")
        try:
            reply = await stub.ListModels(llm_pb2.ListModelsRequest(), timeout=2)
        except grpc.aio.AioRpcError:
            reply = None  # not listening yet
        model = next((m for m in reply.models if m.id == MODEL_ID), None) if reply else None
        if model is not None and model.available:
            return
        if model is not None and model.reason != "starting":
            raise RuntimeError(f"the node could not load the model: {model.reason}")
        reason = model.reason if model is not None else reason
        await asyncio.sleep(0.1)  # the node has no readiness event for one model
    raise RuntimeError(f"model not available within {READY_TIMEOUT_S:.0f} s: {reason}")


async def measure(
    paths: dict[str, Round], concurrencies: list[int], rounds: int
) -> dict[tuple[str, int], list[float]]:
    """tokens/s per (path, concurrency): one warm-up round each, then alternating rounds."""
    for run in paths.values():
        await run(max(concurrencies))
    rates: dict[tuple[str, int], list[float]] = {}
    names = list(paths)
    for r in range(rounds):
        for concurrency in concurrencies:
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                started = time.perf_counter()
                tokens = await paths[name](concurrency)
                rate = tokens / (time.perf_counter() - started)
                rates.setdefault((name, concurrency), []).append(rate)
        print(f"  round {r + 1}/{rounds} done", flush=True)
    return rates


def report(rates: dict[tuple[str, int], list[float]], concurrencies: list[int], unit: str) -> None:
    print(f"\n{'concurrent':>10}  {'direct tok/s':>13}  {'node tok/s':>11}  {'node/direct':>11}")
    for c in concurrencies:
        direct = statistics.median(rates[("direct", c)])
        node = statistics.median(rates[("node", c)]) if ("node", c) in rates else None
        node_s = f"{node:11.1f}" if node is not None else f"{'-':>11}"
        ratio = f"{node / direct:11.2f}" if node is not None else f"{'-':>11}"
        print(f"{c:>10}  {direct:13.1f}  {node_s}  {ratio}")
    print(f"(medians; {unit})")


async def run(args: argparse.Namespace) -> int:
    import torch

    cuda = torch.cuda.is_available()
    if args.device == "auto":
        if not cuda:
            print("No CUDA GPU here. For a CPU smoke run: --device cpu --tiny")
            return 0
        args.device = "cuda"
    on_gpu = args.device.startswith("cuda")
    concurrencies = sorted({int(c) for c in args.concurrency.split(",")})
    size = "tiny 2-layer Qwen2" if args.tiny else "Qwen2.5-0.5B architecture, random weights"
    where = torch.cuda.get_device_name(0) if on_gpu else f"CPU ({platform.processor() or 'x86'})"
    print(f"transformers backend, {size}, on {where}; {args.tokens} tokens per request")
    if not on_gpu:
        print("NOTE: these are CPU figures (a smoke run), not the GPU benchmark.")
    node_available = importlib.util.find_spec("services.llm_node.server") is not None

    with tempfile.TemporaryDirectory(prefix="bench-llm-gpu-") as tmp:
        workdir = Path(tmp)
        (workdir / "data").mkdir()
        started = time.perf_counter()
        config = None if args.tiny else qwen_0_5b_config()
        model_dir = build_tiny_chat_model(workdir / "model", config=config, dtype=torch.bfloat16)
        print(f"model built in {time.perf_counter() - started:.1f} s", flush=True)
        spec = ModelSpec(
            id=MODEL_ID,
            backend="transformers",
            model=str(model_dir),
            device=args.device,
            dtype=args.dtype,
            max_concurrency=max(concurrencies),
            max_tokens=args.tokens,
        )
        backend = TransformersBackend(spec)
        await backend.start()
        print(f"direct backend: {(await backend.health())[1]}", flush=True)
        paths: dict[str, Round] = {"direct": direct_round(backend, args.tokens)}
        node: asyncio.subprocess.Process | None = None
        channel: grpc.aio.Channel | None = None
        try:
            if not node_available:
                print("SKIP node path: services.llm_node.server is missing (no LLM node yet).")
            else:
                (workdir / "models.toml").write_text(registry(model_dir, args, max(concurrencies)))
                port = free_port("127.0.0.1")
                node = await start_node(workdir, port)
                channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
                stub = LlmServiceStub(channel)
                await wait_available(stub, node, workdir / "llm.log")
                paths["node"] = node_round(stub, args.tokens)
            rates = await measure(paths, concurrencies, args.rounds)
        finally:
            if channel is not None:
                await channel.close()
            if node is not None:
                await benchlib.stop_process(node, grace=30)
            await backend.close()
    report(rates, concurrencies, "CPU figures" if not on_gpu else f"{args.dtype} on {where}")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto (CUDA or skip) | cuda | cpu")
    parser.add_argument("--dtype", default="auto", help="auto | bfloat16 | float16 | float32")
    parser.add_argument("--tiny", action="store_true", help="a 2-layer model (smoke runs)")
    parser.add_argument("--tokens", type=int, default=128, help="max_tokens per request")
    parser.add_argument("--concurrency", default="1,8", help="comma-separated request counts")
    parser.add_argument("--rounds", type=int, default=3)
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
