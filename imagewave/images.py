"""Decoding uploaded pictures safely: format by content, pixel caps, orientation, RGB out."""

from __future__ import annotations

import io
import warnings
from struct import error as struct_error

from PIL import Image, ImageOps, UnidentifiedImageError

from imagewave.errors import InvalidImage

ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO"})
DEFAULT_MAX_PIXELS = 50_000_000  # 50 MP: big camera photos pass; decompression bombs do not


def check_image_header(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> str:
    """Cheap check at the door: the bytes are an image of an allowed format and size.

    Reads the header (and, for PNG, verifies chunk checksums); full decoding happens in the
    vlm service. Returns the format name.
    """
    if not data:
        raise InvalidImage("image is empty", field="image")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format or ""
            if image_format not in ALLOWED_FORMATS:
                raise InvalidImage(f"image format {image_format or 'unknown'} is not supported;"
                                   " use JPEG, PNG, WebP or GIF", field="image")
            width, height = image.size
            if width < 1 or height < 1 or width * height > max_pixels:
                raise InvalidImage(f"image is {width}x{height} pixels; the limit is "
                                   f"{max_pixels} pixels", field="image")
            image.verify()
    except InvalidImage:
        raise
    except Image.DecompressionBombError as exc:
        raise InvalidImage(f"image has too many pixels (over {max_pixels}): {exc}",
                           field="image") from exc
    except UnidentifiedImageError as exc:
        raise InvalidImage("file is not a readable image (JPEG, PNG, WebP or GIF expected)",
                           field="image") from exc
    except (OSError, ValueError, SyntaxError, EOFError, struct_error) as exc:
        raise InvalidImage(f"image is damaged or truncated: {exc}", field="image") from exc
    return image_format


def open_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode `data` into an RGB image, or raise `InvalidImage` saying why not.

    The format is read from the bytes, never from a file name. EXIF orientation is applied;
    alpha is composited on white; CMYK, 16-bit and palette images become 8-bit RGB; an animated
    GIF gives its first frame.
    """
    if not data:
        raise InvalidImage("image is empty", field="image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ALLOWED_FORMATS:
                raise InvalidImage(f"image format {image.format} is not supported; use JPEG, PNG,"
                                   " WebP or GIF", field="image")
            width, height = image.size
            if width * height > max_pixels:
                raise InvalidImage(f"image is {width}x{height} pixels, over the cap of "
                                   f"{max_pixels} pixels", field="image")
            image.seek(0)
            image.load()
    except InvalidImage:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise InvalidImage(f"file is not a readable image: {exc}", field="image") from exc
    except (OSError, ValueError, SyntaxError, EOFError, struct_error) as exc:
        raise InvalidImage(f"image is damaged or truncated: {exc}", field="image") from exc
    return to_rgb(image)


def to_rgb(image: Image.Image) -> Image.Image:
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda v: v * (1 / 256)).convert("L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")
