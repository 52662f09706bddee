"""Init images in, PNG out: what a room's uploads become before they reach a pipeline."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from services.image_node.backends.base import InvalidRequest
from services.image_node.imaging import decode_init_image, preview_png

pytestmark = pytest.mark.unit


def encoded(picture: Image.Image, format: str, **params: object) -> bytes:
    out = io.BytesIO()
    picture.save(out, format=format, **params)
    return out.getvalue()


def test_an_init_image_is_fitted_to_the_size_by_a_centre_crop() -> None:
    # Left third red, middle third green, right third blue: a crop to a square keeps the middle.
    stripes = np.zeros((60, 180, 3), np.uint8)
    stripes[:, :60, 0] = stripes[:, 60:120, 1] = stripes[:, 120:, 2] = 255
    fitted = decode_init_image(encoded(Image.fromarray(stripes), "PNG"), 64, 64)
    assert (fitted.size, fitted.mode) == ((64, 64), "RGB")
    assert np.asarray(fitted)[32, 32].tolist() == [0, 255, 0]


@pytest.mark.parametrize("format", ["JPEG", "WEBP"])
def test_jpeg_and_webp_are_read_too(format: str) -> None:
    picture = Image.new("RGBA" if format == "WEBP" else "RGB", (100, 80), (10, 20, 200))
    assert decode_init_image(encoded(picture, format), 64, 128).size == (64, 128)


def test_a_phone_photo_is_turned_upright_first() -> None:
    # Stored sideways (red above blue) and tagged "rotate 90 degrees clockwise to show".
    stored = np.zeros((80, 40, 3), np.uint8)
    stored[:40, :, 0] = stored[40:, :, 2] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    fitted = np.asarray(
        decode_init_image(encoded(Image.fromarray(stored), "PNG", exif=exif), 80, 40)
    )
    assert fitted.shape == (40, 80, 3)
    left, right = fitted[20, 10], fitted[20, 70]
    assert left.argmax() == 2 and right.argmax() == 0  # blue on the left, red on the right


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "init_image is not a PNG, JPEG or WebP picture."),
        (b"%PDF-1.7", "init_image is not a PNG, JPEG or WebP picture."),
        (encoded(Image.new("RGB", (64, 64)), "PNG")[:60], "not a PNG, JPEG or WebP"),
        (encoded(Image.new("L", (4097, 8)), "PNG"), "init_image is 4097 x 8; at most 4096"),
    ],
)
def test_what_is_not_a_usable_picture_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        decode_init_image(data, 64, 64)
    assert message in refused.value.message


def test_a_preview_is_at_most_128_pixels() -> None:
    big = preview_png(np.full((256, 192, 3), 128, np.uint8))
    small = preview_png(np.full((32, 48, 3), 128, np.uint8))
    with Image.open(io.BytesIO(big)) as a, Image.open(io.BytesIO(small)) as b:
        assert (a.format, a.size, b.size) == ("PNG", (96, 128), (48, 32))
