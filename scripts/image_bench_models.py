"""The random-weight pipelines of scripts/bench_image_node.py at real sizes: SD 1.5's and SDXL's
architectures (nothing is downloaded; for a GPU)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# --- the pipelines -------------------------------------------------------------------------------

SD_SCHEDULER = {
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "steps_offset": 1,
}
SD15_UNET: dict[str, Any] = {
    "sample_size": 64,
    "in_channels": 4,
    "out_channels": 4,
    "layers_per_block": 2,
    "block_out_channels": (320, 640, 1280, 1280),
    "down_block_types": ("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
    "up_block_types": ("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    "cross_attention_dim": 768,
    "attention_head_dim": 8,
    "norm_num_groups": 32,
}
SDXL_UNET: dict[str, Any] = {
    "sample_size": 128,
    "in_channels": 4,
    "out_channels": 4,
    "layers_per_block": 2,
    "block_out_channels": (320, 640, 1280),
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    "transformer_layers_per_block": (1, 2, 10),
    "attention_head_dim": (5, 10, 20),
    "use_linear_projection": True,
    "cross_attention_dim": 2048,  # ViT-L's 768 and bigG's 1280, side by side
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 2816,  # 6 size/crop ids x 256 + bigG's pooled 1280
    "norm_num_groups": 32,
}
SD_VAE: dict[str, Any] = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "block_out_channels": (128, 256, 512, 512),
    "layers_per_block": 2,
    "latent_channels": 4,
    "norm_num_groups": 32,
}
CLIP_L = {  # openai/clip-vit-large-patch14's text tower
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "projection_dim": 768,
    "hidden_act": "quick_gelu",
}
CLIP_BIG_G = {  # OpenCLIP ViT-bigG/14's text tower, SDXL's second encoder
    "hidden_size": 1280,
    "intermediate_size": 5120,
    "num_attention_heads": 20,
    "num_hidden_layers": 32,
    "projection_dim": 1280,
    "hidden_act": "gelu",
}
CLIP_VOCAB = 49408  # the real embedding table; the byte-level tokenizer uses its first 514 ids


def _text_config(tokenizer: Any, fields: dict[str, Any]) -> Any:
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        vocab_size=CLIP_VOCAB,
        max_position_embeddings=77,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **fields,
    )


def build_real_sd15(path: Path, device: str, dtype: str) -> None:
    """A StableDiffusionPipeline with SD 1.5's architecture and random weights, in `path`."""
    import torch
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline
    from diffusers import UNet2DConditionModel as UNet
    from transformers import CLIPTextModel

    from services.image_node.tests import tiny_pipelines

    tokenizer = tiny_pipelines._tokenizer(path.with_name(f"{path.name}-vocab"))
    torch.manual_seed(0)
    with torch.device(device):  # random init where the weights go: seconds, not minutes
        unet = UNet(**SD15_UNET)
        vae = AutoencoderKL(**SD_VAE, sample_size=512, scaling_factor=0.18215)
        text_encoder = CLIPTextModel(_text_config(tokenizer, CLIP_L))
    pipe: Any = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        # SD 1.5's own: PLMS without its Runge-Kutta warm-up, so 50 steps are 51 UNet calls.
        scheduler=PNDMScheduler(**SD_SCHEDULER, skip_prk_steps=True, set_alpha_to_one=False),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.to(dtype=getattr(torch, dtype))
    pipe.save_pretrained(path)


def build_real_sdxl(path: Path, device: str, dtype: str) -> None:
    """A StableDiffusionXLPipeline with SDXL base's architecture and random weights, in `path`."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline
    from diffusers import UNet2DConditionModel as UNet
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    from services.image_node.tests import tiny_pipelines

    tokenizer = tiny_pipelines._tokenizer(path.with_name(f"{path.name}-vocab"))
    torch.manual_seed(0)
    with torch.device(device):
        unet = UNet(**SDXL_UNET)
        # force_upcast: SDXL's VAE decodes in float32 even in a float16 pipeline.
        vae = AutoencoderKL(**SD_VAE, sample_size=1024, scaling_factor=0.13025, force_upcast=True)
        text_encoder = CLIPTextModel(_text_config(tokenizer, CLIP_L))
        text_encoder_2 = CLIPTextModelWithProjection(_text_config(tokenizer, CLIP_BIG_G))
    pipe: Any = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=unet,
        scheduler=EulerDiscreteScheduler(**SD_SCHEDULER, timestep_spacing="leading"),
    )
    pipe.to(dtype=getattr(torch, dtype))
    pipe.save_pretrained(path)
