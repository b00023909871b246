"""What the pixels say about a picture's regions and conditions, without a classifier.

ImageNet has no class for the sea, a beach, rain or a crowd, yet those are what a listener hears
first. This module reads them from colour, position and texture on a small copy of the picture:

- regions: sky (smooth, connected to the top edge), water (a band under the sky: blue or
  mirrored, with horizontal structure; or a close-up of blue ripples filling the frame), sand,
  grass and foliage, snow, rock, buildings (long straight vertical *and* horizontal edges);
- conditions: rain (thin, pale, near-vertical streaks all over), fog (bright, flat, colourless),
  storm (dark grey sky, lightning: a thin bright jagged line), night, sunset;
- details: birds (small dark marks inside the sky), people (many small skin-coloured blobs),
  waves (pale horizontal streaks in the water), reflections (the band above the horizon
  mirrored below it);
- framing: landscape (sky and a horizon) or close-up (no sky).

Every number is a fraction or a 0..1 strength; `services.vlm.landscape` turns them into sound
sources. Costs ~5-10 ms on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

ANALYSIS_LONG_SIDE_PX = 192
# Rain streaks are a pixel wide: they are looked for on a larger grey copy.
RAIN_LONG_SIDE_PX = 384
SMOOTH_TEXTURE = 0.035  # mean luma step (5x5 window) under which a patch counts as smooth
SKY_MIN_TOUCH = 0.6  # the sky must touch at least this share of the top edge


@dataclass(frozen=True)
class RegionReading:
    """Fractions of the whole picture (regions) and 0..1 strengths (conditions)."""

    sky: float = 0.0
    water: float = 0.0
    sand: float = 0.0
    grass: float = 0.0  # green ground under the sky
    foliage: float = 0.0  # green masses: trees, hedges, leaves filling the frame
    snow: float = 0.0
    rock: float = 0.0
    built: float = 0.0  # buildings and other rectilinear structures
    waves: float = 0.0  # pale horizontal streaks in the water, as a share of it
    reflection: float = 0.0  # correlation of the band above the horizon with its mirror below
    rain: float = 0.0
    fog: float = 0.0
    storm: float = 0.0
    lightning: bool = False
    night: float = 0.0
    sunset: float = 0.0
    birds: int = 0
    people: int = 0
    horizon: float | None = None  # height of the sky's lower edge, 0 top .. 1 bottom
    flat_horizon: bool = False  # the sky ends on a level line across most of the width
    close_up_water: bool = False

    @property
    def landscape(self) -> bool:
        """Open sky above a horizon: the picture shows a place, not a thing."""
        return (self.horizon is not None and self.horizon < 0.85
                and (self.sky >= 0.25 or (self.sky >= 0.12 and self.flat_horizon)))

    @property
    def outdoors(self) -> bool:
        skyline = self.sky >= 0.1 and self.built >= 0.15
        return (self.landscape or skyline or self.close_up_water or self.foliage >= 0.5
                or self.grass >= 0.5)


def _box(a: np.ndarray, size: int) -> np.ndarray:
    return ndimage.uniform_filter(a, size=size, mode="nearest")


def _touching_top(mask: np.ndarray) -> np.ndarray:
    labels, _ = ndimage.label(mask)
    top_labels = np.unique(labels[0][labels[0] > 0])
    return np.isin(labels, top_labels) if top_labels.size else np.zeros_like(mask)


def _touching_bottom(mask: np.ndarray) -> np.ndarray:
    labels, _ = ndimage.label(mask)
    ids = np.unique(labels[-1][labels[-1] > 0])
    return np.isin(labels, ids) if ids.size else np.zeros_like(mask)


def _small_blobs(mask: np.ndarray, min_px: int, max_px: int) -> int:
    labels, count = ndimage.label(mask)
    if count == 0:
        return 0
    sizes = np.bincount(labels.ravel())[1:]
    return int(((sizes >= min_px) & (sizes <= max_px)).sum())


def _rain_strength(image: Image.Image) -> float:
    """Share of pixels on thin pale near-vertical streaks, if they cover most of the picture."""
    scale = RAIN_LONG_SIDE_PX / max(image.size)
    size = (max(16, round(image.width * scale)), max(16, round(image.height * scale)))
    small = image.resize(size, Image.BILINEAR)
    luma = np.asarray(small.convert("L"), dtype=np.float32) / 255.0
    sat = np.asarray(small.convert("HSV"), dtype=np.float32)[..., 1] / 255.0
    # A ridge pixel is brighter than the pixels two to either side; a streak pixel is a pale
    # ridge continued two and four rows below (allowing a slant): a short thin falling line.
    ridge = np.zeros_like(luma, dtype=bool)
    ridge[:, 2:-2] = (luma[:, 2:-2] - np.maximum(luma[:, :-4], luma[:, 4:])) > 0.04

    def continued(rows_down: int, slant: int) -> np.ndarray:
        out = np.zeros_like(ridge)
        for shift in range(-slant, slant + 1):
            moved = np.roll(ridge, (-rows_down, shift), axis=(0, 1))
            moved[-rows_down:] = False
            out |= moved
        return out

    streak = ridge & continued(2, 1) & continued(4, 2) & (sat < 0.25)
    # In noise or fine texture ridges are everywhere and rarely continue; in rain most do.
    if streak.sum() < 0.4 * max(1, ridge.sum()):
        return 0.0
    h, w = streak.shape
    quadrants = [streak[:h // 2, :w // 2], streak[:h // 2, w // 2:],
                 streak[h // 2:, :w // 2], streak[h // 2:, w // 2:]]
    if sum(q.mean() > 0.004 for q in quadrants) < 3:
        return 0.0
    return float(np.clip((streak.mean() - 0.004) / 0.02, 0.0, 1.0))


def _best_mirror(luma: np.ndarray, sky_end_row: int, h: int) -> tuple[float, int, int]:
    """(correlation, row, span in rows) of the best mirror axis under the sky: still water
    doubles the shapes above it. Row means are removed first, so a sky brightening towards a
    darkening field (a plain vertical gradient) is no mirror."""
    best, best_row, best_span = 0.0, h, 0
    for axis in range(max(sky_end_row, h // 5), int(0.85 * h), 2):
        span = min(axis - sky_end_row // 2, h - axis, h // 4)
        if span < 6:
            continue
        above = luma[axis - span:axis][::-1]
        mirrored = luma[axis:axis + span]
        a = above - above.mean(axis=1, keepdims=True)
        b = mirrored - mirrored.mean(axis=1, keepdims=True)
        energy_a, energy_b = float((a * a).mean()), float((b * b).mean())
        if energy_a < 0.03 ** 2 or energy_b < 0.01 ** 2:
            continue
        corr = float((a * b).mean() / np.sqrt(energy_a * energy_b))
        if corr > best:
            best, best_row, best_span = corr, axis, span
    return best, best_row, best_span


def _blobs_narrower_than(mask: np.ndarray, max_width_px: float) -> np.ndarray:
    """The mask without its components spanning the picture (a road, a field, a wall)."""
    labels, count = ndimage.label(mask)
    keep = np.zeros(count + 1, dtype=bool)
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        keep[index] = (box[1].stop - box[1].start) < max_width_px
    return keep[labels]


def _touching(mask: np.ndarray, other: np.ndarray) -> np.ndarray:
    """The components of `mask` that overlap `other`."""
    labels, _ = ndimage.label(mask)
    ids = np.unique(labels[other & mask])
    ids = ids[ids > 0]
    return np.isin(labels, ids) if ids.size else np.zeros_like(mask)


def _horizon_edge_row(rgb: np.ndarray) -> int:
    """First row (below the top sixth) where the mean colour of the rows jumps: a horizon
    line. Sky can pass a gentle sunset gradient but not this edge (no sky in snow or sand)."""
    h = rgb.shape[0]
    means = rgb.mean(axis=1)
    for row in range(max(2, h // 6), h - 2):
        if float(np.abs(means[row + 2] - means[row - 2]).max()) > 0.1:
            return row
    return h


def _compact_blobs(mask: np.ndarray, ring_ok: np.ndarray, min_px: int, max_px: int) -> int:
    """Blobs of this size, compact (not strips), standing out from their surroundings: at
    most a third of the ring around each may be `ring_ok` (skin-like) pixels."""
    labels, count = ndimage.label(mask)
    if count == 0 or count > 600:
        return 0
    found = 0
    h, w = mask.shape
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        height, width = box[0].stop - box[0].start, box[1].stop - box[1].start
        blob = labels[box] == index
        area = int(blob.sum())
        if not (min_px <= area <= max_px and area >= 0.45 * height * width
                and max(height, width) <= 2.5 * min(height, width)):
            continue
        y0, y1 = max(0, box[0].start - 2), min(h, box[0].stop + 2)
        x0, x1 = max(0, box[1].start - 2), min(w, box[1].stop + 2)
        around = ring_ok[y0:y1, x0:x1] & (labels[y0:y1, x0:x1] != index)
        ring_px = (y1 - y0) * (x1 - x0) - area
        if ring_px > 0 and around.sum() <= ring_px / 3:
            found += 1
    return found


def _built_fraction(dx: np.ndarray, dy: np.ndarray, mask: np.ndarray) -> float:
    """Share of 8x8 windows inside `mask` full of axis-aligned edges of both orientations:
    walls, windows, roofs and kerbs. Waves are horizontal only, rain and trunks vertical only,
    foliage and rock mostly diagonal."""
    strong = np.maximum(dx, dy) > 0.06
    vertical = strong & (dx > 3 * dy)
    horizontal = strong & (dy > 3 * dx)
    diagonal = strong & ~vertical & ~horizontal
    h, w = dx.shape
    cells_h, cells_w = h // 8, w // 8
    if cells_h == 0 or cells_w == 0:
        return 0.0

    def cells(a: np.ndarray) -> np.ndarray:
        return a[:cells_h * 8, :cells_w * 8].reshape(cells_h, 8, cells_w, 8).sum(axis=(1, 3))

    n_v, n_h, n_d = cells(vertical), cells(horizontal), cells(diagonal)
    inside = cells(mask) >= 32
    built = (n_v >= 4) & (n_h >= 4) & (n_v + n_h >= 2 * n_d) & inside
    return float(built.sum() / (cells_h * cells_w))


def read_regions(image: Image.Image) -> RegionReading:
    """Regions and conditions of an RGB picture (any size, any aspect ratio)."""
    scale = ANALYSIS_LONG_SIDE_PX / max(image.size)
    size = (max(16, round(image.width * scale)), max(16, round(image.height * scale)))
    small = image.convert("RGB").resize(size, Image.BILINEAR)
    rgb = np.asarray(small, dtype=np.float32) / 255.0
    hsv = np.asarray(small.convert("HSV"), dtype=np.float32) / 255.0
    hue, sat, val = hsv[..., 0] * 360.0, hsv[..., 1], hsv[..., 2]
    luma = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    h, w = luma.shape
    rows = (np.arange(h, dtype=np.float32) / max(1, h - 1))[:, None] * np.ones((1, w))

    # Orientation from luma; smoothness from colour, after a 3x3 median that removes grain,
    # rain streaks and snowflakes (a rainy sky is still a sky).
    dx = np.zeros_like(luma)
    dy = np.zeros_like(luma)
    dx[:, :-1] = np.abs(np.diff(luma, axis=1))
    dy[:-1, :] = np.abs(np.diff(luma, axis=0))
    across = _box(dx, 5)  # luma changes from left to right: vertical structure
    down = _box(dy, 5)  # changes from top to bottom: horizontal structure (waves, strata)
    calm = np.asarray(small.filter(ImageFilter.MedianFilter(3)), dtype=np.float32) / 255.0
    cdx = np.zeros_like(luma)
    cdy = np.zeros_like(luma)
    cdx[:, :-1] = np.abs(np.diff(calm, axis=1)).max(axis=-1)
    cdy[:-1, :] = np.abs(np.diff(calm, axis=0)).max(axis=-1)
    texture = _box(cdx, 5) + _box(cdy, 5)
    smooth = texture < SMOOTH_TEXTURE

    blue = (hue >= 170) & (hue < 260) & (sat > 0.12)
    green = (hue >= 65) & (hue < 170) & (sat > 0.2) & (val > 0.12)
    grey = sat < 0.15
    monochrome = float(sat.mean()) < 0.12
    # Sky colours: blue to dusk violet, bright overcast grey, night dark; a sunset's warm band
    # only continues a sky that starts blue, grey or dark at the top.
    sky_core = (((hue >= 170) & (hue < 330) & (sat > 0.1) & (val > 0.3))
                | ((sat < 0.12) & (val > 0.45)) | (val < 0.2))
    warm_sky = ((hue < 55) | (hue > 320)) & (sat > 0.08) & (val > 0.45)

    # 1. Sky: smooth, sky-coloured, joined to the top edge across most of it, above the first
    # horizon line; birds, the sun and clouds are holes in it.
    edge_row = _horizon_edge_row(calm)
    sky = _touching_top(smooth & (sky_core | warm_sky) & ~green & (rows < 0.8)
                        & (np.arange(h)[:, None] < edge_row))
    if sky[0].mean() < SKY_MIN_TOUCH or (sky[0] & sky_core[0]).mean() < 0.5 * sky[0].mean():
        sky = np.zeros_like(sky)
    # A bright frame of rippled blue water has no sky even though its top is blue: a sky is
    # much smoother than what lies below it.
    third = max(1, h // 3)
    if (blue[:third].mean() > 0.8 and blue[-third:].mean() > 0.8 and float(luma.mean()) > 0.25
            and edge_row >= 0.6 * h and texture[:third].mean() > 0.6 * texture[-third:].mean()):
        sky = np.zeros_like(sky)
    sky_filled = ndimage.binary_fill_holes(sky)
    sky_fraction = float(sky_filled.mean())
    horizon = None
    flat_horizon = False
    if sky_fraction >= 0.05:
        depth = sky_filled.sum(axis=0)
        depth = depth[depth > 0]
        if depth.size >= 0.5 * w:
            horizon = float(np.median(depth) / h)
            flat_horizon = float((np.abs(depth / h - horizon) < 0.05).mean()) >= 0.5

    # 2. Birds: small dark marks enclosed by the sky.
    birds = 0
    if horizon is not None:
        holes = sky_filled & ~sky
        sky_luma = float(np.median(luma[sky])) if sky.any() else 0.5
        dark_holes = ndimage.binary_dilation(holes & (luma < sky_luma - 0.12))
        birds = _small_blobs(dark_holes, 3, max(8, h * w // 500))

    below = np.zeros_like(sky) if horizon is None else rows >= horizon
    ground_rows = below & ~sky_filled

    # 3. Water: a band under a flat horizon, blue (grey in a colourless picture) with
    # horizontal structure; or the mirror image of what stands above it; or a bright frame
    # filled with blue ripples.
    water = np.zeros_like(sky)
    reflection = 0.0
    close_up_water = False
    flat_structure = down >= 1.1 * across
    if horizon is not None and horizon < 0.9:
        band_top = int(round(horizon * h))
        water_like = ground_rows & ((blue & (flat_structure | smooth))
                                     | (grey & monochrome & smooth & (val < 0.7)))
        start_row = next((r for r in range(band_top, min(h, band_top + max(3, h // 8)))
                          if water_like[r].mean() >= 0.6), None)
        if start_row is not None and flat_horizon:
            labels, _ = ndimage.label(water_like)
            ids, counts = np.unique(labels[start_row][labels[start_row] > 0],
                                    return_counts=True)
            keep = ids[counts >= 0.15 * w]
            if keep.size:
                water = np.isin(labels, keep)
            # Water differs from the sky just above it; the same colour is more sky behind a
            # tree line or a roof.
            sky_rim = sky & (rows >= horizon - 0.1)
            if water.any() and sky_rim.any() and float(np.abs(
                    rgb[water].mean(axis=0) - rgb[sky_rim].mean(axis=0)).max()) < 0.08:
                water = np.zeros_like(water)
        reflection, axis, span = _best_mirror(luma, band_top, h)
        if reflection >= 0.7:
            mirror_rows = np.zeros_like(water)
            mirror_rows[axis:axis + span] = True
            water = water | (ground_rows & mirror_rows & ~_touching_bottom(green & ~blue))
    elif horizon is None:
        frame_blue = float(blue.mean())
        ripples = float((flat_structure & blue & ~smooth).mean())
        highlights = float(((val > 0.7) & (sat < 0.45)).mean())
        if frame_blue >= 0.6 and ripples >= 0.2 and 0.003 < highlights < 0.3 and \
                float(luma.mean()) > 0.2:
            close_up_water = True
            water = blue
    water_fraction = float(water.mean())
    waves = 0.0
    if water_fraction < 0.04:
        water, water_fraction = np.zeros_like(water), 0.0
    else:
        near_water = ndimage.binary_dilation(water, iterations=2)
        foam = near_water & (val > 0.75) & (sat < 0.25)
        waves = float(foam.sum() / near_water.sum())

    # 4. Ground under the sky: sand, snow, grass, rock.
    ground = ground_rows & ~water
    sand_like = (hue >= 18) & (hue < 55) & (sat > 0.12) & (sat < 0.62) & (val > 0.5)
    sand = _touching_bottom(ground & sand_like) if horizon is not None else np.zeros_like(sky)
    snow_like = (val > 0.75) & (sat < 0.14)
    snow = _touching_bottom(ground & snow_like) if horizon is not None else np.zeros_like(sky)
    isotropic = (across < 2.5 * down) & (down < 2.5 * across)
    rock_like = ground & grey & (val > 0.2) & (val < 0.7) & isotropic & ~snow
    # Grey bands across the picture are roads, fields or walls, unless they rise into the sky
    # (mountains).
    rock = _blobs_narrower_than(rock_like, 0.8 * w) | _touching(
        rock_like, ndimage.binary_dilation(sky_filled, iterations=2))
    green_mass = green & ~sky_filled
    grass = green_mass & below if horizon is not None else np.zeros_like(sky)
    if horizon is None:
        foliage_fraction = float(green_mass.mean())
    else:
        foliage_fraction = float((green_mass & (rows < horizon + 0.15)).mean())

    # 5. Buildings: windows of axis-aligned edges both ways, outside sky and water.
    built_fraction = _built_fraction(dx, dy, ~sky_filled & ~water)
    if built_fraction > 0.0:
        rock = rock & ~ndimage.binary_dilation(
            (np.maximum(dx, dy) > 0.06) & ((dx > 3 * dy) | (dy > 3 * dx)), iterations=2)

    # 6. People: small skin-coloured blobs standing out from what is around them.
    skin = (hue >= 5) & (hue < 32) & (sat > 0.25) & (sat < 0.65) & (val > 0.45)
    skin_ish = (hue < 50) & (sat > 0.18) & (val > 0.3)
    people = 0
    if 0.002 < float(skin.mean()) < 0.25:
        people = _compact_blobs(skin, skin_ish, 3, max(8, h * w // 300))

    # 7. Light and weather.
    top = luma[: max(1, h // 3)]
    top_sat = sat[: max(1, h // 3)]
    top_mean = float(top.mean())
    brightness = float(luma.mean())
    night = float(np.clip((0.28 - top_mean) / 0.15, 0.0, 1.0)) if brightness < 0.3 else 0.0
    sunset = 0.0
    if sky.any():
        sunset = float(np.clip((warm_sky & sky_filled).sum() / sky_filled.sum() / 0.3, 0.0, 1.0))
    storm_sky = float(((top > 0.08) & (top < 0.42) & (top_sat < 0.3)).mean())
    lightning = False
    bright_line = (luma > float(np.median(top)) + 0.3) & (sat < 0.25) & (rows < 0.6)
    labels, count = ndimage.label(bright_line, structure=np.ones((3, 3)))
    if count and storm_sky > 0.5:
        for found in ndimage.find_objects(labels):
            height, width = found[0].stop - found[0].start, found[1].stop - found[1].start
            if height >= 0.15 * h and height >= 2.5 * width:
                lightning = True
                break
    storm = 0.0
    if storm_sky > 0.6 and night < 0.5:
        storm = float(np.clip((0.42 - top_mean) / 0.15, 0.0, 1.0))
    if lightning:
        storm = max(storm, 0.8)
    # Fog: bright, colourless and soft, yet with faint shapes in it (a blank frame is no
    # evidence of anything).
    fog = 0.0
    if float(sat.mean()) < 0.12 and brightness > 0.5 and 0.015 < float(luma.std()) < 0.12 \
            and float(texture.mean()) < 0.05:
        fog = float(np.clip((0.12 - float(luma.std())) / 0.08 + 0.3, 0.0, 1.0))

    return RegionReading(
        sky=sky_fraction, water=water_fraction, sand=float(sand.mean()),
        grass=float(grass.mean()), foliage=float(np.clip(foliage_fraction, 0.0, 1.0)),
        snow=float(snow.mean()), rock=float(rock.mean()), built=built_fraction,
        waves=waves, reflection=reflection, rain=_rain_strength(image),
        fog=fog, storm=storm, lightning=lightning, night=night, sunset=sunset, birds=birds,
        people=people, horizon=horizon, flat_horizon=flat_horizon,
        close_up_water=close_up_water)
