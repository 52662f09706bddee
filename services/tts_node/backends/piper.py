"""Piper voices in-process: an ONNX VITS model and its JSON config, loaded once, run in a thread.

piper-tts (GPL-3.0-or-later) is imported here only, inside the TTS node's process.

- Loudness: Piper's `normalize_audio` scales every sentence to full range on its own, so
  loudness jumps from one sentence to the next. Each voice gets one gain instead, measured
  once at start on a reference text (or given as `gain`), and is clipped after.
- Threads: ONNX Runtime is given `threads` intra-op threads (default one per core) and one
  inference runs at a time in the process, so two syntheses never fight for the same cores.
- Piper's espeak phonemizer holds one process-wide lock: two voices never phonemize at once.
- Stop: each inference runs with its own `RunOptions`; closing the sentence's iterator sets
  `terminate`, which ends an inference in progress at its next operator.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import importlib.util
import json
import os
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from services.tts_node.backends.base import BackendUnavailable, TtsBackend, VoiceSpec

if TYPE_CHECKING:
    import onnxruntime
    from piper import PiperVoice

T = TypeVar("T")

CALIBRATION_TEXT = "The quick brown fox jumps over the lazy dog. How are you doing today?"
TARGET_PEAK = 0.9  # the calibration text's loudest sample lands here
MAX_GAIN = 4.0  # a near-silent (e.g. random-weight) voice is not blown up into noise
MAX_INT16 = 32767.0

# One inference at a time in this process: each one uses every thread it was given.
_INFERENCE = threading.Lock()


def resolve_model(spec: VoiceSpec) -> tuple[Path, Path]:
    """The voice's .onnx file and its .onnx.json config; BackendUnavailable says what is missing.

    `model` is an .onnx path, or the name of an installed package that ships one (its
    `model_path()` function if it has one, else the single .onnx file inside it).
    """
    if spec.model.endswith(".onnx"):
        model = spec.model_path()
    else:
        model = _packaged_model(spec.model)
    if not model.is_file():
        raise BackendUnavailable(f"voice model {model} does not exist")
    config = model.with_name(model.name + ".json")
    if not config.is_file():
        raise BackendUnavailable(f"voice config {config} does not exist")
    return model, config


def _packaged_model(package: str) -> Path:
    name = package.replace("-", "_")  # the distribution's name works as well as the module's
    if not name.isidentifier():
        raise BackendUnavailable(f"{package!r} is neither an .onnx path nor a package name")
    if importlib.util.find_spec(name) is None:
        raise BackendUnavailable(f"voice package {package} is not installed")
    module = importlib.import_module(name)
    finder = getattr(module, "model_path", None)
    if callable(finder):
        return Path(finder())
    root = Path(module.__file__ or "").parent
    found = sorted(root.rglob("*.onnx"))
    if len(found) != 1:
        raise BackendUnavailable(f"voice package {package} ships {len(found)} .onnx files, not 1")
    return found[0]


class PiperBackend(TtsBackend):
    """One Piper voice (one speaker of it)."""

    def __init__(self, spec: VoiceSpec) -> None:
        super().__init__(spec)
        self._voice: PiperVoice | None = None
        self._speaker_id: int | None = None
        self.gain = spec.gain or 1.0
        # One thread per voice: its sentences are made in order, one at a time.
        self._executor = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix=f"piper-{spec.id}"
        )

    async def start(self) -> None:
        """Load the model and its config; resolve the speaker; measure the gain."""
        model, config_path = resolve_model(self.spec)
        config = json.loads(config_path.read_text())
        self._voice = await self._run(self._load, model, config)
        self.sample_rate = self._voice.config.sample_rate
        self.language = self.spec.language or str(config.get("language", {}).get("code", ""))
        speaker_map = self._voice.config.speaker_id_map
        self.speakers = tuple(sorted(speaker_map, key=lambda s: speaker_map[s]))
        self._speaker_id = self._speaker(speaker_map, self._voice.config.num_speakers)
        if self.spec.gain is None:
            self.gain = await self._run(self._calibrate)

    def _load(self, model: Path, config: dict[str, Any]) -> PiperVoice:
        import onnxruntime
        from piper import PiperConfig, PiperVoice

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.spec.threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        if self.spec.device == "cuda":
            if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
                raise BackendUnavailable("ONNX Runtime here has no CUDA provider")
            providers: list[Any] = [
                ("CUDAExecutionProvider", {"cudnn_conv_algo_search": "HEURISTIC"})
            ]
        elif self.spec.device == "cpu":
            providers = ["CPUExecutionProvider"]
        else:
            raise BackendUnavailable(f"unknown device {self.spec.device!r} (cpu or cuda)")
        try:
            session = onnxruntime.InferenceSession(
                str(model), sess_options=options, providers=providers
            )
            return PiperVoice(session=session, config=PiperConfig.from_dict(config))
        except (KeyError, ValueError) as exc:
            raise BackendUnavailable(f"voice config is invalid: {exc}") from None
        except Exception as exc:  # onnxruntime raises its own types for a broken model
            raise BackendUnavailable(f"voice model will not load: {type(exc).__name__}") from None

    def _speaker(self, speaker_map: Mapping[str, int], num_speakers: int) -> int | None:
        speaker = self.spec.speaker
        if num_speakers <= 1:
            if speaker:
                raise BackendUnavailable("the voice has one speaker; remove `speaker`")
            return None
        if not speaker:
            return None  # the voice's default speaker
        if speaker in speaker_map:
            return speaker_map[speaker]
        if speaker.isdigit() and int(speaker) < num_speakers:
            return int(speaker)
        raise BackendUnavailable(f"the voice has no speaker {speaker!r}")

    def _calibrate(self) -> float:
        pcm = [self._infer(ids, 1.0, None) for ids in self._phoneme_ids(CALIBRATION_TEXT)]
        peak = max((float(np.max(np.abs(a))) for a in pcm if a.size), default=0.0)
        return MAX_GAIN if peak * MAX_GAIN < TARGET_PEAK else TARGET_PEAK / peak

    def _phoneme_ids(self, text: str) -> list[list[int]]:
        voice = self._require_voice()
        # phonemize() takes piper's process-wide espeak lock itself.
        return [voice.phonemes_to_ids(p) for p in voice.phonemize(text) if p]

    def _infer(
        self, ids: list[int], rate: float, run: onnxruntime.RunOptions | None
    ) -> np.ndarray[Any, Any]:
        """Float audio for one piece, as Piper's phoneme_ids_to_audio, with RunOptions."""
        voice = self._require_voice()
        config = voice.config
        scales = [config.noise_scale, config.length_scale / rate, config.noise_w_scale]
        inputs: dict[str, Any] = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": np.array(scales, dtype=np.float32),
        }
        if config.num_speakers > 1:
            speaker = config.default_speaker_id if self._speaker_id is None else self._speaker_id
            inputs["sid"] = np.array([speaker], dtype=np.int64)
        with _INFERENCE:
            audio = voice.session.run(None, inputs, run)[0]
        return np.asarray(audio, dtype=np.float32).reshape(-1)

    def _pcm(self, audio: np.ndarray[Any, Any]) -> bytes:
        scaled = np.clip(audio * (self.gain * MAX_INT16), -MAX_INT16, MAX_INT16)
        return scaled.astype("<i2").tobytes()

    async def _sentence(self, text: str, rate: float) -> AsyncIterator[bytes]:
        import onnxruntime

        run = onnxruntime.RunOptions()
        try:
            for ids in await self._run(self._phoneme_ids, text):
                audio = await self._run(self._infer, ids, rate, run)
                yield self._pcm(audio)
        finally:
            run.terminate = True  # an inference still running in the thread stops now

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _require_voice(self) -> PiperVoice:
        if self._voice is None:
            raise BackendUnavailable("The voice is not started.")
        return self._voice

    async def close(self) -> None:
        """Stop the voice's thread (after its current inference) and drop the model."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._voice = None
