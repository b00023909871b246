"""`fit_image`: the picture the studio describe engines send is bounded in size and shape."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from services.vlm.prompt import MAX_ASPECT_RATIO, fit_image

# Qwen2.5-VL's smart_resize raises for pictures whose sides differ more than this.
QWEN_MAX_ASPECT_RATIO = 200


def picture(width: int, height: int) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))


@pytest.mark.parametrize(("size", "expected"), [
    ((4032, 3024), (768, 576)),  # a phone photo: downscaled, shape kept
    ((300, 200), (300, 200)),  # small enough: untouched
    ((768, 768), (768, 768)),
])
def test_ordinary_pictures_are_only_downscaled(size, expected) -> None:
    assert fit_image(picture(*size), 768).size == expected


@pytest.mark.parametrize("size", [(20_000, 40), (40, 20_000), (5000, 1), (1, 300)])
def test_extreme_strips_are_padded_within_the_models_aspect_limit(size) -> None:
    original = picture(*size)
    fitted = fit_image(original, 768)
    width, height = fitted.size
    assert max(width, height) <= 768
    assert max(width, height) / min(width, height) <= MAX_ASPECT_RATIO < QWEN_MAX_ASPECT_RATIO
    # the picture itself is in the middle of the padding, at its downscaled size
    long_side = max(size)
    scale = min(1.0, 768 / long_side)
    content = (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))
    left, top = (width - content[0]) // 2, (height - content[1]) // 2
    inner = np.asarray(fitted)[top : top + content[1], left : left + content[0]]
    assert inner.shape[:2] == (content[1], content[0])
    border = np.asarray(fitted)[0, 0] if (left or top) else None
    if border is not None:
        assert tuple(border) == (128, 128, 128)
