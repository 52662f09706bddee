"""Fixtures of the TTS node's tests: tiny random-weight Piper voices, built once per session."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest


def _build(directory: Path, **kwargs: object) -> Path:
    pytest.importorskip("torch", reason="building a tiny Piper voice needs torch (dev extras)")
    pytest.importorskip("onnx", reason="exporting a tiny Piper voice needs onnx (dev extras)")
    from tests.support.tiny_voice import build_tiny_voice

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's tracer warnings
        return build_tiny_voice(directory, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def tiny_voice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-speaker tiny voice's .onnx (its .onnx.json beside it)."""
    return _build(tmp_path_factory.mktemp("voice"))


@pytest.fixture(scope="session")
def tiny_multi_voice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny voice with the speakers "ana" and "bo"."""
    return _build(tmp_path_factory.mktemp("multi"), speakers=["ana", "bo"], name="multi")
