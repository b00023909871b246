"""Image statistics turn into light, colour and mood words that follow the pixels."""

from __future__ import annotations

import numpy as np
from PIL import Image

from services.vlm.scene_words import estimate_mood, light_words, measure


def _gradient(top_rgb, bottom_rgb, size=(200, 150), noise=0.0, seed=0) -> Image.Image:
    width, height = size
    y = np.linspace(0, 1, height)[:, None, None]
    pixels = np.array(top_rgb) * (1 - y) + np.array(bottom_rgb) * y
    pixels = np.broadcast_to(pixels, (height, width, 3)).copy()
    pixels += np.random.default_rng(seed).normal(0, noise, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def test_dark_open_sky_is_night_but_a_dark_busy_close_up_is_not():
    night = measure(_gradient((25, 35, 70), (70, 60, 50)))
    assert night.is_night
    assert "night" in light_words(night)
    dark_hedge = measure(_gradient((10, 60, 10), (20, 80, 20), noise=40))
    assert not dark_hedge.is_night


def test_grey_fog_is_misty_and_monochrome():
    fog = measure(_gradient((200, 200, 200), (150, 150, 150)))
    assert fog.is_monochrome
    assert fog.is_misty
    assert "mist" in light_words(fog)


def test_mood_follows_light_and_colour():
    sunny = measure(_gradient((255, 200, 80), (240, 120, 40), noise=20))
    gloomy = measure(_gradient((60, 60, 70), (30, 30, 35)))
    assert estimate_mood(sunny).valence > estimate_mood(gloomy).valence + 0.5
    busy = measure(_gradient((200, 50, 50), (50, 50, 200), noise=80))
    calm = measure(_gradient((120, 140, 160), (110, 130, 150)))
    assert estimate_mood(busy).arousal > estimate_mood(calm).arousal + 0.3
    for stats in (sunny, gloomy, busy, calm):
        mood = estimate_mood(stats, energy_hint=1.0)
        assert -1.0 <= mood.valence <= 1.0 and -1.0 <= mood.arousal <= 1.0


def test_statistics_handle_any_shape():
    for size in ((1, 1), (3000, 2), (2, 3000)):
        stats = measure(Image.new("RGB", size, (90, 120, 200)))
        assert 0.0 <= stats.brightness <= 1.0
        assert stats.aspect_ratio == size[0] / size[1]
