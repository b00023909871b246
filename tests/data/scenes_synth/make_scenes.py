"""Draw the synthetic development scenes the `lite` describer's region rules are judged on.

    .venv/bin/python tests/data/scenes_synth/make_scenes.py

Each scene is a few bands of flat colour with Gaussian grain, plus drawn details (waves, rain
streaks, figures, trees, windows). Expected sources are in `synth.json`, in the golden format
of the shared scorer. The held-out set (`tests/data/scenes_heldout/`) is drawn by different code.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).parent
W, H = 480, 320


class Canvas:
    def __init__(self, seed: int, w: int = W, h: int = H) -> None:
        self.rng = np.random.default_rng(seed)
        self.w, self.h = w, h
        self.image = Image.new("RGB", (w, h))
        self.draw = ImageDraw.Draw(self.image)

    def band(self, top: int, bottom: int, colour, colour2=None) -> None:
        colour2 = colour2 or colour
        for y in range(top, bottom):
            t = (y - top) / max(1, bottom - top - 1)
            c = tuple(int(a + (b - a) * t) for a, b in zip(colour, colour2, strict=True))
            self.draw.line((0, y, self.w, y), fill=c)

    def grain(self, sigma: float, top: int = 0, bottom: int | None = None) -> None:
        a = np.asarray(self.image, dtype=np.float32)
        bottom = self.h if bottom is None else bottom
        a[top:bottom] += self.rng.normal(0, sigma, a[top:bottom].shape)
        self.image = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
        self.draw = ImageDraw.Draw(self.image)

    def waves(self, top: int, bottom: int, colour=(235, 240, 240), count: int = 40) -> None:
        for _ in range(count):
            y = int(self.rng.integers(top, bottom))
            x = int(self.rng.integers(0, self.w))
            length = int(10 + 60 * (y - top) / max(1, bottom - top))
            self.draw.line((x, y, x + length, y), fill=colour, width=2)

    def birds(self, n: int, top: int, bottom: int, colour=(40, 40, 45)) -> None:
        for _ in range(n):
            x = int(self.rng.integers(40, self.w - 40))
            y = int(self.rng.integers(top, bottom))
            s = int(self.rng.integers(6, 12))
            self.draw.line((x - s, y - s // 2, x, y, x + s, y - s // 2), fill=colour, width=2)

    def rain(self, n: int, colour=(200, 205, 215), slant: int = 3, length: int = 16) -> None:
        for _ in range(n):
            x, y = int(self.rng.integers(0, self.w)), int(self.rng.integers(0, self.h))
            self.draw.line((x, y, x + slant, y + length), fill=colour, width=1)

    def trees(self, n: int, base_lo: int, base_hi: int, leaf=(40, 110, 45)) -> None:
        for _ in range(n):
            x = int(self.rng.integers(0, self.w))
            base = int(self.rng.integers(base_lo, base_hi))
            r = int(self.rng.integers(18, 40))
            self.draw.rectangle((x - 3, base - r, x + 3, base), fill=(80, 55, 35))
            shade = tuple(int(c + self.rng.integers(-20, 20)) for c in leaf)
            self.draw.ellipse((x - r, base - 3 * r, x + r, base - r), fill=shade)

    def people(self, n: int, top: int, bottom: int) -> None:
        for _ in range(n):
            x = int(self.rng.integers(5, self.w - 5))
            y = int(self.rng.integers(top, bottom))
            s = max(3, int(4 + 10 * (y - top) / max(1, bottom - top)))
            shirt = tuple(int(c) for c in self.rng.integers(20, 230, 3))
            self.draw.ellipse((x - s, y - 5 * s, x + s, y - 3 * s), fill=(205, 160, 125))
            self.draw.rectangle((x - s, y - 3 * s, x + s, y), fill=shirt)

    def buildings(self, top_lo: int, base: int, lit: bool = False, colour=(120, 115, 110)) -> None:
        x = 0
        while x < self.w:
            bw = int(self.rng.integers(40, 90))
            top = int(self.rng.integers(top_lo, base - 40))
            c = tuple(int(v + self.rng.integers(-20, 20)) for v in colour)
            self.draw.rectangle((x, top, x + bw, base), fill=c)
            for wy in range(top + 8, base - 10, 18):
                for wx in range(x + 6, x + bw - 10, 14):
                    on = lit and self.rng.random() > 0.35
                    self.draw.rectangle(
                        (wx, wy, wx + 7, wy + 10), fill=(250, 210, 120) if on else (60, 65, 75)
                    )
            x += bw + 2

    def finish(self, blur: float = 0.6) -> Image.Image:
        return self.image.filter(ImageFilter.GaussianBlur(blur))


def seaside(seed, sunset=False):
    c = Canvas(seed)
    if sunset:
        c.band(0, 130, (70, 80, 150), (250, 150, 90))
    else:
        c.band(0, 130, (80, 140, 210), (190, 215, 235))
    c.band(130, 220, (30, 90, 140), (60, 140, 160))
    c.band(220, H, (220, 195, 150), (200, 175, 130))
    c.grain(5)
    c.waves(150, 225)
    c.birds(3, 25, 90)
    if sunset:
        c.draw.ellipse((300, 95, 350, 145), fill=(255, 210, 140))
    return c.finish()


def beach_people(seed):
    c = Canvas(seed)
    c.band(0, 110, (90, 150, 220), (180, 210, 235))
    c.band(110, 170, (40, 110, 160))
    c.band(170, H, (230, 205, 160))
    c.grain(5)
    c.waves(120, 172, count=25)
    c.people(25, 190, H - 5)
    return c.finish()


def harbour(seed):
    c = Canvas(seed)
    c.band(0, 150, (120, 165, 215), (200, 220, 235))
    c.band(150, H, (40, 80, 110), (30, 60, 90))
    c.grain(4)
    for x in range(30, W - 60, 95):
        c.draw.polygon(
            [(x, 200), (x + 70, 200), (x + 58, 222), (x + 10, 222)], fill=(230, 230, 225)
        )
        c.draw.line((x + 35, 200, x + 35, 110), fill=(90, 90, 90), width=2)
        c.draw.polygon([(x + 37, 115), (x + 37, 195), (x + 65, 195)], fill=(245, 245, 240))
    c.waves(230, H, colour=(90, 130, 160), count=30)
    c.birds(2, 30, 80)
    return c.finish()


def rain_city(seed):
    c = Canvas(seed)
    c.band(0, H, (100, 105, 115), (80, 82, 88))
    c.buildings(30, 230, colour=(105, 100, 100))
    c.band(230, H, (60, 62, 66))
    c.grain(4)
    c.rain(600)
    return c.finish(0.4)


def rain_meadow(seed):
    c = Canvas(seed)
    c.band(0, 140, (130, 135, 140), (160, 165, 168))
    c.band(140, H, (70, 110, 60), (50, 90, 45))
    c.grain(8, 140)
    c.rain(500, colour=(190, 195, 205))
    return c.finish(0.4)


def night_city(seed):
    c = Canvas(seed)
    c.band(0, H, (8, 10, 30), (20, 22, 45))
    c.buildings(40, 260, lit=True, colour=(25, 25, 35))
    c.band(260, H, (30, 30, 35))
    for x in range(0, W, 60):
        c.draw.ellipse((x, 280, x + 8, 286), fill=(255, 240, 200))
    c.grain(3)
    return c.finish(0.5)


def night_lake(seed):
    c = Canvas(seed)
    c.band(0, 170, (5, 8, 25), (20, 25, 55))
    c.band(170, H, (10, 15, 35), (5, 8, 20))
    c.draw.ellipse((330, 40, 370, 80), fill=(240, 240, 225))
    for k in range(8):
        c.draw.line((335, 185 + 15 * k, 365, 185 + 15 * k), fill=(170, 170, 150), width=2)
    c.grain(3)
    return c.finish()


def forest(seed):
    c = Canvas(seed)
    c.band(0, H, (90, 130, 80), (50, 80, 40))
    c.trees(70, 60, H + 60)
    c.grain(10)
    return c.finish(0.5)


def meadow(seed):
    c = Canvas(seed)
    c.band(0, 140, (90, 150, 220), (190, 215, 240))
    c.band(140, H, (100, 160, 60), (70, 130, 40))
    c.grain(12, 140)
    for _ in range(200):
        x, y = int(c.rng.integers(0, W)), int(c.rng.integers(150, H))
        c.draw.line((x, y, x + int(c.rng.integers(-2, 3)), y - 8), fill=(60, 120, 40), width=1)
    c.trees(4, 150, 160)
    return c.finish()


def crowd(seed):
    c = Canvas(seed)
    c.band(0, 100, (170, 190, 215))
    c.buildings(10, 130, colour=(160, 140, 120))
    c.band(130, H, (150, 145, 140))
    c.grain(4)
    c.people(90, 150, H - 2)
    return c.finish(0.4)


def snow_field(seed, falling=True):
    c = Canvas(seed)
    c.band(0, 130, (170, 180, 195), (200, 205, 215))
    c.band(130, H, (235, 238, 245), (220, 225, 235))
    c.grain(4)
    c.trees(6, 140, 170, leaf=(40, 70, 50))
    if falling:
        for _ in range(400):
            x, y = int(c.rng.integers(0, W)), int(c.rng.integers(0, H))
            c.draw.ellipse((x, y, x + 3, y + 3), fill=(250, 250, 255))
    return c.finish()


def snow_mountains(seed):
    c = Canvas(seed)
    c.band(0, H, (70, 130, 210), (160, 200, 235))
    for x0, peak, x1 in ((-60, 60, 250), (150, 40, 460), (320, 90, 560)):
        c.draw.polygon([(x0, H), ((x0 + x1) // 2, peak), (x1, H)], fill=(110, 105, 110))
        c.draw.polygon(
            [
                ((x0 + x1) // 2 - 60, peak + 60),
                ((x0 + x1) // 2, peak),
                ((x0 + x1) // 2 + 60, peak + 60),
            ],
            fill=(245, 245, 250),
        )
    c.band(250, H, (240, 242, 248))
    c.grain(6)
    return c.finish()


def storm_sea(seed):
    c = Canvas(seed)
    c.band(0, 150, (40, 42, 50), (80, 85, 95))
    c.band(150, H, (30, 45, 55), (20, 30, 40))
    c.grain(10)
    c.waves(160, H, colour=(200, 210, 215), count=70)
    x, y = 200, 0
    points = [(x, y)]
    while y < 140:
        x += int(c.rng.integers(-15, 15))
        y += 20
        points.append((x, y))
    c.draw.line(points, fill=(250, 250, 255), width=3)
    c.rain(300, colour=(140, 145, 155))
    return c.finish(0.4)


def market(seed):
    c = Canvas(seed)
    c.band(0, 90, (180, 200, 225))
    c.buildings(10, 150, colour=(170, 150, 125))
    c.band(150, H, (130, 125, 115))
    for x in range(0, W, 120):
        colour = [(200, 40, 40), (40, 130, 60), (230, 180, 30), (40, 80, 180)][(x // 120) % 4]
        for k in range(5):
            c.draw.rectangle(
                (x + 20 * k, 140, x + 20 * k + 20, 170), fill=colour if k % 2 else (240, 240, 235)
            )
        c.draw.rectangle((x + 5, 170, x + 95, 215), fill=(130, 90, 50))
        for _ in range(10):
            fx, fy = x + int(c.rng.integers(10, 85)), 172 + int(c.rng.integers(0, 12))
            c.draw.ellipse((fx, fy, fx + 8, fy + 8), fill=(240, 130, 30))
    c.people(40, 230, H - 2)
    c.grain(4)
    return c.finish(0.4)


def calm_lake(seed):
    c = Canvas(seed)
    c.band(0, 100, (110, 160, 215), (190, 210, 230))
    c.trees(20, 150, 165, leaf=(50, 100, 55))
    c.band(165, H, (60, 110, 150), (40, 80, 120))
    a = np.asarray(c.image, dtype=np.float32)
    a[165 : 165 + 100] = 0.5 * a[165:65:-1] + 0.5 * a[165 : 165 + 100]  # reflections
    c.image = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    c.draw = ImageDraw.Draw(c.image)
    c.grain(3)
    return c.finish()


def rocky_shore(seed):
    c = Canvas(seed)
    c.band(0, 120, (100, 150, 210), (180, 205, 230))
    c.band(120, H, (35, 95, 140), (50, 120, 150))
    c.waves(130, H, count=50)
    for _ in range(14):
        x, y = int(c.rng.integers(0, W)), int(c.rng.integers(200, H))
        r = int(c.rng.integers(20, 50))
        g = int(c.rng.integers(70, 130))
        c.draw.ellipse((x - r, y - r // 2, x + r, y + r), fill=(g, g - 5, g - 10))
    c.grain(8)
    return c.finish()


def fog_field(seed):
    c = Canvas(seed)
    c.band(0, H, (200, 203, 205), (175, 180, 178))
    c.trees(8, 170, 190, leaf=(160, 168, 165))
    c.band(190, H, (165, 172, 165), (150, 160, 150))
    c.grain(2)
    return c.finish(2.0)


def painted_lake(seed):
    c = Canvas(seed)
    for _ in range(900):
        y = int(c.rng.integers(0, 140))
        x = int(c.rng.integers(-30, W))
        col = (int(150 + c.rng.integers(-20, 20)), int(190 + c.rng.integers(-20, 20)), 230)
        c.draw.line((x, y, x + int(c.rng.integers(20, 60)), y), fill=col, width=6)
    for _ in range(1200):
        y = int(c.rng.integers(140, H))
        x = int(c.rng.integers(-30, W))
        col = (
            int(40 + c.rng.integers(-15, 15)),
            int(90 + c.rng.integers(-15, 15)),
            int(150 + c.rng.integers(-20, 20)),
        )
        c.draw.line((x, y, x + int(c.rng.integers(20, 60)), y), fill=col, width=5)
    return c.finish(0.8)


def closeup_grass(seed):
    c = Canvas(seed)
    c.band(0, H, (60, 110, 40), (40, 80, 30))
    for _ in range(500):
        x = int(c.rng.integers(0, W))
        y = int(c.rng.integers(40, H + 40))
        g = int(c.rng.integers(100, 200))
        c.draw.line(
            (x, y, x + int(c.rng.integers(-15, 15)), y - int(c.rng.integers(40, 120))),
            fill=(g // 3, g, g // 4),
            width=3,
        )
    return c.finish(0.5)


def closeup_water(seed):
    c = Canvas(seed)
    c.band(0, H, (40, 110, 150), (30, 90, 130))
    for _ in range(60):
        y = int(c.rng.integers(0, H))
        x = int(c.rng.integers(0, W))
        c.draw.arc((x - 40, y - 8, x + 40, y + 8), 0, 180, fill=(180, 220, 235), width=2)
    c.grain(3)
    return c.finish(1.0)


def city_street(seed):
    c = Canvas(seed)
    c.band(0, 80, (140, 180, 225))
    c.buildings(5, 210, colour=(150, 135, 120))
    c.band(210, H, (90, 90, 95))
    for x in range(0, W, 80):
        c.draw.rectangle((x + 30, 262, x + 60, 268), fill=(230, 230, 220))
    for x in (60, 250, 380):
        c.draw.rectangle(
            (x, 225, x + 70, 252), fill=tuple(int(v) for v in c.rng.integers(40, 220, 3))
        )
        c.draw.ellipse((x + 8, 245, x + 22, 259), fill=(20, 20, 20))
        c.draw.ellipse((x + 48, 245, x + 62, 259), fill=(20, 20, 20))
    c.grain(4)
    return c.finish(0.4)


def desert(seed):
    c = Canvas(seed)
    c.band(0, 140, (90, 150, 225), (200, 215, 230))
    c.band(140, H, (225, 185, 125), (200, 160, 100))
    for k in range(6):
        y = 160 + 25 * k
        c.draw.arc(
            (-100 + 40 * k, y - 30, 300 + 40 * k, y + 30), 180, 360, fill=(185, 145, 90), width=3
        )
    c.grain(6)
    return c.finish()


def sunset_field(seed):
    c = Canvas(seed)
    c.band(0, 170, (90, 70, 130), (250, 160, 80))
    c.band(170, H, (90, 80, 40), (50, 45, 25))
    c.draw.ellipse((200, 140, 260, 200), fill=(255, 200, 120))
    c.band(170, H, (90, 80, 40), (50, 45, 25))
    c.grain(8, 170)
    return c.finish()


SEA = {"concept": "sea", "accept": ["sea", "wave", "surf", "ocean", "water", "tide", "splash"]}
BEACH = {"concept": "beach", "accept": ["beach", "sand", "shore", "pebble"]}
GULLS = {"concept": "birds", "accept": ["gull", "seagull", "bird", "seabird"]}
AIR = {"concept": "air", "accept": ["wind", "breeze", "air", "gust"]}
RAIN = {
    "concept": "rain",
    "accept": ["rain", "raindrop", "drizzle", "downpour", "patter", "drip", "shower"],
}
STREET = {
    "concept": "street",
    "accept": ["street", "road", "traffic", "car", "city", "pavement", "town", "building"],
}
PEOPLE = {
    "concept": "people",
    "accept": ["people", "crowd", "voice", "chatter", "footstep", "murmur", "talk"],
}
TREES = {
    "concept": "trees",
    "accept": ["tree", "forest", "leaf", "leaves", "branch", "rustle", "woods", "foliage"],
}
GRASS = {"concept": "grass", "accept": ["grass", "meadow", "field", "rustle", "leaves", "foliage"]}
WILD = {
    "concept": "wildlife",
    "accept": ["bird", "birdsong", "insect", "cricket", "frog", "owl", "bee"],
}
LAKE = {"concept": "water", "accept": ["water", "lake", "lap", "ripple", "wave", "shore", "pond"]}
SNOW = {"concept": "snow", "accept": ["snow", "crunch", "ice", "frost", "snowfall"]}
NIGHT = {
    "concept": "night",
    "accept": ["night", "hum", "cricket", "owl", "quiet", "wind", "breeze"],
}
URBAN_ABSENT = ["wave", "sea", "cow", "frog", "cricket", "thunder", "rocket", "room"]
NATURE_ABSENT = ["car", "traffic", "engine", "crowd", "train", "rocket", "room", "piano"]


def g(scene, valence, arousal, sources, absent):
    return {
        "scene": scene,
        "mood": {"valence": valence, "arousal": arousal},
        "sources": sources,
        "absent": absent,
    }


SCENES = {
    "seaside_day": (
        lambda: seaside(1),
        g(
            "sea, beach and gulls in daylight",
            "positive",
            "calm",
            [SEA, BEACH, GULLS],
            NATURE_ABSENT + ["thunder"],
        ),
    ),
    "seaside_sunset": (
        lambda: seaside(2, sunset=True),
        g(
            "sea and beach at sunset, gulls",
            "positive",
            "calm",
            [SEA, BEACH, GULLS],
            NATURE_ABSENT + ["thunder"],
        ),
    ),
    "beach_people": (
        lambda: beach_people(3),
        g(
            "a beach full of people by the sea",
            "positive",
            "energetic",
            [SEA, BEACH, PEOPLE],
            ["car", "traffic", "engine", "thunder", "room", "cow", "snow"],
        ),
    ),
    "harbour": (
        lambda: harbour(4),
        g(
            "sailing boats moored in a harbour",
            "positive",
            "calm",
            [
                LAKE | {"accept": LAKE["accept"] + ["sea", "harbour", "harbor"]},
                {
                    "concept": "boats",
                    "accept": ["boat", "sail", "mast", "rigging", "hull", "rope", "yacht"],
                },
                {"concept": "air", "accept": ["wind", "breeze", "gull", "bird", "air"]},
            ],
            ["car", "traffic", "crowd", "thunder", "room", "cow", "piano"],
        ),
    ),
    "rain_city": (
        lambda: rain_city(5),
        g(
            "rain falling on a grey city street",
            "negative",
            "moderate",
            [RAIN, STREET],
            URBAN_ABSENT + ["bird"],
        ),
    ),
    "rain_meadow": (
        lambda: rain_meadow(6),
        g("rain over a green meadow", "negative", "calm", [RAIN, GRASS], NATURE_ABSENT + ["sea"]),
    ),
    "night_city": (
        lambda: night_city(7),
        g(
            "a city skyline at night with lit windows",
            "neutral",
            "calm",
            [
                STREET,
                {
                    "concept": "night",
                    "accept": ["night", "hum", "distant", "siren", "wind", "quiet"],
                },
            ],
            URBAN_ABSENT + ["bird"],
        ),
    ),
    "night_lake": (
        lambda: night_lake(8),
        g(
            "moonlight over a lake at night",
            "neutral",
            "calm",
            [LAKE, NIGHT],
            NATURE_ABSENT + ["bird song"],
        ),
    ),
    "forest": (
        lambda: forest(9),
        g(
            "a dense leafy forest",
            "positive",
            "calm",
            [TREES, WILD, AIR],
            NATURE_ABSENT + ["sea", "wave"],
        ),
    ),
    "meadow": (
        lambda: meadow(10),
        g(
            "a green meadow under a blue sky",
            "positive",
            "calm",
            [GRASS, WILD, AIR],
            NATURE_ABSENT + ["sea", "wave"],
        ),
    ),
    "crowd": (
        lambda: crowd(11),
        g(
            "a crowd of people in a town square",
            "positive",
            "energetic",
            [PEOPLE, STREET],
            URBAN_ABSENT,
        ),
    ),
    "snow_falling": (
        lambda: snow_field(12),
        g(
            "snow falling on a white field with a few firs",
            "neutral",
            "calm",
            [SNOW, AIR],
            NATURE_ABSENT + ["sea", "wave", "cricket"],
        ),
    ),
    "snow_still": (
        lambda: snow_field(13, falling=False),
        g(
            "a snowy field under grey sky",
            "neutral",
            "calm",
            [SNOW, AIR],
            NATURE_ABSENT + ["sea", "wave", "cricket"],
        ),
    ),
    "snow_mountains": (
        lambda: snow_mountains(14),
        g(
            "snow-capped rocky mountains",
            "positive",
            "calm",
            [
                SNOW,
                AIR,
                {"concept": "rock", "accept": ["rock", "stone", "mountain", "cliff", "scree"]},
            ],
            NATURE_ABSENT + ["sea", "cricket"],
        ),
    ),
    "storm_sea": (
        lambda: storm_sea(15),
        g(
            "a storm with lightning over rough sea",
            "negative",
            "energetic",
            [
                SEA,
                {"concept": "thunder", "accept": ["thunder", "lightning", "storm", "rumble"]},
                RAIN | {"accept": RAIN["accept"] + ["wind", "gale", "gust"]},
            ],
            ["car", "traffic", "crowd", "room", "piano", "bird song", "cow"],
        ),
    ),
    "market": (
        lambda: market(16),
        g(
            "a busy market with stalls and people",
            "positive",
            "energetic",
            [
                PEOPLE,
                {
                    "concept": "market",
                    "accept": ["market", "stall", "fruit", "awning", "vendor", "crate", "canvas"],
                },
                STREET,
            ],
            ["wave", "sea", "thunder", "cow", "cricket", "frog", "rocket"],
        ),
    ),
    "calm_lake": (
        lambda: calm_lake(17),
        g(
            "a calm lake with trees reflected",
            "positive",
            "calm",
            [LAKE, TREES | {"accept": TREES["accept"] + ["bird"]}, AIR],
            NATURE_ABSENT + ["thunder"],
        ),
    ),
    "rocky_shore": (
        lambda: rocky_shore(18),
        g(
            "waves around rocks on the shore",
            "positive",
            "moderate",
            [
                SEA,
                {"concept": "rock", "accept": ["rock", "stone", "boulder", "pebble"]},
                AIR | {"accept": AIR["accept"] + ["gull", "bird"]},
            ],
            NATURE_ABSENT + ["thunder"],
        ),
    ),
    "fog_field": (
        lambda: fog_field(19),
        g(
            "a field and trees in thick fog",
            "negative",
            "calm",
            [
                {
                    "concept": "fog",
                    "accept": ["fog", "mist", "hush", "breeze", "wind", "air", "silence"],
                },
                TREES | {"accept": TREES["accept"] + ["grass", "field", "bird"]},
            ],
            NATURE_ABSENT + ["thunder", "sea"],
        ),
    ),
    "painted_lake": (
        lambda: painted_lake(20),
        g(
            "a painting of water under a blue sky",
            "positive",
            "calm",
            [
                LAKE | {"accept": LAKE["accept"] + ["sea"]},
                AIR | {"accept": AIR["accept"] + ["bird"]},
            ],
            NATURE_ABSENT + ["roof", "thunder"],
        ),
    ),
    "closeup_grass": (
        lambda: closeup_grass(21),
        g(
            "close-up of grass blades",
            "positive",
            "calm",
            [GRASS, WILD | {"accept": WILD["accept"] + ["wind", "breeze"]}],
            NATURE_ABSENT + ["sea", "wave"],
        ),
    ),
    "closeup_water": (
        lambda: closeup_water(22),
        g(
            "close-up of rippling water",
            "neutral",
            "calm",
            [LAKE | {"accept": LAKE["accept"] + ["drip", "splash", "liquid", "stream", "sea"]}],
            NATURE_ABSENT + ["thunder"],
        ),
    ),
    "city_street": (
        lambda: city_street(23),
        g(
            "a city street with cars in daylight",
            "neutral",
            "moderate",
            [
                STREET,
                {"concept": "cars", "accept": ["car", "traffic", "engine", "horn", "tyre", "tire"]},
            ],
            ["wave", "sea", "cow", "frog", "cricket", "thunder", "rain"],
        ),
    ),
    "desert": (
        lambda: desert(24),
        g(
            "sand dunes under a blue sky",
            "positive",
            "calm",
            [{"concept": "sand", "accept": ["sand", "dune", "desert", "grain"]}, AIR],
            ["car", "traffic", "crowd", "wave", "sea", "room", "thunder", "rain", "frog"],
        ),
    ),
    "sunset_field": (
        lambda: sunset_field(25),
        g(
            "sunset over a dark field",
            "positive",
            "calm",
            [
                GRASS | {"accept": GRASS["accept"] + ["crop", "wheat"]},
                AIR | {"accept": AIR["accept"] + ["cricket", "bird", "insect", "evening"]},
            ],
            NATURE_ABSENT + ["sea", "thunder"],
        ),
    ),
    "seaside_far": (
        lambda: seaside(26),
        g(
            "sea, beach and gulls",
            "positive",
            "calm",
            [SEA, BEACH, GULLS],
            NATURE_ABSENT + ["thunder"],
        ),
    ),
}


def main() -> None:
    (HERE / "images").mkdir(exist_ok=True)
    items = []
    for stem, (paint, golden) in SCENES.items():
        paint().save(HERE / "images" / f"{stem}.jpg", quality=88)
        items.append({"image": f"images/{stem}.jpg", **golden})
    about = "Synthetic development scenes for the lite describer's region rules (PIL-drawn)."
    (HERE / "synth.json").write_text(json.dumps({"about": about, "images": items}, indent=1))


if __name__ == "__main__":
    main()
