"""A tiny random-weight Piper voice, built from piper-tts's own VITS code and exported to ONNX.

    model = build_tiny_voice(tmp_path, speakers=["ana", "bo"])   # -> tmp_path/tiny.onnx (+ .json)

Exactly what piper's `train.export_onnx` does to a trained checkpoint (remove weight norm,
`infer` as forward, the same input names, opset 15), on a model of a few thousand random weights
instead: the real loading and synthesis code runs on it, and it says nothing intelligible.
Noise scales are 0 in its config, so the same text gives the same audio. Needs torch and onnx
(the dev extras); about two seconds on a CPU.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SAMPLE_RATE = 16_000


def build_tiny_voice(
    directory: Path,
    *,
    speakers: Sequence[str] = (),
    sample_rate: int = SAMPLE_RATE,
    name: str = "tiny",
    seed: int = 0,
) -> Path:
    """Write `name`.onnx and `name`.onnx.json into `directory`; return the .onnx path."""
    import torch
    from piper.phoneme_ids import DEFAULT_PHONEME_ID_MAP
    from piper.train.vits.models import SynthesizerTrn

    torch.manual_seed(seed)
    num_symbols = max(i for ids in DEFAULT_PHONEME_ID_MAP.values() for i in ids) + 1
    num_speakers = max(1, len(speakers))
    model = SynthesizerTrn(
        n_vocab=num_symbols,
        spec_channels=33,
        segment_size=32,
        inter_channels=16,
        hidden_channels=16,
        filter_channels=32,
        n_heads=2,
        n_layers=1,
        kernel_size=3,
        p_dropout=0.0,
        resblock="2",
        resblock_kernel_sizes=(3,),
        resblock_dilation_sizes=((1, 3),),
        upsample_rates=(8, 8, 4),  # 256 samples per frame: Piper's hop length
        upsample_initial_channel=32,
        upsample_kernel_sizes=(16, 16, 8),
        n_speakers=num_speakers,
        gin_channels=8 if num_speakers > 1 else 0,
        use_sdp=True,
    )
    model.eval()
    with torch.no_grad():
        model.dec.remove_weight_norm()

    def infer_forward(text: Any, text_lengths: Any, scales: Any, sid: Any = None) -> Any:
        audio = model.infer(
            text,
            text_lengths,
            noise_scale=scales[0],
            length_scale=scales[1],
            noise_scale_w=scales[2],
            sid=sid,
        )[0]
        return audio.unsqueeze(1)

    model.forward = infer_forward  # type: ignore[method-assign,assignment]
    text = torch.randint(0, num_symbols, (1, 20), dtype=torch.long)
    lengths = torch.LongTensor([text.size(1)])
    scales = torch.FloatTensor([0.0, 1.0, 0.0])
    sid = torch.LongTensor([0]) if num_speakers > 1 else None
    directory.mkdir(parents=True, exist_ok=True)
    onnx_path = directory / f"{name}.onnx"
    torch.onnx.export(
        model=model,
        args=(text, lengths, scales, sid),
        f=str(onnx_path),
        opset_version=15,
        input_names=["input", "input_lengths", "scales", "sid"],
        output_names=["output"],
        dynamic_axes={
            "input": {0: "batch_size", 1: "phonemes"},
            "input_lengths": {0: "batch_size"},
            "output": {0: "batch_size", 2: "time"},
        },
        dynamo=False,  # what piper's own exporter uses (the TorchScript one)
    )
    config = {
        "audio": {"sample_rate": sample_rate, "quality": "x_low"},
        "espeak": {"voice": "en-us"},
        "inference": {"noise_scale": 0.0, "length_scale": 1.0, "noise_w": 0.0},
        "phoneme_type": "espeak",
        "num_symbols": num_symbols,
        "num_speakers": num_speakers,
        "speaker_id_map": {speaker: i for i, speaker in enumerate(speakers)},
        "phoneme_id_map": DEFAULT_PHONEME_ID_MAP,
        "language": {"code": "en_US"},
        "piper_version": "1.0.0",
    }
    onnx_path.with_name(onnx_path.name + ".json").write_text(json.dumps(config))
    return onnx_path
