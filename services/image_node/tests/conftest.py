"""Fixtures of the image node's tests: tiny random-weight pipelines, built once per session."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pytest


def _build(directory: Path, kind: str) -> Path:
    pytest.importorskip("torch", reason="building a tiny pipeline needs torch (local extras)")
    pytest.importorskip(
        "diffusers", reason="building a tiny pipeline needs diffusers (local extras)"
    )
    from services.image_node.tests import tiny_pipelines

    build: Callable[[Path], Path] = getattr(tiny_pipelines, f"build_{kind}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # diffusers' notes on random configs
        return build(directory / kind)


@pytest.fixture(scope="session")
def tiny_sd15(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A StableDiffusionPipeline directory (DDIM, 64 x 64 images from 32 x 32 latents)."""
    return _build(tmp_path_factory.mktemp("pipelines"), "sd15")


@pytest.fixture(scope="session")
def tiny_sdxl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A StableDiffusionXLPipeline directory (Euler, two text encoders)."""
    return _build(tmp_path_factory.mktemp("pipelines"), "sdxl")


@pytest.fixture(scope="session")
def tiny_flux(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A FluxPipeline directory (flow matching, CLIP + T5, 2 x 2 packed latents)."""
    return _build(tmp_path_factory.mktemp("pipelines"), "flux")
