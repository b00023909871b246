"""Regions and conditions read from pixels, on pictures drawn here; and the rules built on them."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from services.vlm.grounding import ground
from services.vlm.knowledge import load_knowledge, load_region_sources
from services.vlm.landscape import read_landscape
from services.vlm.regions import RegionReading, read_regions
from services.vlm.scene_words import measure

W, H = 360, 240


def _bands(*bands: tuple[float, tuple[int, int, int]], grain: float = 3.0,
           seed: int = 0) -> np.ndarray:
    """Horizontal bands of colour, top to bottom: (share of the height, rgb)."""
    rng = np.random.default_rng(seed)
    pixels = np.zeros((H, W, 3), np.float32)
    top = 0
    for share, colour in bands:
        bottom = min(H, top + round(share * H))
        pixels[top:bottom] = colour
        top = bottom
    return pixels + rng.normal(0, grain, pixels.shape)


def _image(pixels: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _seaside(birds: int = 3) -> Image.Image:
    image = _image(_bands((0.4, (110, 160, 220)), (0.3, (30, 100, 150)), (0.3, (220, 195, 150))))
    draw = ImageDraw.Draw(image)
    rng = np.random.default_rng(1)
    for _ in range(40):  # foam streaks
        y, x = int(rng.integers(100, 165)), int(rng.integers(0, W))
        draw.line((x, y, x + 30, y), fill=(235, 240, 240), width=2)
    for i in range(birds):
        x, y = 80 + 60 * i, 30 + 10 * i
        draw.line((x - 8, y - 4, x, y, x + 8, y - 4), fill=(40, 40, 45), width=2)
    return image


def test_a_seaside_has_sky_sea_sand_and_birds():
    reading = read_regions(_seaside())
    assert reading.landscape and reading.flat_horizon
    assert reading.horizon == pytest.approx(0.4, abs=0.05)
    assert reading.water > 0.2 and reading.sand > 0.2 and reading.waves > 0.03
    assert reading.birds >= 2
    assert reading.rain == 0.0 and reading.storm == 0.0 and reading.night == 0.0


def test_birds_are_counted_only_when_drawn():
    assert read_regions(_seaside(birds=0)).birds == 0


@pytest.mark.parametrize("kind", ["grey", "noise", "black", "white", "skin"])
def test_featureless_pictures_show_no_landscape(kind):
    rng = np.random.default_rng(7)
    pixels = {
        "grey": np.full((H, W, 3), 128, np.uint8),
        "noise": rng.integers(0, 256, (H, W, 3), dtype=np.uint8),
        "black": np.zeros((H, W, 3), np.uint8),
        "white": np.full((H, W, 3), 255, np.uint8),
        "skin": np.full((H, W, 3), (205, 160, 125), np.uint8),
    }[kind]
    reading = read_regions(Image.fromarray(pixels))
    assert reading.water == 0.0 and reading.sand == 0.0 and reading.people == 0
    assert reading.rain == 0.0 and reading.birds == 0 and not reading.lightning
    evidence = read_landscape(reading)
    assert not {"sea", "beach", "crowd", "rain", "thunder"} & {s for s, _ in evidence.sources}


def test_rain_streaks_all_over_are_rain_and_a_few_lines_are_not():
    def streaked(n: int) -> Image.Image:
        image = _image(_bands((0.45, (125, 130, 135)), (0.55, (70, 110, 60)), grain=2))
        draw = ImageDraw.Draw(image)
        rng = np.random.default_rng(3)
        for _ in range(n):
            x, y = int(rng.integers(0, W)), int(rng.integers(0, H))
            draw.line((x, y, x + 2, y + 14), fill=(205, 210, 220), width=1)
        return image

    assert read_regions(streaked(500)).rain > 0.5
    assert read_regions(streaked(8)).rain == 0.0


def test_snow_under_sky_and_green_ground():
    snow = read_regions(_image(_bands((0.4, (150, 170, 200)), (0.6, (240, 242, 248)))))
    assert snow.snow > 0.4 and snow.water == 0.0
    field = read_regions(_image(_bands((0.4, (110, 160, 220)), (0.6, (80, 150, 50)),
                                       grain=10)))
    assert field.grass > 0.4 and field.water == 0.0 and field.snow == 0.0


def test_night_and_storm_light():
    night = read_regions(_image(_bands((0.6, (8, 10, 30)), (0.4, (20, 20, 25)))))
    assert night.night > 0.7
    stormy = _image(_bands((0.5, (45, 48, 55)), (0.5, (30, 45, 55)), grain=6))
    ImageDraw.Draw(stormy).line([(150, 0), (160, 30), (145, 60), (158, 95)],
                                fill=(250, 250, 255), width=3)
    reading = read_regions(stormy)
    assert reading.lightning and reading.storm >= 0.5


def test_still_water_mirrors_what_stands_above_it():
    pixels = _bands((0.3, (120, 165, 215)), (0.2, (50, 100, 55)), (0.5, (60, 110, 150)))
    rng = np.random.default_rng(5)
    for x in rng.integers(0, W, 12):  # tree crowns of varying height above the water line
        height = int(rng.integers(20, 60))
        pixels[120 - height:120, x:x + 14] = (30, 80, 40)
    pixels[120:240] = 0.6 * pixels[120:0:-1] + 0.4 * pixels[120:240]
    reading = read_regions(_image(pixels))
    assert reading.reflection >= 0.7 and reading.water > 0.1


def test_landscape_rules_name_the_sea_a_beach_and_gulls():
    evidence = read_landscape(read_regions(_seaside()))
    assert evidence.place == "sea" and evidence.outdoors
    said = {source_id for source_id, _ in evidence.sources}
    assert {"beach", "gulls"} <= said
    assert all(0.3 <= confidence <= 0.95 for _, confidence in evidence.sources)


def test_weather_sources_come_only_with_their_evidence():
    calm = read_landscape(RegionReading(sky=0.4, horizon=0.4, flat_horizon=True))
    assert {s for s, _ in calm.sources} == {"breeze"}
    wet = read_landscape(RegionReading(sky=0.4, horizon=0.4, flat_horizon=True, rain=0.9,
                                       storm=0.8, lightning=True))
    assert {"rain", "thunder", "storm_wind"} <= {s for s, _ in wet.sources}
    assert wet.stormy
    indoors = read_landscape(RegionReading(people=20))
    assert not indoors.outdoors and {s for s, _ in indoors.sources} == {"crowd"}


def test_every_region_source_is_in_the_table():
    table = load_region_sources()
    reading = RegionReading(sky=0.4, horizon=0.4, flat_horizon=True, water=0.3, sand=0.2,
                            rock=0.1, snow=0.3, rain=0.9, storm=0.9, fog=0.9, people=30,
                            birds=3, waves=0.1)
    for source_id, _ in read_landscape(reading).sources:
        assert source_id in table


def test_outdoors_an_indoor_object_needs_strong_evidence_and_no_room_is_named():
    knowledge = load_knowledge()

    def views(classes: dict[str, float]) -> np.ndarray:
        probs = np.full(1000, (1.0 - sum(classes.values())) / 1000)
        for name, p in classes.items():
            probs[knowledge.class_names.index(name)] += p
        return np.stack([probs] * 6)

    image = _seaside()
    stats = measure(image)
    landscape = read_landscape(read_regions(image))
    weak_clock = views({"digital clock": 0.5})
    indoors = ground(knowledge, weak_clock, stats, n_global_views=2, min_confidence=0.3)
    outdoors = ground(knowledge, weak_clock, stats, n_global_views=2, min_confidence=0.3,
                      landscape=landscape)
    assert "digital clock" in [s.name for s in indoors.sources]
    names = [s.name for s in outdoors.sources]
    assert "digital clock" not in names and "room" not in names
    assert "sea waves" in names and "sandy beach" in names
    sure_dog = views({"golden retriever": 0.85})
    assert "dog" in [s.name for s in ground(knowledge, sure_dog, stats, n_global_views=2,
                                            min_confidence=0.3, landscape=landscape).sources]
