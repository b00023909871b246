"""Paint examples/seaside.jpg: the project's own demo picture (a seaside at dusk, made here so
the demo needs no downloaded photo). Run: .venv/bin/python examples/make_seaside.py"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 960, 640
HORIZON, SHORE = 300, 470


def paint(seed: int = 3) -> Image.Image:
    rng = np.random.default_rng(seed)
    y = np.arange(HEIGHT)[:, None]
    x = np.arange(WIDTH)[None, :]
    canvas = np.zeros((HEIGHT, WIDTH, 3))
    # Sky: deep blue above, warm near the horizon.
    t = np.clip(y / HORIZON, 0, 1)[..., None]
    canvas[:] = (1 - t) * np.array([60, 110, 190]) + t * np.array([250, 190, 140])
    # Sea: blue-green with horizontal swell and foam lines.
    sea = (y >= HORIZON) & (y < SHORE)
    depth = np.clip((y - HORIZON) / (SHORE - HORIZON), 0, 1)
    swell = np.sin(x / 23.0 + y / 3.1 + rng.uniform(0, 6)) * np.sin(y / 7.0)
    sea_colour = (np.array([30, 90, 130])[None, None, :] * (1 - depth[..., None])
                  + np.array([60, 150, 160])[None, None, :] * depth[..., None]
                  + 25 * swell[..., None])
    canvas = np.where(sea[..., None], sea_colour, canvas)
    foam = sea & (np.abs(np.sin(y / 9.0 + np.sin(x / 40.0))) > 0.97) & (depth > 0.5)
    canvas[foam] = [235, 240, 240]
    # Sand with grain; wet sand darker near the water.
    sand = y >= SHORE
    wet = np.clip(1 - (y - SHORE) / 40.0, 0, 1)[..., None]
    sand_colour = (np.array([222, 196, 150]) * (1 - 0.35 * wet)
                   + rng.normal(0, 9, (HEIGHT, WIDTH, 3)))
    canvas = np.where(sand[..., None], sand_colour, canvas)
    canvas += rng.normal(0, 4, canvas.shape)  # canvas texture
    image = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.ellipse((650, 190, 730, 270), fill=(255, 220, 170))  # low sun
    for gx, gy, span in ((300, 120, 18), (340, 95, 14), (380, 130, 12)):  # gulls
        draw.line((gx - span, gy - 6, gx, gy, gx + span, gy - 6), fill=(40, 40, 50), width=3)
    return image.filter(ImageFilter.GaussianBlur(0.8))


if __name__ == "__main__":
    out = Path(__file__).with_name("seaside.jpg")
    paint().save(out, quality=90)
    print(out)
