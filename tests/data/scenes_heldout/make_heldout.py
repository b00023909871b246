"""Draw the held-out scene set: pictures no describer rule was written for.

    .venv/bin/python tests/data/scenes_heldout/make_heldout.py

Deliberately different code from `tests/data/scenes_synth/make_scenes.py`: textures come from
fractal value noise, shapes from polygons, sizes and palettes differ. Scored only at milestones
(`scripts/score_scene_sets.py`); looking at these while writing rules would defeat the point.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).parent


def fractal(rng: np.random.Generator, h: int, w: int, octaves: int = 5) -> np.ndarray:
    """Value noise in 0..1: a sum of upsampled random grids."""
    out = np.zeros((h, w))
    amp, total = 1.0, 0.0
    for octave in range(octaves):
        cells = 2 ** (octave + 2)
        grid = rng.random((cells, cells))
        layer = (
            np.asarray(
                Image.fromarray((grid * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC),
                dtype=np.float64,
            )
            / 255.0
        )
        out += amp * layer
        total += amp
        amp *= 0.55
    return out / total


def vgrad(h: int, w: int, top, bottom) -> np.ndarray:
    t = np.linspace(0, 1, h)[:, None, None]
    return np.broadcast_to((1 - t) * np.array(top) + t * np.array(bottom), (h, w, 3)).copy()


def to_image(a: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def rocky_cove(rng):
    h, w = 427, 640
    a = vgrad(h, w, (120, 170, 225), (200, 220, 240))
    hz = 190
    n = fractal(rng, h, w)
    ys = np.arange(h)[:, None]
    xs = np.arange(w)[None, :]
    sea = ys >= hz
    ripple = np.sin(ys * 0.9 + 6 * n) * 0.5 + 0.5
    sea_rgb = np.stack([20 + 30 * ripple, 80 + 40 * ripple, 120 + 50 * ripple], -1)
    a = np.where(sea[..., None], sea_rgb, a)
    foam = sea & (ripple > 0.93) & (ys > hz + 60)
    a[foam] = (240, 245, 245)
    # rocks: grey noisy mass on the right, down into the water
    rock = (xs > 380 + 80 * n) & (ys > 140 + 0.15 * (xs - 380))
    g = 80 + 90 * fractal(rng, h, w, 6)
    a = np.where(rock[..., None], np.stack([g, g * 0.97, g * 0.92], -1), a)
    im = to_image(a)
    d = ImageDraw.Draw(im)
    for cx, cy in ((150, 70), (200, 55), (230, 95), (110, 100)):
        d.polygon(
            [(cx - 14, cy - 4), (cx, cy + 2), (cx + 14, cy - 4), (cx, cy - 1)],
            fill=(245, 245, 245),
            outline=(60, 60, 60),
        )
    return im.filter(ImageFilter.GaussianBlur(0.6))


def rain_street(rng):
    h, w = 480, 360
    a = vgrad(h, w, (110, 115, 125), (70, 72, 78))
    im = to_image(a)
    d = ImageDraw.Draw(im)
    # building facades with windows
    for x0, x1, top in ((0, 110, 60), (115, 230, 30), (235, 360, 80)):
        d.rectangle((x0, top, x1, 330), fill=(95 + x0 % 30, 85, 80))
        for wy in range(top + 15, 320, 35):
            for wx in range(x0 + 10, x1 - 15, 28):
                d.rectangle((wx, wy, wx + 14, wy + 20), fill=(200, 190, 140))
    d.rectangle((0, 330, w, h), fill=(55, 57, 60))  # wet road
    for y in range(360, h, 30):
        d.rectangle((170, y, 185, y + 14), fill=(210, 210, 200))
    a = np.asarray(im, dtype=np.float64)
    # reflections on the wet road
    refl = a[330 - (h - 330) : 330][::-1] * 0.35
    a[330:] = a[330:] * 0.7 + refl[: h - 330]
    im = to_image(a)
    d = ImageDraw.Draw(im)
    for _ in range(700):
        x, y = rng.integers(0, w), rng.integers(0, h)
        d.line((x, y, x - 4, y + 22), fill=(200, 205, 215), width=1)
    return im


def night_harbour(rng):
    h, w = 400, 600
    a = vgrad(h, w, (5, 8, 25), (25, 30, 60))
    hz = 230
    ys = np.arange(h)[:, None]
    n = fractal(rng, h, w)
    water = ys >= hz
    a = np.where(water[..., None], np.stack([10 + 20 * n, 15 + 25 * n, 40 + 40 * n], -1), a)
    im = to_image(a)
    d = ImageDraw.Draw(im)
    d.ellipse((480, 40, 520, 80), fill=(240, 240, 220))
    for x in range(40, 560, 110):
        d.polygon(
            [(x, hz + 10), (x + 70, hz + 10), (x + 60, hz + 30), (x + 10, hz + 30)],
            fill=(30, 25, 25),
        )
        d.line((x + 35, hz + 10, x + 35, hz - 70), fill=(60, 60, 60), width=2)
        d.ellipse((x + 32, hz - 75, x + 38, hz - 69), fill=(255, 200, 90))
        # light reflections
        for k in range(6):
            d.line(
                (x + 30, hz + 40 + 12 * k, x + 42, hz + 40 + 12 * k), fill=(200, 150, 70), width=2
            )
    d.rectangle((0, hz - 5, w, hz + 8), fill=(40, 35, 30))  # quay
    return im


def pine_forest(rng):
    h, w = 500, 500
    a = vgrad(h, w, (170, 200, 215), (90, 110, 70))
    im = to_image(a)
    d = ImageDraw.Draw(im)
    for _ in range(60):
        x = int(rng.integers(-20, w + 20))
        base = int(rng.integers(250, h + 40))
        hgt = int(rng.integers(150, 320))
        shade = int(rng.integers(30, 80))
        d.polygon(
            [(x, base - hgt), (x - hgt // 4, base), (x + hgt // 4, base)],
            fill=(shade // 2, shade + 30, shade // 2),
        )
        d.rectangle((x - 4, base, x + 4, base + 20), fill=(70, 50, 30))
    a = np.asarray(im, dtype=np.float64)
    a += (fractal(rng, h, w, 6)[..., None] - 0.5) * 40
    return to_image(a)


def storm_fields(rng):
    h, w = 400, 640
    n = fractal(rng, h, w, 6)
    hz = 250
    ys = np.arange(h)[:, None]
    sky = np.stack([40 + 60 * n, 45 + 60 * n, 55 + 65 * n], -1)
    field = np.stack([70 + 50 * n, 100 + 60 * n, 40 + 20 * n], -1)
    a = np.where((ys < hz)[..., None], sky, field)
    im = to_image(a)
    d = ImageDraw.Draw(im)
    pts = [(400, 30)]
    for _ in range(8):
        x, y = pts[-1]
        pts.append((x + int(rng.integers(-25, 25)), y + 28))
    d.line(pts, fill=(250, 250, 255), width=3)
    for _ in range(400):
        x, y = rng.integers(0, w), rng.integers(0, h)
        d.line((x, y, x + 3, y + 18), fill=(170, 175, 185), width=1)
    return im


def beach_crowd(rng):
    h, w = 420, 630
    a = vgrad(h, w, (90, 160, 230), (170, 210, 240))
    ys = np.arange(h)[:, None]
    n = fractal(rng, h, w)
    a = np.where(
        ((ys >= 150) & (ys < 230))[..., None],
        np.stack([30 + 40 * n, 110 + 40 * n, 160 + 40 * n], -1),
        a,
    )
    a = np.where(
        (ys >= 230)[..., None], np.stack([225 + 20 * n, 200 + 20 * n, 150 + 20 * n], -1), a
    )
    im = to_image(a)
    d = ImageDraw.Draw(im)
    palette = [(220, 40, 40), (40, 60, 200), (250, 220, 30), (30, 160, 60), (240, 240, 240)]
    for _ in range(40):
        x = int(rng.integers(10, w - 10))
        y = int(rng.integers(250, h - 20))
        s = int(6 + (y - 230) / 12)
        d.ellipse((x - s // 2, y - 3 * s, x + s // 2, y - 2 * s), fill=(200, 150, 110))
        d.rectangle((x - s // 2, y - 2 * s, x + s // 2, y), fill=palette[int(rng.integers(0, 5))])
    for _ in range(5):
        x = int(rng.integers(30, w - 60))
        y = int(rng.integers(240, 300))
        d.pieslice((x, y, x + 70, y + 40), 180, 360, fill=palette[int(rng.integers(0, 5))])
    return im


def foggy_lake(rng):
    h, w = 400, 600
    a = vgrad(h, w, (205, 208, 210), (185, 190, 195))
    hz = 210
    im = to_image(a)
    d = ImageDraw.Draw(im)
    for x in range(0, w, 7):
        top = hz - 30 - int(20 * np.sin(x / 40.0)) - int(rng.integers(0, 25))
        d.line((x, top, x, hz), fill=(150, 158, 155), width=7)
    a = np.asarray(im, dtype=np.float64)
    refl = a[hz - (h - hz) : hz][::-1]
    a[hz:] = 0.75 * refl[: h - hz] + 0.25 * np.array([170, 178, 185])
    a = a * 0.6 + 0.4 * np.array([210, 212, 214])
    return to_image(a).filter(ImageFilter.GaussianBlur(1.5))


def painted_sunset_sea(rng):
    h, w = 480, 720
    im = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(im)
    hz = 260
    # sky in broad brush strokes
    for _ in range(1500):
        y = int(rng.integers(0, hz))
        t = y / hz
        col = (int(250 - 40 * (1 - t)), int(120 + 60 * t), int(80 + 50 * (1 - t)))
        x = int(rng.integers(-40, w))
        d.line(
            (x, y, x + int(rng.integers(30, 90)), y + int(rng.integers(-4, 4))),
            fill=tuple(c + int(rng.integers(-15, 15)) for c in col),
            width=int(rng.integers(4, 10)),
        )
    for _ in range(2200):
        y = int(rng.integers(hz, h))
        x = int(rng.integers(-40, w))
        tone = int(rng.integers(-20, 20))
        col = (60 + tone, 80 + tone, 140 + tone) if rng.random() > 0.12 else (240, 200, 160)
        d.line((x, y, x + int(rng.integers(20, 70)), y), fill=col, width=int(rng.integers(3, 8)))
    d.ellipse((330, hz - 50, 410, hz + 30), fill=(255, 210, 120))
    d.rectangle((0, hz, w, hz + 2), fill=(200, 120, 90))
    return im.filter(ImageFilter.GaussianBlur(0.5))


def market_square(rng):
    h, w = 450, 600
    a = vgrad(h, w, (180, 200, 225), (150, 140, 130))
    im = to_image(a)
    d = ImageDraw.Draw(im)
    d.rectangle((0, 60, w, 220), fill=(170, 150, 120))  # facades
    for wx in range(20, w, 60):
        d.rectangle((wx, 90, wx + 25, 130), fill=(70, 60, 60))
    d.rectangle((0, 220, w, h), fill=(140, 130, 120))  # square
    stripes = [
        ((200, 30, 30), (240, 240, 240)),
        ((30, 120, 40), (240, 240, 220)),
        ((30, 60, 170), (250, 250, 250)),
    ]
    for i, x in enumerate(range(10, w - 100, 150)):
        a1, a2 = stripes[i % 3]
        for k in range(6):
            d.rectangle((x + 20 * k, 200, x + 20 * k + 20, 240), fill=a1 if k % 2 else a2)
        d.rectangle((x + 5, 240, x + 115, 300), fill=(120, 80, 50))
        for _ in range(12):
            fx, fy = x + int(rng.integers(10, 105)), 245 + int(rng.integers(0, 15))
            d.ellipse(
                (fx, fy, fx + 9, fy + 9),
                fill=[(240, 120, 20), (200, 20, 30), (250, 220, 40)][int(rng.integers(0, 3))],
            )
    for _ in range(30):
        x = int(rng.integers(0, w))
        y = int(rng.integers(320, h))
        d.ellipse((x - 6, y - 40, x + 6, y - 28), fill=(190, 140, 105))
        d.rectangle((x - 8, y - 28, x + 8, y), fill=tuple(int(c) for c in rng.integers(30, 220, 3)))
    return im


def river_valley(rng):
    h, w = 427, 640
    a = vgrad(h, w, (140, 185, 235), (215, 230, 245))
    ys = np.arange(h)[:, None]
    xs = np.arange(w)[None, :]
    n = fractal(rng, h, w, 6)
    hills = ys > 150 + 40 * np.sin(xs / 90.0) + 30 * n
    a = np.where(hills[..., None], np.stack([60 + 40 * n, 120 + 50 * n, 50 + 20 * n], -1), a)
    river = hills & (np.abs(xs - (320 + 80 * np.sin(ys / 60.0))) < 10 + (ys - 150) * 0.35)
    flow = np.sin(ys * 0.5 + xs * 0.05 + 5 * n)
    a = np.where(
        river[..., None], np.stack([110 + 40 * flow, 160 + 40 * flow, 200 + 30 * flow], -1), a
    )
    return to_image(a).filter(ImageFilter.GaussianBlur(0.7))


def snowy_slope(rng):
    h, w = 480, 640
    a = vgrad(h, w, (95, 140, 210), (190, 210, 235))
    ys = np.arange(h)[:, None]
    xs = np.arange(w)[None, :]
    n = fractal(rng, h, w, 6)
    ridge = ys > 120 + 0.4 * np.abs(xs - 300) + 30 * n
    snow = np.stack([225 + 25 * n, 230 + 22 * n, 240 + 15 * n], -1)
    a = np.where(ridge[..., None], snow, a)
    rocky = ridge & (n > 0.68) & (ys < 300)
    a[rocky] = (90, 85, 85)
    im = to_image(a)
    d = ImageDraw.Draw(im)
    for _ in range(18):  # a few dark firs at the bottom
        x, base = int(rng.integers(0, w)), int(rng.integers(400, h + 20))
        d.polygon([(x, base - 60), (x - 15, base), (x + 15, base)], fill=(25, 60, 40))
    return im


def ripples_closeup(rng):
    h, w = 400, 400
    ys = np.arange(h)[:, None]
    xs = np.arange(w)[None, :]
    r = np.hypot(xs - 180, ys - 220)
    wave = np.sin(r / 6.0) * np.exp(-r / 250.0)
    n = fractal(rng, h, w)
    a = np.stack([40 + 60 * wave + 30 * n, 100 + 70 * wave + 30 * n, 130 + 70 * wave + 30 * n], -1)
    spec = wave > 0.75
    a[spec] = (235, 240, 245)
    return to_image(a).filter(ImageFilter.GaussianBlur(1.0))


def desert_dunes(rng):
    h, w = 400, 640
    a = vgrad(h, w, (110, 165, 230), (225, 225, 220))
    ys = np.arange(h)[:, None]
    xs = np.arange(w)[None, :]
    n = fractal(rng, h, w, 6)
    dune = ys > 180 + 50 * np.sin(xs / 110.0 + 1.0) + 10 * n
    shade = 0.8 + 0.2 * np.sin(xs / 110.0 + ys / 50.0)
    sand = np.stack([225 * shade, 175 * shade, 110 * shade], -1) + (n[..., None] - 0.5) * 30
    a = np.where(dune[..., None], sand, a)
    return to_image(a)


SCENES = {
    "rocky_cove": (
        rocky_cove,
        {
            "scene": "waves breaking against grey rocks in a cove, gulls in the sky",
            "mood": {"valence": "positive", "arousal": "moderate"},
            "sources": [
                {
                    "concept": "sea",
                    "accept": ["sea", "wave", "surf", "ocean", "water", "splash", "tide"],
                },
                {"concept": "rocks", "accept": ["rock", "stone", "cliff", "boulder", "pebble"]},
                {
                    "concept": "gulls",
                    "accept": ["gull", "seagull", "bird", "seabird", "wind", "breeze"],
                },
            ],
            "absent": [
                "car",
                "traffic",
                "engine",
                "dog",
                "crowd",
                "piano",
                "thunder",
                "train",
                "room",
            ],
        },
    ),
    "rain_street": (
        rain_street,
        {
            "scene": "a city street in heavy rain, buildings with lit windows, wet road",
            "mood": {"valence": "negative", "arousal": "moderate"},
            "sources": [
                {
                    "concept": "rain",
                    "accept": [
                        "rain",
                        "raindrop",
                        "drizzle",
                        "downpour",
                        "patter",
                        "drip",
                        "shower",
                    ],
                },
                {
                    "concept": "street",
                    "accept": [
                        "street",
                        "road",
                        "traffic",
                        "car",
                        "tire",
                        "tyre",
                        "puddle",
                        "pavement",
                        "city",
                        "gutter",
                        "splash",
                    ],
                },
            ],
            "absent": ["bird", "wave", "sea", "cricket", "dog", "cow", "piano", "fire", "room"],
        },
    ),
    "night_harbour": (
        night_harbour,
        {
            "scene": "boats moored in a harbour at night under the moon, lights reflected",
            "mood": {"valence": "neutral", "arousal": "calm"},
            "sources": [
                {
                    "concept": "water",
                    "accept": [
                        "water",
                        "harbour",
                        "harbor",
                        "lap",
                        "ripple",
                        "wave",
                        "sea",
                        "splash",
                    ],
                },
                {
                    "concept": "boats",
                    "accept": [
                        "boat",
                        "hull",
                        "mast",
                        "rigging",
                        "creak",
                        "rope",
                        "mooring",
                        "yacht",
                        "ship",
                    ],
                },
                {"concept": "night", "accept": ["night", "wind", "breeze", "hum", "quiet", "quay"]},
            ],
            "absent": ["bird song", "crowd", "dog", "cow", "thunder", "piano", "traffic", "room"],
        },
    ),
    "pine_forest": (
        pine_forest,
        {
            "scene": "a dense pine forest",
            "mood": {"valence": "positive", "arousal": "calm"},
            "sources": [
                {
                    "concept": "trees",
                    "accept": [
                        "tree",
                        "pine",
                        "forest",
                        "leaf",
                        "leaves",
                        "needle",
                        "branch",
                        "rustle",
                        "woods",
                    ],
                },
                {
                    "concept": "wildlife",
                    "accept": ["bird", "birdsong", "insect", "owl", "woodpecker", "cricket"],
                },
                {"concept": "air", "accept": ["wind", "breeze", "air"]},
            ],
            "absent": ["car", "traffic", "crowd", "engine", "wave", "sea", "train", "room"],
        },
    ),
    "storm_fields": (
        storm_fields,
        {
            "scene": "lightning and rain from dark storm clouds over green fields",
            "mood": {"valence": "negative", "arousal": "energetic"},
            "sources": [
                {
                    "concept": "thunder",
                    "accept": ["thunder", "lightning", "storm", "rumble", "crack"],
                },
                {"concept": "rain", "accept": ["rain", "downpour", "patter", "shower", "drizzle"]},
                {"concept": "wind", "accept": ["wind", "gust", "gale", "grass", "field"]},
            ],
            "absent": ["car", "traffic", "crowd", "dog", "piano", "bird song", "sea", "room"],
        },
    ),
    "beach_crowd": (
        beach_crowd,
        {
            "scene": "a crowded sandy beach with people and umbrellas by the sea",
            "mood": {"valence": "positive", "arousal": "energetic"},
            "sources": [
                {
                    "concept": "people",
                    "accept": [
                        "people",
                        "crowd",
                        "voice",
                        "chatter",
                        "laughter",
                        "children",
                        "footstep",
                        "bather",
                        "murmur",
                    ],
                },
                {"concept": "sea", "accept": ["sea", "wave", "surf", "ocean", "water", "splash"]},
                {"concept": "beach", "accept": ["beach", "sand", "shore", "umbrella", "parasol"]},
            ],
            "absent": ["car", "traffic", "engine", "thunder", "cow", "train", "room", "snow"],
        },
    ),
    "foggy_lake": (
        foggy_lake,
        {
            "scene": "a grey lake in thick fog, a line of trees reflected",
            "mood": {"valence": "negative", "arousal": "calm"},
            "sources": [
                {"concept": "water", "accept": ["water", "lake", "lap", "ripple", "wave", "shore"]},
                {
                    "concept": "fog",
                    "accept": ["fog", "mist", "hush", "silence", "breeze", "wind", "air"],
                },
                {
                    "concept": "wildlife",
                    "accept": ["bird", "duck", "loon", "frog", "tree", "leaves"],
                },
            ],
            "absent": ["car", "traffic", "crowd", "engine", "thunder", "piano", "room", "dog"],
        },
    ),
    "painted_sunset_sea": (
        painted_sunset_sea,
        {
            "scene": "a painting of the sun setting over the sea, in broad brush strokes",
            "mood": {"valence": "positive", "arousal": "calm"},
            "sources": [
                {"concept": "sea", "accept": ["sea", "wave", "ocean", "water", "surf", "tide"]},
                {"concept": "air", "accept": ["wind", "breeze", "air", "gull", "bird", "evening"]},
            ],
            "absent": [
                "car",
                "traffic",
                "crowd",
                "engine",
                "thunder",
                "room",
                "roof",
                "dog",
                "train",
            ],
        },
    ),
    "market_square": (
        market_square,
        {
            "scene": "a busy market square with striped stalls, fruit and people",
            "mood": {"valence": "positive", "arousal": "energetic"},
            "sources": [
                {
                    "concept": "people",
                    "accept": [
                        "people",
                        "crowd",
                        "voice",
                        "chatter",
                        "footstep",
                        "murmur",
                        "shopper",
                        "vendor",
                        "talk",
                    ],
                },
                {
                    "concept": "market",
                    "accept": [
                        "market",
                        "stall",
                        "fruit",
                        "crate",
                        "awning",
                        "canvas",
                        "vendor",
                        "bargain",
                        "cart",
                    ],
                },
                {
                    "concept": "square",
                    "accept": [
                        "square",
                        "street",
                        "town",
                        "city",
                        "pavement",
                        "cobble",
                        "building",
                    ],
                },
            ],
            "absent": ["wave", "sea", "thunder", "cow", "cricket", "frog", "train", "rocket"],
        },
    ),
    "river_valley": (
        river_valley,
        {
            "scene": "a river winding through green hills under a blue sky",
            "mood": {"valence": "positive", "arousal": "calm"},
            "sources": [
                {
                    "concept": "river",
                    "accept": ["river", "water", "stream", "flow", "babble", "ripple", "current"],
                },
                {
                    "concept": "hills",
                    "accept": ["grass", "field", "meadow", "hill", "leaves", "tree"],
                },
                {"concept": "air", "accept": ["wind", "breeze", "bird", "air", "insect"]},
            ],
            "absent": ["car", "traffic", "crowd", "engine", "thunder", "room", "sea", "gull"],
        },
    ),
    "snowy_slope": (
        snowy_slope,
        {
            "scene": "a snow-covered mountain slope with rocks and a few firs, blue sky",
            "mood": {"valence": "positive", "arousal": "calm"},
            "sources": [
                {"concept": "snow", "accept": ["snow", "crunch", "ice", "frost", "ski"]},
                {"concept": "wind", "accept": ["wind", "gust", "breeze", "air"]},
                {
                    "concept": "mountain",
                    "accept": ["mountain", "rock", "stone", "fir", "tree", "pine", "slope"],
                },
            ],
            "absent": [
                "car",
                "traffic",
                "crowd",
                "wave",
                "sea",
                "thunder",
                "room",
                "cricket",
                "frog",
            ],
        },
    ),
    "ripples_closeup": (
        ripples_closeup,
        {
            "scene": "close-up of ripples spreading on water",
            "mood": {"valence": "neutral", "arousal": "calm"},
            "sources": [
                {
                    "concept": "water",
                    "accept": [
                        "water",
                        "ripple",
                        "drip",
                        "drop",
                        "splash",
                        "lap",
                        "pond",
                        "liquid",
                        "wave",
                    ],
                }
            ],
            "absent": ["car", "traffic", "crowd", "engine", "room", "dog", "thunder", "piano"],
        },
    ),
    "desert_dunes": (
        desert_dunes,
        {
            "scene": "sand dunes under a blue sky",
            "mood": {"valence": "positive", "arousal": "calm"},
            "sources": [
                {"concept": "wind", "accept": ["wind", "gust", "breeze", "air", "whistle"]},
                {"concept": "sand", "accept": ["sand", "dune", "desert", "grain", "hiss"]},
            ],
            "absent": [
                "car",
                "traffic",
                "crowd",
                "wave",
                "sea",
                "room",
                "thunder",
                "rain",
                "bird song",
            ],
        },
    ),
}


def main() -> None:
    (HERE / "images").mkdir(exist_ok=True)
    items = []
    for index, (stem, (paint, golden)) in enumerate(SCENES.items()):
        image = paint(np.random.default_rng(1000 + index))
        image.save(HERE / "images" / f"{stem}.jpg", quality=88)
        items.append({"image": f"images/{stem}.jpg", **golden})
    about = (
        "Held-out synthetic scenes (different generator from scenes_synth); score only at "
        "milestones."
    )
    (HERE / "heldout.json").write_text(json.dumps({"about": about, "images": items}, indent=1))


if __name__ == "__main__":
    main()
