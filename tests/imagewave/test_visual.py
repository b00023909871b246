"""Pixel statistics of a picture: each feature answers to what it names."""

from __future__ import annotations

import numpy as np
from PIL import Image

from imagewave.contracts.scene import Scene
from imagewave.visual import visual_features


def solid(rgb: tuple[int, int, int], size=(64, 48)) -> Image.Image:
    return Image.new("RGB", size, rgb)


def test_light_colour_and_warmth():
    white, black = visual_features(solid((255, 255, 255))), visual_features(solid((0, 0, 0)))
    assert white.brightness > 0.95 and black.brightness < 0.05
    red, blue = visual_features(solid((220, 40, 30))), visual_features(solid((30, 60, 220)))
    assert red.warmth > 0.5 and blue.warmth < -0.5
    assert red.saturation > 0.7 and visual_features(solid((128, 128, 128))).saturation < 0.05
    assert red.hue_deg < 30 or red.hue_deg > 330
    assert 200 <= blue.hue_deg <= 250


def test_contrast_and_busyness():
    flat = visual_features(solid((120, 120, 120)))
    halves = np.zeros((64, 64, 3), np.uint8)
    halves[:, 32:] = 255
    split = visual_features(Image.fromarray(halves))
    checks = np.indices((96, 96)).sum(axis=0) % 2 * 255
    board = visual_features(Image.fromarray(np.repeat(checks[..., None], 3, 2).astype(np.uint8)))
    blocks = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    noise = np.kron(blocks, np.ones((10, 10, 1), np.uint8))  # clutter at the scale of objects
    busy = visual_features(Image.fromarray(noise))
    assert flat.contrast == 0.0 and flat.busyness == 0.0
    assert split.contrast > 0.9 and split.busyness < 0.05  # one hard edge is not clutter
    assert busy.busyness > 0.15 > 5 * split.busyness and board.contrast > 0.9
    # Any size or mode gives the same kind of numbers; the same picture the same numbers.
    assert visual_features(Image.fromarray(noise).convert("L")) == visual_features(
        Image.fromarray(noise).convert("L"))


def test_the_scene_carries_them_outside_the_model_schema():
    features = visual_features(solid((200, 150, 90)))
    scene = Scene(scene_description="a wall", mood_description="warm",
                  sound_sources=[{"name": "wind", "variants": [{"play_method": "blowing"}]}],
                  visual=features)
    assert Scene.model_validate_json(scene.model_dump_json()).visual == features
    # The VLM decodes under the seed's schema: `visual` is ours, measured, never generated.
    assert "visual" not in Scene.model_json_schema()["properties"]
    assert "VisualFeatures" not in str(Scene.model_json_schema())
