"""Pictures in and out of the node: decoding an init image, PNG for images and previews."""

from __future__ import annotations

import io
import warnings
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from services.image_node.backends.base import PREVIEW_MAX_PX, InvalidRequest

MAX_INIT_SIDE = 4096


def decode_init_image(data: bytes, width: int, height: int) -> Image.Image:
    """An init image as RGB, scaled and centre-cropped to width x height; InvalidRequest if not."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data))
            if max(picture.size) > MAX_INIT_SIDE:
                raise InvalidRequest(
                    f"init_image is {picture.width} x {picture.height}; "
                    f"at most {MAX_INIT_SIDE} x {MAX_INIT_SIDE} is taken."
                )
            picture.load()
    except InvalidRequest:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombWarning):
        raise InvalidRequest("init_image is not a PNG, JPEG or WebP picture.") from None
    # EXIF orientation first: a phone's portrait photo must not arrive sideways.
    upright = ImageOps.exif_transpose(picture).convert("RGB")
    return ImageOps.fit(upright, (width, height), Image.Resampling.LANCZOS)


def png(picture: Image.Image) -> bytes:
    """PNG bytes of a picture."""
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def preview_png(rgb: Any) -> bytes:
    """A small PNG of an H x W x 3 uint8 array, at most PREVIEW_MAX_PX on its longest side."""
    picture = Image.fromarray(rgb)
    if max(picture.size) > PREVIEW_MAX_PX:
        picture.thumbnail((PREVIEW_MAX_PX, PREVIEW_MAX_PX), Image.Resampling.BOX)
    return png(picture)
