"""Pictures are judged by content: odd but valid ones decode to RGB, hostile ones are refused."""

import io

import numpy as np
import pytest
from PIL import Image

from imagewave.errors import InvalidImage
from imagewave.images import check_image_header, open_image


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def test_cmyk_16bit_alpha_and_gif_become_rgb():
    cases = {
        "cmyk jpeg": encode(Image.new("CMYK", (20, 10), (0, 255, 0, 0)), "JPEG"),
        "16-bit png": encode(Image.fromarray(np.full((10, 20), 40000, dtype=np.uint16)), "PNG"),
        "rgba png": encode(Image.new("RGBA", (20, 10), (255, 0, 0, 0)), "PNG"),
        "webp": encode(Image.new("RGB", (20, 10), (0, 0, 255)), "WEBP"),
        "gif": encode(Image.new("P", (20, 10)), "GIF"),
    }
    for label, data in cases.items():
        image = open_image(data)
        assert image.mode == "RGB" and image.size == (20, 10), label
    # Fully transparent red is composited on white, not shown as red.
    assert open_image(cases["rgba png"]).getpixel((0, 0)) == (255, 255, 255)


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (40, 20))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    assert open_image(encode(image, "JPEG", exif=exif)).size == (20, 40)


def test_first_frame_of_an_animated_gif():
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    r, g, _ = open_image(data).getpixel((0, 0))
    assert r > 200 and g < 50


@pytest.mark.parametrize("check", [check_image_header, open_image])
def test_pixel_cap_stops_decompression_bombs(check):
    bomb = encode(Image.new("L", (6000, 6000)), "PNG")  # 36 MP of zeros: a few KB on disk
    assert len(bomb) < 200_000
    with pytest.raises(InvalidImage, match="pixels"):
        check(bomb, max_pixels=10_000_000)


@pytest.mark.parametrize("check", [check_image_header, open_image])
@pytest.mark.parametrize("data", [b"", b"hello", b"GIF89a", b"\xff\xd8\xff\xe0" + b"\0" * 10,
                                  b"%PDF-1.4\n"])
def test_garbage_is_an_invalid_image(check, data):
    with pytest.raises(InvalidImage) as error:
        check(data)
    assert error.value.field == "image"


def test_truncated_jpeg_fails_on_decode():
    data = encode(Image.effect_noise((64, 64), 40).convert("RGB"), "JPEG")
    assert check_image_header(data) == "JPEG"
    with pytest.raises(InvalidImage):
        open_image(data[: len(data) // 3])
