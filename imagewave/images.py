"""Decoding uploaded pictures safely: format by content, pixel caps, orientation, RGB out."""

from __future__ import annotations

import io
import warnings
from struct import error as struct_error

from PIL import Image, ImageOps, UnidentifiedImageError

from imagewave.errors import InvalidImage

# JPEG, PNG, WebP and GIF (MPO is how Pillow names a JPEG with a second, depth image). BMP and
# TIFF are refused: no camera or browser needs them, and TIFF's decoder surface is large.
ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "MPO"})
FORMATS_TEXT = "JPEG, PNG, WebP or GIF"
DEFAULT_MAX_PIXELS = 50_000_000  # 50 MP: big camera photos pass; decompression bombs do not
# Decoded size cap per allowed pixel, whatever the bit depth: 8-bit RGBA (4 bytes) passes at
# the full pixel cap; wider pixels (16-bit samples) only at fewer pixels.
MAX_DECODED_BYTES_PER_PIXEL = 4
_BYTES_PER_BAND = {"I;16": 2, "I;16B": 2, "I;16L": 2, "I": 4, "F": 4, "1": 1}


def check_image_header(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> str:
    """Cheap check at the door: the bytes are an image of an allowed format and size.

    Reads the header (for PNG, verifies chunk checksums; a JPEG is decoded at 1/8 scale, which
    reads its whole scan and so finds truncation); full decoding happens in the vlm service.
    Returns the format name.
    """
    if not data:
        raise InvalidImage("image is empty", field="image")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format or ""
            if image_format not in ALLOWED_FORMATS:
                raise InvalidImage(f"image format {image_format or 'unknown'} is not supported;"
                                   f" use {FORMATS_TEXT}", field="image")
            width, height = image.size
            if width < 1 or height < 1 or width * height > max_pixels:
                raise InvalidImage(f"image is {width}x{height} pixels; the limit is "
                                   f"{max_pixels} pixels", field="image")
            check_decoded_size(image, max_pixels)
            if image_format in ("JPEG", "MPO"):
                # verify() does not read a JPEG's scan data: a truncated one would pass here
                # and fail in the vlm service. Decoding at 1/8 scale reads all of it, cheaply.
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                image.load()
            else:
                image.verify()
    except InvalidImage:
        raise
    except Image.DecompressionBombError as exc:
        raise InvalidImage(f"image has too many pixels (over {max_pixels}): {exc}",
                           field="image") from exc
    except UnidentifiedImageError as exc:
        raise InvalidImage(f"file is not a readable image ({FORMATS_TEXT} expected)",
                           field="image") from exc
    except (OSError, ValueError, SyntaxError, EOFError, struct_error) as exc:
        raise InvalidImage(f"image is damaged or truncated: {exc}", field="image") from exc
    return image_format


def decoded_bytes(image: Image.Image) -> int:
    """What decoding `image` takes in memory, from its mode (bands × bytes per band)."""
    per_band = _BYTES_PER_BAND.get(image.mode, 2 if image.mode.endswith(";16") else 1)
    bands = len(image.getbands()) if image.mode not in _BYTES_PER_BAND else 1
    return image.size[0] * image.size[1] * bands * per_band


def check_decoded_size(image: Image.Image, max_pixels: int) -> None:
    limit = max_pixels * MAX_DECODED_BYTES_PER_PIXEL
    if decoded_bytes(image) > limit:
        width, height = image.size
        raise InvalidImage(f"image is {width}x{height} {image.mode} pixels: decoded it would "
                           f"take {decoded_bytes(image) // 1_000_000} MB, over the cap of "
                           f"{limit // 1_000_000} MB", field="image")


def open_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS,
               max_side_px: int | None = None) -> Image.Image:
    """Decode `data` into an RGB image, or raise `InvalidImage` saying why not.

    The format is read from the bytes, never from a file name. EXIF orientation is applied;
    alpha is composited on white; CMYK, 16-bit and palette images become 8-bit RGB; an animated
    GIF gives its first frame. `max_side_px`: the caller needs no more than this a side, so a
    JPEG is decoded at a reduced scale (draft mode) and anything else is reduced right after
    decoding, before the colour conversions that would copy it at full size.
    """
    if not data:
        raise InvalidImage("image is empty", field="image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ALLOWED_FORMATS:
                raise InvalidImage(f"image format {image.format} is not supported; use "
                                   f"{FORMATS_TEXT}", field="image")
            width, height = image.size
            if width * height > max_pixels:
                raise InvalidImage(f"image is {width}x{height} pixels, over the cap of "
                                   f"{max_pixels} pixels", field="image")
            check_decoded_size(image, max_pixels)
            image.seek(0)
            if max_side_px and image.format in ("JPEG", "MPO"):
                image.draft("RGB", (max_side_px, max_side_px))  # scales 1/2, 1/4, 1/8 at most
            image.load()
            if max_side_px:
                factor = max(image.size) // max_side_px
                if factor >= 2:
                    image = _reduce(image, factor)
    except InvalidImage:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise InvalidImage(f"file is not a readable image: {exc}", field="image") from exc
    except (OSError, ValueError, SyntaxError, EOFError, struct_error) as exc:
        raise InvalidImage(f"image is damaged or truncated: {exc}", field="image") from exc
    return to_rgb(image)


def _reduce(image: Image.Image, factor: int) -> Image.Image:
    """Box-reduce by an integer factor, keeping the mode (EXIF and transparency info too)."""
    info = dict(image.info)
    if image.mode == "P":  # palette indices cannot be averaged
        image = image.convert("RGBA")
    try:
        reduced = image.reduce(factor)
    except ValueError:  # a mode reduce() does not know (I;16 variants on older Pillow)
        reduced = image.convert("I").reduce(factor)
    reduced.info.update(info)  # EXIF (orientation, applied later) and transparency survive
    return reduced


def to_rgb(image: Image.Image) -> Image.Image:
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda v: v * (1 / 256)).convert("L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")
