"""Local diffusion models through Hugging Face diffusers: SD 1.5, SDXL and FLUX pipelines.

`start` only checks: the package, the device, and the model's model_index.json (from its
directory, the Hugging Face cache, or the hub), which names the pipeline kind and scheduler.
Weights load on the first job, on the backend's one worker thread, which also runs every job:
diffusers pipelines are not thread-safe. What diffusers leaves to its callers, and this does:

- cancel raises from `callback_on_step_end` (`pipe._interrupt` would still run the VAE decode),
  so a cancelled job decodes and sends nothing and frees the worker within one step;
- one seeded CPU `torch.Generator` per image, so image k of a batch is what a single run with
  its seed makes, on any device;
- img2img through `AutoPipelineForImage2Image.from_pipe`: the same modules, no second copy;
- a fresh scheduler per job (`from_config` of the model's own), by class name, so no state
  leaks from a cancelled job into the next;
- previews from a linear latent -> RGB map fitted at load to the model's own VAE (solid
  colours through its encoder): a matrix product per preview, no VAE call mid-loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from services.common.node.backend import resolve_device, resolve_dtype
from services.image_node.backends.base import (
    BackendError,
    BackendUnavailable,
    ImageBackend,
    ImageRequest,
    JobCancelled,
    JobHooks,
    ModelSpec,
    Picture,
)
from services.image_node.imaging import png, preview_png

logger = logging.getLogger(__name__)

NOT_INSTALLED = "diffusers is not installed: pip install 'chimera[local]'"
# `options` passed through to `from_pretrained`, and to every pipeline call.
LOAD_OPTIONS = ("revision", "variant", "use_safetensors")
CALL_OPTIONS = ("max_sequence_length",)
OPTIONS = (*LOAD_OPTIONS, *CALL_OPTIONS, "safety_checker")
PIPELINE_CLASSES = {
    "sd15": "StableDiffusionPipeline",
    "sdxl": "StableDiffusionXLPipeline",
    "flux": "FluxPipeline",
}
KINDS = {name: kind for kind, name in PIPELINE_CLASSES.items()}
PREVIEW_LEVELS = (-0.9, -0.3, 0.3, 0.9)  # per channel: 64 colours to fit the preview map on


def is_local_path(model: str) -> bool:
    """Hub ids are `name` or `org/name`; anything else (or anything that exists) is a path."""
    return (
        Path(model).expanduser().exists()
        or model.startswith(("/", "./", "../", "~"))
        or model.count("/") > 1
    )


def offline() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE") or ""
    return value.strip().lower() in {"1", "true", "yes", "on"}


def one_line(exc: BaseException) -> str:
    """An exception as `Type: its first sentence`, short enough for a reason column."""
    text = (str(exc).strip().splitlines() or [""])[0].split(". ")[0].rstrip(".")
    if len(text) > 160:
        text = text[:159] + "\u2026"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def scheduler_names(diffusers: Any, class_name: str) -> tuple[str, ...]:
    """The scheduler a model ships, then every installed scheduler compatible with it."""
    cls = getattr(diffusers, class_name, None)
    if cls is None or not hasattr(cls, "_get_compatibles"):
        return (class_name,) if class_name else ()
    # Classes diffusers lists but cannot run here (a missing scipy, say) are dummies.
    names = {c.__name__ for c in cls._get_compatibles() if ".dummy_" not in c.__module__}
    names.discard(class_name)
    return (class_name, *sorted(names))


def _import() -> tuple[Any, Any]:
    try:
        import diffusers
        import torch
    except ImportError:
        raise BackendUnavailable(NOT_INSTALLED) from None
    return torch, diffusers


class DiffusersBackend(ImageBackend):
    """A diffusers text-to-image pipeline (and its img2img twin) on this machine's CPU or GPU."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self.torch: Any = None
        self.diffusers: Any = None
        self.device = ""
        self.dtype = ""
        self._source = ""  # what from_pretrained takes: a directory or a hub id
        self._pipe: Any = None
        self._img2img: Any = None
        self._scheduler: Any = None  # the model's own, never run: each job gets a fresh copy
        self._preview_map: np.ndarray | None = None  # (channels + 1) x 3

    async def start(self) -> None:
        unknown = sorted(set(self.spec.options) - set(OPTIONS))
        if unknown:
            raise BackendUnavailable(f"unknown diffusers option(s): {', '.join(unknown)}")
        # Both in a thread: the hub may be slow to answer, torch takes seconds to import.
        index = await asyncio.to_thread(self._model_index)
        self.torch, self.diffusers = await asyncio.to_thread(_import)
        torch = self.torch
        cuda = torch.cuda.is_available()
        self.device = resolve_device(self.spec.device, cuda)
        self.dtype = resolve_dtype(
            self.spec.dtype, self.device, cuda and torch.cuda.is_bf16_supported()
        )
        if self.spec.cpu_offload != "none":
            if not self.device.startswith("cuda"):
                raise BackendUnavailable("cpu_offload needs a CUDA device")
            if importlib.util.find_spec("accelerate") is None:
                raise BackendUnavailable("cpu_offload needs accelerate: pip install accelerate")
        class_name = str(index.get("_class_name") or "")
        kind = self.spec.pipeline or KINDS.get(class_name)
        if kind is None:
            raise BackendUnavailable(
                f"{self.spec.model} is a {class_name or 'pipeline of unknown class'}; "
                f"the node runs {', '.join(PIPELINE_CLASSES)} (set `pipeline` to say which)"
            )
        self.pipeline = kind
        self.size_multiple = 16 if kind == "flux" else 8  # FLUX packs 2 x 2 latent patches
        scheduler = index.get("scheduler") or [None, ""]
        self.schedulers = scheduler_names(self.diffusers, str(scheduler[1] or ""))
        await super().start()

    def _model_index(self) -> dict[str, Any]:
        """The model's model_index.json: its directory's, the cache's, or fetched from the hub."""
        model = self.spec.model
        if is_local_path(model):
            path = Path(model).expanduser()
            if not path.is_dir():
                raise BackendUnavailable(f"model directory {model} does not exist")
            index = path / "model_index.json"
            if not index.is_file():
                raise BackendUnavailable(f"{model} has no model_index.json: not a diffusers model")
            self._source = str(path)
        else:
            try:
                from huggingface_hub import hf_hub_download, try_to_load_from_cache
            except ImportError:
                raise BackendUnavailable(NOT_INSTALLED) from None
            self._source = model
            revision = self.spec.options.get("revision")
            cached = try_to_load_from_cache(model, "model_index.json", revision=revision)
            if isinstance(cached, str):
                index = Path(cached)
            elif offline():
                raise BackendUnavailable(
                    f"{model} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set"
                )
            else:
                try:
                    index = Path(hf_hub_download(model, "model_index.json", revision=revision))
                except Exception as exc:
                    raise BackendUnavailable(
                        f"could not fetch {model} from the Hugging Face hub ({one_line(exc)})"
                    ) from None
        try:
            parsed = json.loads(index.read_text())
        except (OSError, ValueError) as exc:
            raise BackendUnavailable(f"{model}'s model_index.json: {one_line(exc)}") from None
        if not isinstance(parsed, dict):
            raise BackendUnavailable(f"{model}'s model_index.json is not a JSON object")
        return parsed

    def load(self) -> None:
        if self._pipe is not None:
            return
        torch, diffusers = self.torch, self.diffusers
        diffusers.utils.logging.disable_progress_bar()
        with contextlib.suppress(ImportError):  # the text encoders load through transformers
            import transformers

            transformers.utils.logging.disable_progress_bar()
        cls = getattr(diffusers, PIPELINE_CLASSES[self.pipeline])
        kwargs = {k: v for k, v in self.spec.options.items() if k in LOAD_OPTIONS}
        if importlib.util.find_spec("accelerate") is None:
            kwargs["low_cpu_mem_usage"] = False  # what diffusers falls back to, minus its warning
        if self.spec.options.get("safety_checker") is False:
            kwargs.update(safety_checker=None, requires_safety_checker=False)
        try:
            pipe = self._from_pretrained(cls, kwargs)
            self._configure(pipe)
        except torch.cuda.OutOfMemoryError:
            self._pipe = self._img2img = None
            self._free()
            raise BackendError("Not enough GPU memory to load the model.", retryable=True) from None
        logger.info(
            "diffusers model loaded",
            extra={"model_id": self.spec.id, "device": self.device, "dtype": self.dtype},
        )

    def _from_pretrained(self, cls: Any, kwargs: dict[str, Any]) -> Any:
        dtype = getattr(self.torch, self.dtype)
        with warnings.catch_warnings():
            # `dtype` replaces it only in recent diffusers; both work below 1.0.
            warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
            try:
                try:  # a hub model already in the cache loads without the network
                    return cls.from_pretrained(
                        self._source, torch_dtype=dtype, local_files_only=True, **kwargs
                    )
                except OSError:
                    if is_local_path(self.spec.model) or offline():
                        raise
                return cls.from_pretrained(self._source, torch_dtype=dtype, **kwargs)
            except self.torch.cuda.OutOfMemoryError:
                raise
            except Exception as exc:
                raise BackendUnavailable(
                    f"could not load {self.spec.model}: {one_line(exc)}"
                ) from None

    def _configure(self, pipe: Any) -> None:
        """Device, memory options, the img2img twin and the preview map of a loaded pipeline."""
        spec = self.spec
        pipe.set_progress_bar_config(disable=True)
        if spec.cpu_offload == "none":
            pipe.to(self.device)
        if spec.attention_slicing:
            pipe.enable_attention_slicing()
        if spec.vae_slicing:
            pipe.vae.enable_slicing()
        if spec.vae_tiling:
            pipe.vae.enable_tiling()
        # Before any offload hooks: from_pipe shares the modules the hooks then sit on.
        img2img = self.diffusers.AutoPipelineForImage2Image.from_pipe(pipe)
        img2img.set_progress_bar_config(disable=True)
        if spec.cpu_offload == "model":
            pipe.enable_model_cpu_offload(device=self.device)
        elif spec.cpu_offload == "sequential":
            pipe.enable_sequential_cpu_offload(device=self.device)
        self._scheduler = pipe.scheduler
        self._preview_map = self._fit_preview(pipe)
        self._pipe, self._img2img = pipe, img2img
        self.loaded = True

    def _fit_preview(self, pipe: Any) -> np.ndarray | None:
        """Least squares from a latent pixel (as the denoiser sees it) to its colour, over solid
        colours put through the VAE's encoder; None when the VAE cannot say."""
        torch, vae = self.torch, pipe.vae
        dtype = vae.dtype
        # SDXL's VAE overflows in float16; diffusers upcasts it to decode, and so must this.
        upcast = dtype == torch.float16 and getattr(vae.config, "force_upcast", False)
        try:
            levels = torch.tensor(PREVIEW_LEVELS)
            colours = torch.cartesian_prod(levels, levels, levels)  # 64 x 3, in [-1, 1]
            side = 8 * int(pipe.vae_scale_factor)  # an 8 x 8 latent each
            if upcast:
                vae.to(dtype=torch.float32)
            features = []
            with torch.inference_mode():
                for chunk in colours.split(16):  # 16 small images at a time: little memory
                    pixels = chunk[:, :, None, None].expand(-1, -1, side, side)
                    sample = pixels.to(pipe._execution_device, vae.dtype)
                    features.append(vae.encode(sample).latent_dist.mean.float().mean(dim=(2, 3)))
            shift = getattr(vae.config, "shift_factor", None) or 0.0
            latents = (torch.cat(features) - shift) * vae.config.scaling_factor
            design = latents.cpu().numpy().astype(np.float64)
            design = np.concatenate([design, np.ones((len(design), 1))], axis=1)
            fitted: np.ndarray = np.linalg.lstsq(
                design, colours.numpy().astype(np.float64), rcond=None
            )[0]
        except Exception:
            logger.warning(
                "no previews: the VAE could not be fitted",
                exc_info=True,
                extra={"model_id": self.spec.id},
            )
            return None
        finally:
            if upcast:
                vae.to(dtype=dtype)
        if not np.isfinite(fitted).all():
            logger.warning(
                "no previews: the VAE's fit is not finite", extra={"model_id": self.spec.id}
            )
            return None
        return fitted

    def generate(self, request: ImageRequest, hooks: JobHooks) -> None:
        torch = self.torch
        img2img = request.init_image is not None
        pipe = self._img2img if img2img else self._pipe
        if pipe is None:
            raise BackendUnavailable("the model is not loaded")
        pipe.scheduler = self._fresh_scheduler(request.scheduler)
        args: dict[str, Any] = {
            "prompt": request.prompt,
            "num_inference_steps": request.steps,
            "guidance_scale": request.guidance,
            "num_images_per_prompt": len(request.seeds),
            "generator": [torch.Generator("cpu").manual_seed(seed) for seed in request.seeds],
            "output_type": "pil",
            "callback_on_step_end": self._on_step(request, hooks),
            "callback_on_step_end_tensor_inputs": ["latents"],
        }
        args.update({k: v for k, v in self.spec.options.items() if k in CALL_OPTIONS})
        if self.pipeline != "flux":
            args["negative_prompt"] = request.negative_prompt or None
        if img2img:
            args.update(image=request.init_image, strength=request.strength)
        if not img2img or self.pipeline == "flux":  # SD img2img takes its size from the image
            args.update(width=request.width, height=request.height)
        hooks.check()
        try:
            images = pipe(**args).images
        except JobCancelled:
            pipe.maybe_free_model_hooks()  # put offloaded modules back where the next job expects
            raise
        except torch.cuda.OutOfMemoryError:
            self._free()
            raise BackendError(
                "The GPU ran out of memory; try fewer or smaller images.", retryable=True
            ) from None
        for index, (seed, picture) in enumerate(zip(request.seeds, images, strict=True)):
            hooks.image(Picture(index, seed, picture.width, picture.height, png(picture)))

    def _fresh_scheduler(self, name: str) -> Any:
        cls = getattr(self.diffusers, name) if name else type(self._scheduler)
        return cls.from_config(self._scheduler.config)

    def _on_step(self, request: ImageRequest, hooks: JobHooks) -> Any:
        def on_step(
            pipe: Any, index: int, timestep: Any, tensors: dict[str, Any]
        ) -> dict[str, Any]:
            step = index + 1
            preview = b""
            if hooks.preview_due(step):
                preview = self._preview(pipe, tensors["latents"], request)
            # Raises JobCancelled once cancelled: out of the denoising loop, before the decode.
            hooks.step(step, int(pipe.num_timesteps), preview)
            return {}

        return on_step

    def _preview(self, pipe: Any, latents: Any, request: ImageRequest) -> bytes:
        """The batch's first image as the fitted map sees its latents now."""
        if self._preview_map is None:
            return b""
        first = latents[:1]
        if self.pipeline == "flux":  # packed 2 x 2 patches: back to channels x h x w
            first = pipe._unpack_latents(
                first, request.height, request.width, pipe.vae_scale_factor
            )
        values = first[0].float().cpu().numpy()
        rgb = np.einsum("chw,cd->hwd", values, self._preview_map[:-1]) + self._preview_map[-1]
        return preview_png(((np.clip(rgb, -1, 1) + 1) * 127.5).astype(np.uint8))

    async def health(self) -> tuple[bool, str]:
        if not self.loaded:
            return True, f"not loaded ({self.device} {self.dtype})"
        return True, f"loaded on {self.device} {self.dtype}"

    def _free(self) -> None:
        if self.device.startswith("cuda") and self.torch is not None:
            gc.collect()  # weights caught in reference cycles must go before the cache is emptied
            self.torch.cuda.empty_cache()

    async def close(self) -> None:
        await super().close()
        self._pipe = self._img2img = self._scheduler = None
        self.loaded = False
        self._free()
