"""Benchmark: can you hear the picture? 16 painted scenes through the real pipeline, measured.

    .venv/bin/python bench/hear.py [--seconds 30] [--seed 1] [--keep DIR] [--only NAME ...]

Paints 16 synthetic pictures with PIL (seaside, rain, city night, forest birds, crowd, harbour,
stream, storm, desert wind, snow, market, train station, campfire, kitchen, waterfall, farm:
nobody tuned the pipeline on them), composes a song from each in-process (the same `Pipeline`
and in-process clients as `imagewave compose`), then measures each mix with
`imagewave.analysis`:

- the rank of the picture's own effects among the 16 pictures' effects by spectral profile
  (`own_match_ranks`; target: own effects among the 3 closest for >= 11 of 16);
- band energy shares (60-250 Hz <= 35 %, 2-6 kHz >= 8 %, > 6 kHz), the drum stem's share above
  6 kHz and its loudness against the mix (within 12 LU), loudness (-14 LUFS +- 1), true peak
  (<= -1 dBTP) and loudness range (the form's dynamics), as medians over the songs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image, ImageDraw, ImageFilter

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from imagewave.analysis import mix_measures, own_match_ranks, spectral_profile  # noqa: E402
from imagewave.contracts import layout  # noqa: E402

WIDTH, HEIGHT = 640, 426


def _gradient(top, bottom, height=HEIGHT):
    t = np.linspace(0, 1, height)[:, None, None]
    return (1 - t) * np.array(top) + t * np.array(bottom)


def _canvas(top, bottom):
    return np.broadcast_to(_gradient(top, bottom), (HEIGHT, WIDTH, 3)).copy()


def _finish(canvas, rng, draw_more=None, blur=0.8):
    canvas = canvas + rng.normal(0, 5, canvas.shape)
    image = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    if draw_more is not None:
        draw_more(ImageDraw.Draw(image), rng)
    return image.filter(ImageFilter.GaussianBlur(blur))


def paint(name: str, seed: int = 0) -> Image.Image:
    """One of the 16 scenes, drawn from shapes and colour fields."""
    rng = np.random.default_rng(seed + sum(map(ord, name)))
    y = np.arange(HEIGHT)[:, None]
    x = np.arange(WIDTH)[None, :]
    if name == "seaside":
        c = _canvas((70, 130, 200), (240, 200, 160))
        sea = (y > 200) & (y < 320)
        c[np.broadcast_to(sea, (HEIGHT, WIDTH))] = [40, 110, 150]
        c[np.broadcast_to(y >= 320, (HEIGHT, WIDTH))] = [225, 200, 150]
        foam = sea & (np.abs(np.sin(y / 6.0 + np.sin(x / 30.0))) > 0.95)
        c[foam] = [240, 245, 245]
        return _finish(c, rng)
    if name == "rain":
        c = _canvas((90, 95, 105), (60, 65, 70))

        def more(d, r):
            for _ in range(900):
                px, py = r.integers(0, WIDTH), r.integers(0, HEIGHT)
                d.line((px, py, px - 4, py + 18), fill=(200, 205, 215), width=1)
            d.rectangle((0, 330, WIDTH, HEIGHT), fill=(50, 52, 58))
        return _finish(c, rng, more)
    if name == "city_night":
        c = _canvas((10, 12, 35), (30, 25, 50))

        def more(d, r):
            for i in range(12):
                left = i * 55
                top = int(r.integers(80, 260))
                d.rectangle((left, top, left + 48, HEIGHT), fill=(25, 25, 35))
                for wy in range(top + 8, HEIGHT - 10, 18):
                    for wx in range(left + 5, left + 44, 12):
                        if r.random() < 0.5:
                            d.rectangle((wx, wy, wx + 6, wy + 9), fill=(250, 220, 120))
            for i in range(8):  # car lights
                d.ellipse((40 + i * 75, 395, 52 + i * 75, 405), fill=(255, 60, 40))
        return _finish(c, rng, more)
    if name == "forest_birds":
        c = _canvas((150, 190, 140), (40, 80, 35))

        def more(d, r):
            for _ in range(40):
                tx = int(r.integers(0, WIDTH))
                d.rectangle((tx, 120, tx + 10, HEIGHT), fill=(80, 55, 30))
                d.ellipse((tx - 45, 40, tx + 55, 190), fill=(30, int(r.integers(90, 140)), 35))
            for _ in range(6):
                bx, by = int(r.integers(50, 600)), int(r.integers(40, 200))
                d.ellipse((bx, by, bx + 16, by + 10), fill=(200, 60, 40))
                d.polygon([(bx + 14, by + 4), (bx + 22, by + 6), (bx + 14, by + 8)],
                          fill=(240, 180, 40))
        return _finish(c, rng, more)
    if name == "crowd":
        c = _canvas((200, 200, 190), (120, 110, 100))

        def more(d, r):
            for row in range(5):
                for _ in range(26):
                    px = int(r.integers(0, WIDTH))
                    py = 160 + row * 55
                    colour = tuple(int(v) for v in r.integers(40, 230, 3))
                    d.ellipse((px, py, px + 22, py + 24), fill=(220, 180, 150))
                    d.rectangle((px - 6, py + 24, px + 28, py + 80), fill=colour)
        return _finish(c, rng, more)
    if name == "harbour":
        c = _canvas((150, 180, 210), (60, 90, 120))
        c[np.broadcast_to(y > 240, (HEIGHT, WIDTH))] = [35, 70, 100]

        def more(d, r):
            for i in range(5):
                bx = 40 + i * 120
                d.polygon([(bx, 260), (bx + 90, 260), (bx + 75, 290), (bx + 10, 290)],
                          fill=(220, 220, 220))
                d.line((bx + 45, 150, bx + 45, 260), fill=(90, 70, 50), width=4)
                d.polygon([(bx + 47, 160), (bx + 47, 250), (bx + 85, 250)], fill=(245, 245, 240))
            d.rectangle((0, 300, WIDTH, 330), fill=(110, 85, 60))  # pier
        return _finish(c, rng, more)
    if name == "stream":
        c = _canvas((160, 200, 160), (70, 110, 60))
        river = np.abs(x - (320 + 60 * np.sin(y / 60.0))) < 40 + y / 8
        c[river] = [90, 150, 190]
        ripple = river & (np.sin(y / 3.0 + x / 11.0) > 0.9)
        c[ripple] = [220, 235, 245]

        def more(d, r):
            for _ in range(25):
                sx, sy = int(r.integers(0, WIDTH)), int(r.integers(200, HEIGHT))
                d.ellipse((sx, sy, sx + 26, sy + 16), fill=(120, 120, 115))
        return _finish(c, rng, more)
    if name == "storm":
        c = _canvas((40, 40, 55), (70, 70, 80))

        def more(d, r):
            px, py = 300, 0
            while py < 330:
                nx, ny = px + int(r.integers(-30, 30)), py + int(r.integers(20, 45))
                d.line((px, py, nx, ny), fill=(250, 250, 255), width=4)
                px, py = nx, ny
            d.rectangle((0, 330, WIDTH, HEIGHT), fill=(30, 35, 30))
            for _ in range(500):
                rx, ry = r.integers(0, WIDTH), r.integers(0, HEIGHT)
                d.line((rx, ry, rx - 6, ry + 14), fill=(150, 150, 165))
        return _finish(c, rng, more)
    if name == "desert_wind":
        c = _canvas((120, 170, 230), (250, 230, 190))
        dunes = y > 230 + 30 * np.sin(x / 70.0)
        c[dunes] = [230, 180, 110]
        shade = dunes & (np.sin(x / 70.0 + y / 40.0) > 0.6)
        c[shade] = [200, 150, 90]
        return _finish(c, rng)
    if name == "snow":
        c = _canvas((200, 210, 225), (245, 248, 252))

        def more(d, r):
            for tx in range(30, WIDTH, 90):
                d.polygon([(tx, 320), (tx + 30, 170), (tx + 60, 320)], fill=(40, 70, 50))
                d.polygon([(tx + 10, 260), (tx + 30, 190), (tx + 50, 260)], fill=(240, 245, 250))
            for _ in range(700):
                fx, fy = int(r.integers(0, WIDTH)), int(r.integers(0, HEIGHT))
                d.ellipse((fx, fy, fx + 3, fy + 3), fill=(255, 255, 255))
        return _finish(c, rng, more, blur=0.6)
    if name == "market":
        c = _canvas((230, 220, 190), (150, 120, 90))

        def more(d, r):
            for i in range(6):
                sx = 10 + i * 105
                colour = [(220, 40, 40), (40, 140, 220), (240, 200, 40)][i % 3]
                for stripe in range(0, 100, 20):
                    d.rectangle((sx + stripe, 120, sx + stripe + 10, 160), fill=colour)
                d.rectangle((sx, 200, sx + 100, 260), fill=(130, 90, 50))
                for _ in range(18):
                    fx, fy = sx + int(r.integers(5, 90)), int(r.integers(180, 205))
                    d.ellipse((fx, fy, fx + 12, fy + 12),
                              fill=[(250, 120, 30), (200, 30, 40), (120, 190, 40)][_ % 3])
        return _finish(c, rng, more)
    if name == "train_station":
        c = _canvas((170, 170, 175), (90, 90, 95))

        def more(d, r):
            for i in range(8):  # roof girders
                d.line((i * 90, 0, 320, 120), fill=(60, 60, 65), width=5)
            d.rectangle((60, 220, 580, 330), fill=(180, 30, 30))  # train
            for wx in range(80, 560, 60):
                d.rectangle((wx, 235, wx + 40, 270), fill=(200, 220, 240))
            d.rectangle((0, 330, WIDTH, 345), fill=(70, 60, 50))
            for rx in range(0, WIDTH, 24):
                d.rectangle((rx, 345, rx + 8, HEIGHT), fill=(110, 90, 70))
        return _finish(c, rng, more)
    if name == "campfire":
        c = _canvas((5, 5, 20), (20, 15, 15))

        def more(d, r):
            for _ in range(60):
                sx, sy = int(r.integers(0, WIDTH)), int(r.integers(0, 150))
                d.point((sx, sy), fill=(255, 255, 240))
            d.polygon([(260, 340), (320, 190), (380, 340)], fill=(250, 120, 20))
            d.polygon([(285, 340), (320, 240), (355, 340)], fill=(255, 220, 60))
            d.line((240, 350, 400, 330), fill=(90, 50, 20), width=14)
            d.line((240, 330, 400, 350), fill=(80, 45, 20), width=14)
        return _finish(c, rng, more)
    if name == "kitchen":
        c = _canvas((235, 230, 215), (200, 190, 170))

        def more(d, r):
            d.rectangle((0, 250, WIDTH, HEIGHT), fill=(150, 110, 70))  # counter
            for i in range(6):
                d.rectangle((20 + i * 105, 40, 110 + i * 105, 150), fill=(240, 240, 235),
                            outline=(120, 120, 120))
            d.ellipse((150, 200, 290, 250), fill=(60, 60, 65))  # pan
            d.rectangle((280, 215, 380, 228), fill=(40, 40, 40))
            d.rectangle((420, 150, 520, 250), fill=(190, 190, 200))  # pot
            d.ellipse((440, 130, 500, 160), fill=(240, 240, 245))  # steam
        return _finish(c, rng, more)
    if name == "waterfall":
        c = _canvas((120, 160, 110), (60, 80, 50))
        fall = (np.abs(x - 320) < 70) & (y < 330)
        streak = fall & (np.sin(x / 2.5 + rng.uniform(0, 6)) > 0.0)
        c[fall] = [190, 215, 230]
        c[streak] = [245, 250, 255]
        c[np.broadcast_to(y >= 330, (HEIGHT, WIDTH))] = [80, 140, 170]
        mist = (y > 300) & (y < 360) & (np.abs(x - 320) < 160)
        c[mist] = c[mist] * 0.4 + 0.6 * np.array([240, 245, 250])
        return _finish(c, rng, blur=1.2)
    if name == "farm":
        c = _canvas((140, 190, 240), (120, 180, 90))
        c[np.broadcast_to(y > 230, (HEIGHT, WIDTH))] = [110, 170, 70]

        def more(d, r):
            d.rectangle((60, 140, 220, 260), fill=(170, 40, 30))  # barn
            d.polygon([(50, 140), (140, 80), (230, 140)], fill=(120, 30, 25))
            d.rectangle((120, 200, 160, 260), fill=(240, 240, 240))
            for i in range(5):  # cows
                cx, cy = 300 + i * 60, 290 + (i % 2) * 30
                d.ellipse((cx, cy, cx + 50, cy + 28), fill=(250, 250, 250))
                d.ellipse((cx + 10, cy + 5, cx + 25, cy + 15), fill=(20, 20, 20))
                d.ellipse((cx + 42, cy - 6, cx + 60, cy + 10), fill=(240, 240, 240))
            for fx in range(0, WIDTH, 30):
                d.line((fx, 250, fx, 275), fill=(120, 90, 60), width=3)
            d.line((0, 258, WIDTH, 258), fill=(120, 90, 60), width=3)
        return _finish(c, rng, more)
    raise ValueError(name)


SCENES = ["seaside", "rain", "city_night", "forest_birds", "crowd", "harbour", "stream", "storm",
          "desert_wind", "snow", "market", "train_station", "campfire", "kitchen", "waterfall",
          "farm"]


class _Quiet:
    def stage(self, stage, status, progress) -> None:
        pass

    def is_canceled(self) -> bool:
        return False


def compose(image_path: Path, out_dir: Path, seconds: float, seed: int) -> float:
    from gateway.pipeline import JobInput, Pipeline
    from imagewave.artifacts import DirectoryArtifactStore
    from imagewave.contracts.jobs import JobOptions
    from imagewave.wiring.in_process import InProcessStageClients

    store = DirectoryArtifactStore(out_dir)
    store.put_bytes("hear", "input/image.png", image_path.read_bytes())
    started = time.perf_counter()
    Pipeline(store, InProcessStageClients(), _Quiet())(
        JobInput("hear", JobOptions(audio_length_in_s=seconds, seed=seed), "input/image.png"))
    return time.perf_counter() - started


def effects_of(job_dir: Path) -> list[tuple[np.ndarray, int]]:
    index = json.loads((job_dir / layout.SFX_INDEX).read_text())
    return [sf.read(job_dir / e["file"], dtype="float32") for e in index["effects"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", help="keep pictures and jobs here")
    parser.add_argument("--only", nargs="*", help="compose only these scenes (measure all kept)")
    parser.add_argument("--rerender", action="store_true",
                        help="with --keep: redo only the render stage of the kept jobs")
    args = parser.parse_args()
    print(f"# hear benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, {args.seconds:g} s songs, "
          f"seed {args.seed}")
    with tempfile.TemporaryDirectory(prefix="imagewave-hear-") as tmp:
        root = Path(args.keep or tmp)
        root.mkdir(parents=True, exist_ok=True)
        for name in SCENES:
            picture = root / f"{name}.png"
            job = root / name
            if args.only is not None and name not in args.only and (job / "mix.wav").exists():
                continue
            if args.rerender and (job / "mix.wav").exists():
                for stale in [job / "mix.wav", job / "mix.flac", *(job / "stems").glob("*")]:
                    stale.unlink()
            paint(name).save(picture)
            wall = compose(picture, root / name, args.seconds, args.seed)
            scene = json.loads((job / "scene.json").read_text())
            sources = ", ".join(s["name"] for s in scene.get("sound_sources", []))
            print(f"{name:14s} composed in {wall:5.1f} s: {sources}", flush=True)

        rows, mix_profiles, effect_profiles = [], [], []
        for name in SCENES:
            job = root / name
            mix, rate = sf.read(job / "mix.wav", dtype="float32")
            drums = sf.read(job / "stems" / "drums.flac", dtype="float32")[0] \
                if (job / "stems" / "drums.flac").exists() else None
            measures = mix_measures(mix, rate, drums)
            rows.append((name, measures))
            mix_profiles.append(spectral_profile(mix, rate))
            effects = effects_of(job)
            joined = np.concatenate([e if e.ndim == 1 else e.mean(axis=1) for e, _ in effects])
            effect_profiles.append(spectral_profile(joined, effects[0][1]))
        ranks = own_match_ranks(mix_profiles, effect_profiles)
        print(f"{'picture':14s} rank  low%  2-6k%  >6k%  drums>6k%  drumsLU   LUFS   dBTP  LRA")
        for (name, m), rank in zip(rows, ranks, strict=True):
            print(f"{name:14s} {rank:4d} {100 * m.low_60_250:5.1f} {100 * m.presence_2k_6k:6.1f} "
                  f"{100 * m.air_6k_up:5.1f} {100 * (m.drums_air_6k_up or 0):10.1f} "
                  f"{m.drums_vs_mix_lu or float('nan'):8.1f} {m.loudness_lufs:6.2f} "
                  f"{m.true_peak_dbtp:6.2f} {m.loudness_range_lu:4.1f}")

        def median(key):
            values = [getattr(m, key) for _, m in rows if getattr(m, key) is not None]
            return statistics.median(values)

        top3 = sum(rank <= 3 for rank in ranks)
        print(f"own effects among the 3 closest: {top3}/{len(ranks)} (target >= 11 of 16; "
              f"chance {3 * len(ranks) / len(ranks):.0f})")
        print(f"medians: 60-250 Hz {100 * median('low_60_250'):.1f}% (<= 35), 2-6 kHz "
              f"{100 * median('presence_2k_6k'):.1f}% (>= 8), > 6 kHz "
              f"{100 * median('air_6k_up'):.1f}%, drums > 6 kHz "
              f"{100 * median('drums_air_6k_up'):.1f}%, drums vs mix "
              f"{median('drums_vs_mix_lu'):.1f} LU (within 12), "
              f"{median('loudness_lufs'):.2f} LUFS, max TP "
              f"{max(m.true_peak_dbtp for _, m in rows):.2f} dBTP, LRA "
              f"{median('loudness_range_lu'):.1f} LU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
