"""Image statistics → light, colour, texture and mood words.

The classifier says *what* is in a picture; these plain statistics say *how* it looks: bright or
dark, warm or cold, vivid or muted, busy or smooth, misty, night-time. They drive the scene and
mood sentences, the valence/arousal numbers, and a few place cues (sky, water, foliage, night)
that decide between ambiences. Everything is computed on a small copy, so it costs ~1 ms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from imagewave.contracts.scene import Mood

ANALYSIS_SIDE_PX = 96


@dataclass(frozen=True)
class ImageStatistics:
    """Fractions and means in 0..1 unless stated."""

    brightness: float  # mean luma
    contrast: float  # luma standard deviation
    saturation: float  # mean HSV saturation
    warmth: float  # mean (red − blue), −1..1
    texture: float  # mean absolute luma gradient between neighbours
    warm_fraction: float  # saturated red/orange/yellow pixels
    green_fraction: float  # saturated green pixels
    blue_fraction: float  # saturated blue/cyan pixels
    brown_fraction: float  # wood-like browns: orange hue, medium saturation and value
    dark_fraction: float  # pixels with luma < 0.15
    white_fraction: float  # bright, nearly colourless pixels (snow, paper, overcast sky)
    top_brightness: float  # mean luma of the top third
    top_smooth_fraction: float  # top-third pixels with little texture (sky, fog, walls)
    bottom_blue_fraction: float  # saturated blue in the bottom third (water, more often than not)
    aspect_ratio: float  # width / height

    @property
    def is_monochrome(self) -> bool:
        return self.saturation < 0.07

    @property
    def is_night(self) -> bool:
        # Dark overall and a dark, open sky above (a dark hedge close-up is not night).
        return (self.brightness < 0.3 and self.top_brightness < 0.3
                and self.top_smooth_fraction > 0.5)

    @property
    def is_misty(self) -> bool:
        return (self.top_brightness > 0.35 and self.texture < 0.03
                and self.top_smooth_fraction > 0.8)

    @property
    def is_dusk(self) -> bool:
        return not self.is_night and self.brightness < 0.45 and self.blue_fraction > 0.4


def measure(image: Image.Image) -> ImageStatistics:
    """Statistics of an RGB image (any size, any aspect ratio)."""
    small = image.convert("RGB").resize((ANALYSIS_SIDE_PX, ANALYSIS_SIDE_PX), Image.BILINEAR)
    rgb = np.asarray(small, dtype=np.float32) / 255.0
    hsv = np.asarray(small.convert("HSV"), dtype=np.float32) / 255.0
    hue_deg, sat, val = hsv[..., 0] * 360.0, hsv[..., 1], hsv[..., 2]
    luma = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)

    grad = np.zeros_like(luma)
    grad[:, :-1] += np.abs(np.diff(luma, axis=1))
    grad[:-1, :] += np.abs(np.diff(luma, axis=0))
    vivid = (sat > 0.25) & (val > 0.15)
    top = slice(0, ANALYSIS_SIDE_PX // 3)
    bottom = slice(ANALYSIS_SIDE_PX - ANALYSIS_SIDE_PX // 3, ANALYSIS_SIDE_PX)
    blue = vivid & (hue_deg >= 170) & (hue_deg < 260)
    width, height = image.size
    return ImageStatistics(
        brightness=float(luma.mean()),
        contrast=float(luma.std()),
        saturation=float(sat.mean()),
        warmth=float((rgb[..., 0] - rgb[..., 2]).mean()),
        texture=float(grad.mean() / 2.0),
        warm_fraction=float((vivid & ((hue_deg < 55) | (hue_deg > 330))).mean()),
        green_fraction=float((vivid & (hue_deg >= 70) & (hue_deg < 170)).mean()),
        blue_fraction=float(blue.mean()),
        brown_fraction=float(((hue_deg >= 10) & (hue_deg < 45) & (sat > 0.25) & (sat < 0.8)
                              & (val > 0.15) & (val < 0.75)).mean()),
        dark_fraction=float((luma < 0.15).mean()),
        white_fraction=float(((val > 0.8) & (sat < 0.12)).mean()),
        top_brightness=float(luma[top].mean()),
        top_smooth_fraction=float((grad[top] < 0.03).mean()),
        bottom_blue_fraction=float(blue[bottom].mean()),
        aspect_ratio=width / max(height, 1),
    )


def light_words(stats: ImageStatistics) -> str:
    if stats.is_night:
        return "at night, under a dark sky" if stats.brightness > 0.12 else "in near darkness"
    if stats.is_misty:
        return "in soft, misty light"
    if stats.is_dusk:
        return "in cool blue dusk light"
    if stats.brightness > 0.62:
        return "in bright, even light"
    if stats.warmth > 0.12 and stats.warm_fraction > 0.25:
        return "in warm golden light"
    if stats.brightness < 0.35:
        return "in dim, low light"
    return "in soft daylight"


def colour_words(stats: ImageStatistics) -> str:
    if stats.is_monochrome:
        return "in monochrome greys"
    shades = []
    if stats.warm_fraction > 0.3:
        shades.append("warm reds and oranges")
    if stats.green_fraction > 0.25:
        shades.append("greens")
    if stats.blue_fraction > 0.3:
        shades.append("blues")
    vividness = "vivid" if stats.saturation > 0.45 else "muted" if stats.saturation < 0.2 else ""
    if not shades:
        return f"with {vividness or 'natural'} colours"
    return f"with {vividness + ' ' if vividness else ''}{' and '.join(shades)}"


def texture_words(stats: ImageStatistics) -> str:
    if stats.texture > 0.09:
        return "busy, detailed textures"
    if stats.texture < 0.03:
        return "smooth, open surfaces"
    return "moderate detail"


def estimate_mood(stats: ImageStatistics, *, energy_hint: float = 0.0) -> Mood:
    """Valence from light, colour and warmth; arousal from vividness, contrast and detail.

    `energy_hint` (−1..1) carries what the recognised sources add (an engine or a storm is
    energetic whatever its colours).
    """
    valence = (1.6 * (stats.brightness - 0.42) + 1.2 * (stats.saturation - 0.25)
               + 1.0 * stats.warmth - (0.25 if stats.is_monochrome else 0.0)
               - (0.2 if stats.is_misty else 0.0))
    arousal = (0.4 * (stats.saturation - 0.4) + 5.0 * (stats.texture - 0.05)
               + 1.0 * (stats.contrast - 0.22) + 0.8 * energy_hint - 0.1
               - (0.3 if stats.is_misty else 0.0))
    return Mood(valence=round(float(np.clip(valence, -1.0, 1.0)), 3),
                arousal=round(float(np.clip(arousal, -1.0, 1.0)), 3))


def mood_words(mood: Mood, stats: ImageStatistics) -> str:
    if mood.valence > 0.25:
        feeling = "warm, content" if stats.warmth > 0.05 else "bright, cheerful"
    elif mood.valence < -0.25:
        lonely = stats.is_misty or stats.is_monochrome
        feeling = "melancholic, lonely" if lonely else "sombre, heavy"
    else:
        feeling = "neutral, observant"
    if mood.arousal > 0.3:
        energy = "energetic, tense"
    elif mood.arousal < -0.25:
        energy = "calm, still"
    else:
        energy = "steady"
    return f"{feeling}; {energy}"
