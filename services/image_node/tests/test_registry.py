"""The image model registry: the TOML file, and models that cannot be used listed with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.image_node import registry as registry_module
from services.image_node.backends.base import ImageBackend, ImageRequest, JobHooks, ModelSpec
from services.image_node.config import ImageSettings
from services.image_node.registry import (
    DEFAULT_REGISTRY,
    ImageModelRegistry,
    RegistryError,
    load_specs,
)

pytestmark = pytest.mark.unit


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(text)
    return path


@pytest.fixture
def offline_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty Hugging Face cache and HF_HUB_OFFLINE: nothing can be found or fetched."""
    constants = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_the_settings_point_at_the_shipped_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CHIMERA_IMAGE_MODELS", "CHIMERA_IMAGE_PORT", "CHIMERA_IMAGE_QUEUE_MAX"):
        monkeypatch.delenv(name, raising=False)
    settings = ImageSettings()
    assert (settings.image_models, settings.image_port, settings.image_queue_max) == (
        DEFAULT_REGISTRY,
        50054,
        32,
    )
    monkeypatch.setenv("CHIMERA_IMAGE_MODELS", "/etc/chimera/images.toml")
    assert ImageSettings().image_models == Path("/etc/chimera/images.toml")


def test_chimera_image_runs_the_image_node(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.cli import main as cli
    from services.image_node import server

    ran: list[str] = []
    monkeypatch.setattr(server, "main", lambda: ran.append("image node"))
    with pytest.raises(SystemExit) as exited:
        cli.main(["image"])
    assert (exited.value.code, ran) == (0, ["image node"])


@pytest.mark.usefixtures("offline_hub")
async def test_the_shipped_models_are_listed_unavailable_offline_and_the_fake_works() -> None:
    specs = load_specs(DEFAULT_REGISTRY)
    assert {s.id: (s.backend, s.model, s.pipeline) for s in specs} == {
        "sd15": ("diffusers", "stable-diffusion-v1-5/stable-diffusion-v1-5", "sd15"),
        "sdxl": ("diffusers", "stabilityai/stable-diffusion-xl-base-1.0", "sdxl"),
        "flux-schnell": ("diffusers", "black-forest-labs/FLUX.1-schnell", "flux"),
        "fake": ("fake", "fake", None),
    }
    pytest.importorskip("diffusers")
    registry = ImageModelRegistry(specs)
    await registry.start()
    try:
        reasons = {m.spec.id: (m.available, m.reason) for m in registry.models.values()}
        offline = "is not in the local Hugging Face cache and HF_HUB_OFFLINE is set"
        assert reasons == {
            "sd15": (False, f"stable-diffusion-v1-5/stable-diffusion-v1-5 {offline}"),
            "sdxl": (False, f"stabilityai/stable-diffusion-xl-base-1.0 {offline}"),
            "flux-schnell": (False, f"black-forest-labs/FLUX.1-schnell {offline}"),
            "fake": (True, ""),
        }
    finally:
        await registry.close()


def test_entries_parse_with_defaults_and_relative_directories_are_relative_to_the_file(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        """
[[models]]
id = "mine"
backend = "diffusers"
model = "./pipelines/mine"
device = "cuda:1"
dtype = "float16"
cpu_offload = "model"
attention_slicing = true
defaults = { width = 768, steps = 20 }
options = { variant = "fp16" }

[[models]]
id = "demo"
backend = "fake"
model = "fake"
""",
    )
    mine, demo = load_specs(path)
    assert mine == ModelSpec(
        id="mine",
        backend="diffusers",
        model=str(tmp_path.resolve() / "pipelines" / "mine"),
        device="cuda:1",
        dtype="float16",
        cpu_offload="model",
        attention_slicing=True,
        defaults={"width": 768, "steps": 20},
        options={"variant": "fp16"},
    )
    assert (demo.pipeline, demo.device, demo.dtype, demo.cpu_offload, demo.preload) == (
        None,
        "auto",
        "auto",
        "none",
        False,
    )


BASE = '[[models]]\nid = "a"\nbackend = "fake"\nmodel = "m"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[models]]\nid = "a"\nbackend = "comfy"\nmodel = "m"\n', "unknown backend 'comfy'"),
        ('[[models]]\nid = "a"\nbackend = "fake"\n', "models[0].model: Field required"),
        (BASE + 'pipeline = "sd3"\n', "models[0].pipeline"),
        (BASE + 'device = "tpu"\n', "models[0].device"),
        (BASE + 'cpu_offload = "disk"\n', "models[0].cpu_offload"),
        (BASE + "defaults = { width = 500 }\n", "models[0].defaults.width"),
        (BASE + "defaults = { steps = 0 }\n", "models[0].defaults.steps"),
        (BASE + "defaults = { seed = 1 }\n", "models[0].defaults.seed"),
        (BASE + 'token = "hf_secret"\n', "models[0].token: Extra inputs are not permitted"),
        ("[[models]\n", "is not valid TOML"),
        (BASE * 2, "repeats ids: a"),
    ],
)
def test_a_malformed_file_is_refused_with_what_is_wrong(
    tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(RegistryError) as refused:
        load_specs(write(tmp_path, text))
    assert expected in str(refused.value)
    assert "hf_secret" not in str(refused.value)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="does not exist"):
        load_specs(tmp_path / "nope.toml")


@pytest.mark.diffusion
@pytest.mark.usefixtures("offline_hub")
async def test_diffusers_models_that_cannot_be_used_say_why(
    tmp_path: Path, tiny_sd15: Path
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "kandinsky").mkdir()
    (tmp_path / "kandinsky" / "model_index.json").write_text(
        json.dumps({"_class_name": "KandinskyV22Pipeline"})
    )

    def spec(model_id: str, model: str, **fields: object) -> ModelSpec:
        return ModelSpec(id=model_id, backend="diffusers", model=model, **fields)  # type: ignore[arg-type]

    registry = ImageModelRegistry(
        [
            spec("missing", str(tmp_path / "nope")),
            spec("empty", str(tmp_path / "empty")),
            spec("other", str(tmp_path / "kandinsky")),
            spec("uncached", "someone/some-model"),
            spec("typo", str(tiny_sd15), options={"varaint": "fp16"}),
            spec("no-gpu", str(tiny_sd15), device="cuda"),
            spec("offload", str(tiny_sd15), device="cpu", cpu_offload="model"),
            spec("told", str(tiny_sd15), pipeline="sd15"),
        ]
    )
    await registry.start()
    try:
        reasons = {m.spec.id: (m.available, m.reason) for m in registry.models.values()}
    finally:
        await registry.close()
    cuda = reasons.pop("no-gpu")
    assert reasons == {
        "missing": (False, f"model directory {tmp_path / 'nope'} does not exist"),
        "empty": (False, f"{tmp_path / 'empty'} has no model_index.json: not a diffusers model"),
        "other": (
            False,
            f"{tmp_path / 'kandinsky'} is a KandinskyV22Pipeline; the node runs sd15, sdxl, "
            "flux (set `pipeline` to say which)",
        ),
        "uncached": (
            False,
            "someone/some-model is not in the local Hugging Face cache and HF_HUB_OFFLINE is set",
        ),
        "typo": (False, "unknown diffusers option(s): varaint"),
        "offload": (False, "cpu_offload needs a CUDA device"),
        "told": (True, ""),
    }
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        assert cuda == (False, "device 'cuda' was asked for, but CUDA is not available")


async def test_a_backend_that_crashes_while_starting_does_not_take_the_node_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Crashing(ImageBackend):
        async def start(self) -> None:
            raise RuntimeError("boom /secret/path")

        def generate(self, request: ImageRequest, hooks: JobHooks) -> None:
            raise AssertionError("never called")

    monkeypatch.setitem(registry_module.BACKENDS, "fake", Crashing)
    registry = ImageModelRegistry([ModelSpec(id="x", backend="fake", model="m")])
    await registry.start()
    model = registry.models["x"]
    assert (model.available, model.reason) == (False, "failed to start: RuntimeError")
