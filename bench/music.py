"""Benchmark: our songs next to real pieces, on pictures drawn here (nobody tuned for them).

    .venv/bin/python bench/music.py [--seconds 120] [--seed 0] [--render 16] [--ssm-seconds 180]
                                    [--reference FILE.mid ...] [--out bench/results/music]

1. Draws 18 synthetic scenes with PIL (seaside, rain, night city, forest, crowd, desert, snow,
   market, ...) and describes each with the real `lite` engine (pixel statistics included).
2. Composes a song per picture at one seed: distinct songs, keys (tonic + mode), tempos,
   styles, compose time of a 3-minute song, and the symbolic metrics of
   `imagewave.music_metrics`.
3. Renders the first `--render` pictures through the whole pipeline in one process (effects,
   voices, instruments, mix): the mix's short-term loudness spread and each stem against the mix.
4. The same symbolic metrics for real pieces: music21's corpus (Bach, Mozart, Joplin) and
   any `--reference` MIDI (pretty_midi's example.mid is Bohemian Rhapsody).
5. A chroma self-similarity picture of one `--ssm-seconds` song (PNG in the out folder).

Prints markdown tables for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pretty_midi
import soundfile as sf
from PIL import Image, ImageDraw, ImageFilter

REPO = Path(__file__).resolve().parents[1]
SIZE = (480, 320)
MUSIC21_PIECES = ("bach/bwv66.6", "mozart/k80/movement1", "joplin/maple_leaf_rag")


# -- pictures -------------------------------------------------------------------------------

def _sky(draw: ImageDraw.ImageDraw, top: tuple, bottom: tuple, height: int) -> None:
    for y in range(height):
        t = y / max(height - 1, 1)
        draw.line([(0, y), (SIZE[0], y)], fill=tuple(int(a + (b - a) * t)
                                                      for a, b in zip(top, bottom, strict=True)))


def _scatter(draw, rng, count, box, radius, colours) -> None:
    x0, y0, x1, y1 = box
    for _ in range(count):
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        r = rng.uniform(*radius)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colours[int(rng.integers(len(colours)))])


def draw_picture(name: str, rng: np.random.Generator) -> Image.Image:
    image = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(image)
    w, h = SIZE
    if name == "seaside":
        _sky(draw, (120, 180, 235), (200, 225, 245), h // 2)
        _sky(draw, (30, 110, 170), (20, 70, 120), h // 2)
        image.paste(image.crop((0, 0, w, h // 2)).transpose(Image.FLIP_TOP_BOTTOM).point(
            lambda v: v // 3), (0, h // 2))
        draw.rectangle([0, int(h * 0.5), w, int(h * 0.75)], fill=(25, 100, 160))
        draw.rectangle([0, int(h * 0.75), w, h], fill=(225, 205, 160))
        for i in range(12):
            y = int(h * 0.52 + i * 7)
            x = rng.uniform(0, w)
            draw.arc([x - 40, y, x + 40, y + 8], 0, 180, fill=(230, 240, 250), width=2)
        draw.ellipse([w * 0.75, 30, w * 0.75 + 50, 80], fill=(255, 240, 180))
    elif name == "rain":
        _sky(draw, (90, 95, 105), (60, 65, 72), h)
        draw.rectangle([0, int(h * 0.7), w, h], fill=(45, 50, 55))
        for _ in range(500):
            x, y = rng.uniform(0, w), rng.uniform(0, h)
            draw.line([(x, y), (x - 4, y + 18)], fill=(170, 180, 195), width=1)
    elif name == "night_city":
        _sky(draw, (5, 8, 30), (20, 25, 60), h)
        x = 0
        while x < w:
            bw, bh = rng.uniform(30, 70), rng.uniform(h * 0.3, h * 0.85)
            draw.rectangle([x, h - bh, x + bw, h], fill=(15, 15, 25))
            for wy in range(int(h - bh + 8), h - 8, 12):
                for wx in range(int(x + 5), int(x + bw - 6), 10):
                    if rng.random() < 0.45:
                        draw.rectangle([wx, wy, wx + 5, wy + 6], fill=(255, 210, 120))
            x += bw + rng.uniform(2, 8)
    elif name == "forest":
        _sky(draw, (170, 210, 190), (120, 170, 120), h)
        for _ in range(40):
            x, top = rng.uniform(0, w), rng.uniform(0, h * 0.4)
            draw.rectangle([x - 5, top + 60, x + 5, h], fill=(80, 55, 30))
            draw.polygon([(x, top), (x - 35, top + 110), (x + 35, top + 110)],
                         fill=(20, int(rng.uniform(80, 130)), 40))
    elif name == "crowd":
        _sky(draw, (200, 200, 205), (170, 165, 160), h)
        for _ in range(160):
            x, y = rng.uniform(0, w), rng.uniform(h * 0.3, h)
            colour = tuple(int(c) for c in rng.uniform(40, 230, 3))
            draw.rectangle([x - 8, y, x + 8, y + 30], fill=colour)
            draw.ellipse([x - 6, y - 13, x + 6, y - 1], fill=(225, 185, 150))
    elif name == "desert":
        _sky(draw, (250, 215, 150), (245, 190, 120), h // 2)
        for i in range(5):
            y = h // 2 + i * 30
            draw.ellipse([-100 + i * 60, y, w + 100 - i * 40, y + 200],
                         fill=(220 - i * 8, 170 - i * 8, 100 - i * 5))
        draw.ellipse([w * 0.2, 40, w * 0.2 + 60, 100], fill=(255, 250, 220))
    elif name == "snow":
        _sky(draw, (215, 225, 235), (240, 244, 248), h)
        draw.polygon([(0, h * 0.7), (w * 0.3, h * 0.35), (w * 0.6, h * 0.65), (w, h * 0.4),
                      (w, h), (0, h)], fill=(250, 252, 255))
        _scatter(draw, rng, 400, (0, 0, w, h), (1, 3), [(255, 255, 255)])
    elif name == "market":
        _sky(draw, (240, 230, 210), (210, 190, 160), h)
        for i in range(6):
            x = i * w / 6
            colour = [(220, 40, 40), (240, 160, 20), (40, 140, 60), (30, 90, 200)][i % 4]
            for stripe in range(6):
                draw.rectangle([x + stripe * 13, 60, x + stripe * 13 + 6, 110],
                               fill=colour if stripe % 2 == 0 else (250, 245, 235))
            draw.rectangle([x + 5, 110, x + w / 6 - 5, 220], fill=(130, 90, 50))
        _scatter(draw, rng, 260, (0, 120, w, 210), (3, 7),
                 [(230, 60, 40), (250, 180, 30), (90, 170, 50), (250, 120, 0)])
    elif name == "sunset":
        _sky(draw, (250, 120, 60), (120, 40, 90), h)
        draw.ellipse([w / 2 - 50, h * 0.55, w / 2 + 50, h * 0.55 + 100], fill=(255, 200, 80))
        draw.rectangle([0, int(h * 0.75), w, h], fill=(40, 20, 40))
    elif name == "meadow":
        _sky(draw, (140, 200, 250), (200, 230, 255), h // 2)
        draw.rectangle([0, h // 2, w, h], fill=(110, 180, 60))
        _scatter(draw, rng, 300, (0, h / 2, w, h), (2, 4),
                 [(250, 230, 40), (250, 250, 250), (230, 80, 150)])
    elif name == "campfire":
        _sky(draw, (10, 10, 20), (20, 15, 25), h)
        draw.polygon([(w / 2 - 50, h - 40), (w / 2, h - 170), (w / 2 + 50, h - 40)],
                     fill=(255, 140, 20))
        draw.polygon([(w / 2 - 25, h - 40), (w / 2, h - 120), (w / 2 + 25, h - 40)],
                     fill=(255, 230, 90))
        draw.rectangle([w / 2 - 70, h - 45, w / 2 + 70, h - 30], fill=(90, 50, 20))
    elif name == "mountain_lake":
        _sky(draw, (150, 190, 230), (210, 225, 240), h // 2)
        draw.polygon([(0, h / 2), (w * 0.25, h * 0.15), (w * 0.5, h / 2)], fill=(110, 110, 130))
        draw.polygon([(w * 0.3, h / 2), (w * 0.65, h * 0.1), (w, h / 2)], fill=(95, 100, 120))
        draw.polygon([(w * 0.58, h * 0.2), (w * 0.65, h * 0.1), (w * 0.72, h * 0.2)],
                     fill=(250, 250, 255))
        draw.rectangle([0, h // 2, w, h], fill=(50, 100, 140))
    elif name == "neon_street":
        _sky(draw, (20, 0, 40), (5, 0, 15), h)
        for _ in range(25):
            x, y = rng.uniform(0, w), rng.uniform(0, h * 0.7)
            colour = [(255, 40, 180), (40, 220, 255), (180, 60, 255)][int(rng.integers(3))]
            draw.rectangle([x, y, x + rng.uniform(30, 90), y + 10], fill=colour)
        draw.rectangle([0, int(h * 0.8), w, h], fill=(30, 20, 40))
    elif name == "autumn_park":
        _sky(draw, (200, 190, 170), (180, 150, 110), h)
        _scatter(draw, rng, 600, (0, 0, w, h), (3, 9),
                 [(200, 80, 20), (230, 150, 30), (160, 40, 20), (120, 90, 30)])
        for x in (80, 240, 400):
            draw.rectangle([x - 8, h * 0.3, x + 8, h], fill=(70, 45, 25))
    elif name == "fog":
        _sky(draw, (185, 190, 195), (205, 208, 210), h)
        for x in (60, 180, 300, 420):
            draw.rectangle([x - 4, h * 0.35, x + 4, h], fill=(150, 155, 160))
    elif name == "harbour_night":
        _sky(draw, (10, 20, 50), (30, 45, 80), h // 2)
        draw.rectangle([0, h // 2, w, h], fill=(10, 25, 45))
        for x in range(20, w, 60):
            draw.rectangle([x, h * 0.4, x + 40, h * 0.5], fill=(60, 60, 70))
            draw.line([(x + 20, h * 0.5), (x + 20, h * 0.95)], fill=(250, 200, 90), width=2)
    elif name == "flowers":
        image.paste((60, 130, 50), [0, 0, w, h])
        _scatter(draw, rng, 220, (0, 0, w, h), (6, 14),
                 [(240, 40, 90), (250, 200, 0), (150, 60, 220), (255, 120, 40)])
    elif name == "underwater":
        _sky(draw, (20, 160, 190), (0, 40, 90), h)
        _scatter(draw, rng, 80, (0, 0, w, h), (2, 6), [(200, 240, 255)])
        for _ in range(8):
            x, y = rng.uniform(0, w), rng.uniform(h * 0.3, h * 0.8)
            draw.ellipse([x, y, x + 40, y + 15], fill=(250, 150, 40))
    else:
        raise ValueError(name)
    return image.filter(ImageFilter.GaussianBlur(0.6))


PICTURES = ("seaside", "rain", "night_city", "forest", "crowd", "desert", "snow", "market",
            "sunset", "meadow", "campfire", "mountain_lake", "neon_street", "autumn_park", "fog",
            "harbour_night", "flowers", "underwater")


# -- helpers --------------------------------------------------------------------------------

def _midi_bytes(midi: pretty_midi.PrettyMIDI) -> bytes:
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def _reload(data: bytes) -> pretty_midi.PrettyMIDI:
    return pretty_midi.PrettyMIDI(io.BytesIO(data))


def music21_midi(name: str) -> pretty_midi.PrettyMIDI:
    from music21 import corpus
    from music21.midi import translate

    score = corpus.parse(name)
    midi_file = translate.music21ObjectToMidiFile(score)
    return _reload(midi_file.writestr())


def chroma_ssm_png(audio: np.ndarray, sample_rate: int, path: Path, sections: list) -> None:
    """Chroma self-similarity: 12 bins from a log-compressed STFT every 0.5 s, smoothed over
    4 s (as CENS features are), each bin's mean removed (our instruments carry a noise floor in
    every bin), correlation between frames; dark = similar. Red ticks: planned section starts."""
    from scipy import ndimage, signal

    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    hop = int(0.5 * sample_rate)
    freqs, _, spec = signal.stft(mono, sample_rate, nperseg=8192, noverlap=8192 - hop)
    magnitude = np.log1p(100 * np.abs(spec))
    valid = (freqs > 55) & (freqs < 2000)
    pitch_class = np.round(12 * np.log2(freqs[valid] / 440.0)).astype(int) % 12
    chroma = np.zeros((12, magnitude.shape[1]))
    for pc in range(12):
        chroma[pc] = magnitude[valid][pitch_class == pc].sum(axis=0)
    chroma = ndimage.uniform_filter1d(chroma, size=8, axis=1)
    chroma -= chroma.mean(axis=1, keepdims=True)
    chroma /= np.linalg.norm(chroma, axis=0, keepdims=True) + 1e-9
    ssm = chroma.T @ chroma
    pixels = (np.clip(ssm, 0, 1) * 255).astype(np.uint8)
    image = Image.fromarray(255 - pixels).convert("RGB").resize((600, 600), Image.BILINEAR)
    draw = ImageDraw.Draw(image)
    scale = 600 / ssm.shape[0]
    for section in sections:
        x = section.start_s / 0.5 * scale
        draw.line([(x, 0), (x, 12)], fill=(220, 30, 30), width=2)
        draw.line([(0, x), (12, x)], fill=(220, 30, 30), width=2)
    image.save(path)


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--render", type=int, default=16, help="pictures to render fully")
    parser.add_argument("--ssm-seconds", type=float, default=180.0)
    parser.add_argument("--reference", action="append", default=[], metavar="FILE.mid")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "music"))
    args = parser.parse_args()

    from gateway.pipeline import JobInput, Pipeline
    from imagewave.artifacts import DirectoryArtifactStore
    from imagewave.contracts.jobs import JobOptions
    from imagewave.contracts.scene import Scene
    from imagewave.music_metrics import audio_metrics, symbolic_metrics
    from imagewave.wiring.in_process import InProcessStageClients
    from services.render.arrangement.composer import generate_arrangement
    from services.vlm.serving import VlmServing
    from services.vlm.settings import VlmSettings

    out = Path(args.out)
    (out / "pictures").mkdir(parents=True, exist_ok=True)
    print(f"# music benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{platform.machine()}, python {platform.python_version()}")

    # 1. Pictures → scenes (the real describe service, pixel statistics attached).
    vlm = VlmServing(VlmSettings())
    rng = np.random.default_rng(1234)
    scenes: dict[str, Scene] = {}
    for name in PICTURES:
        path = out / "pictures" / f"{name}.png"
        draw_picture(name, rng).save(path)
        scenes[name] = vlm.describe(path.read_bytes()).scene
        (out / "pictures" / f"{name}.json").write_text(
            json.dumps(scenes[name].model_dump(mode="json", exclude_none=True), indent=1))

    # 2. Songs at one seed.
    rows, digests = [], set()
    for name, scene in scenes.items():
        started = time.perf_counter()
        midi, summary = generate_arrangement(scene, length_s=args.seconds, seed=args.seed)
        took = time.perf_counter() - started
        data = _midi_bytes(midi)
        digests.add(hashlib.sha256(data).hexdigest())
        metrics = symbolic_metrics(_reload(data))
        rows.append({"name": name, "summary": summary, "metrics": metrics, "compose_s": took,
                     "sources": [s.name for s in scene.sound_sources]})
    three_minutes = []
    for scene in list(scenes.values())[:6]:
        started = time.perf_counter()
        generate_arrangement(scene, length_s=180.0, seed=args.seed)
        three_minutes.append(time.perf_counter() - started)

    # 3. Full renders: loudness spread and stems.
    audio_rows = {}
    for name in list(scenes)[:args.render]:
        job_dir = out / "songs" / name
        store = DirectoryArtifactStore(job_dir)
        image_bytes = (out / "pictures" / f"{name}.png").read_bytes()
        store.put_bytes("job", "input/image.png", image_bytes)
        started = time.perf_counter()
        pipeline = Pipeline(store, InProcessStageClients(), _QuietReporter())
        for marker in ("arrangement.json", "arrangement.mid", "mix.wav"):
            (job_dir / marker).unlink(missing_ok=True)
        pipeline(JobInput("job", JobOptions(audio_length_in_s=args.seconds, seed=args.seed),
                          "input/image.png"))
        mix, rate = sf.read(job_dir / "mix.wav", dtype="float32")
        stems = {p.stem: sf.read(p, dtype="float32")[0]
                 for p in sorted((job_dir / "stems").glob("*.flac"))}
        audio_rows[name] = audio_metrics(mix, rate, stems)
        audio_rows[name]["render_s"] = time.perf_counter() - started

    # 4. References.
    references = []
    for piece in MUSIC21_PIECES:
        try:
            references.append((f"music21 {piece}", symbolic_metrics(music21_midi(piece))))
        except Exception as exc:  # a corpus without that piece: say so, keep going
            print(f"(skipped {piece}: {type(exc).__name__}: {exc})")
    for path in args.reference:
        references.append((Path(path).name, symbolic_metrics(pretty_midi.PrettyMIDI(path))))

    # 5. Self-similarity of a long song.
    first = next(iter(scenes))
    long_dir = out / "songs" / f"{first}_long"
    store = DirectoryArtifactStore(long_dir)
    store.put_bytes("job", "input/image.png", (out / "pictures" / f"{first}.png").read_bytes())
    for marker in ("arrangement.json", "arrangement.mid", "mix.wav"):
        (long_dir / marker).unlink(missing_ok=True)
    Pipeline(store, InProcessStageClients(), _QuietReporter())(JobInput(
        "job", JobOptions(audio_length_in_s=args.ssm_seconds, seed=args.seed),
        "input/image.png"))
    long_mix, rate = sf.read(long_dir / "mix.wav", dtype="float32")
    from imagewave.contracts.stages import ArrangementSummary

    long_summary = ArrangementSummary.model_validate(
        json.loads((long_dir / "arrangement.json").read_text()))
    ssm_path = out / f"ssm_{first}_{int(args.ssm_seconds)}s.png"
    chroma_ssm_png(long_mix, rate, ssm_path, long_summary.sections)

    _report(rows, digests, three_minutes, audio_rows, references, ssm_path, long_summary, args)
    return 0


class _QuietReporter:
    def stage(self, stage, status, progress) -> None:
        pass

    def is_canceled(self) -> bool:
        return False


def _report(rows, digests, three_minutes, audio_rows, references, ssm_path, long_summary,
            args) -> None:
    print(f"\n## Songs: {len(rows)} pictures, seed {args.seed}, {args.seconds:g} s\n")
    print("| picture | sources | style | key | meter | tempo | form | harmony bars | drum bars "
          "distinct | vel std | rest bars | clashes | pc entropy | density var | spread LU | "
          "stems vs mix LU (bass/drums/guitar/keyboard) |")
    print("|" + "---|" * 16)
    for row in rows:
        s, m = row["summary"], row["metrics"]
        form = " ".join(section.name.replace(" ", "") for section in s.sections)
        audio = audio_rows.get(row["name"])
        spread = f"{audio['loudness_spread_lu']:.1f}" if audio else "–"
        stems = "/".join(f"{v:+.0f}" for v in audio["stem_vs_mix_lu"].values()) if audio else "–"
        print(f"| {row['name']} | {', '.join(row['sources'][:3])} | {s.style.value} | "
              f"{s.key} {s.mode} | {s.meter} | {s.tempo_bpm:.1f} | {form} | "
              f"{m.distinct_harmony_bars} | {m.distinct_drum_bars_ratio:.2f} | "
              f"{m.velocity_std:.1f} | {m.melody_rest_bar_ratio:.2f} | "
              f"{m.melody_clash_ratio:.3f} | {m.pitch_class_entropy:.2f} | "
              f"{m.density_variation:.2f} | {spread} | {stems} |")
    metrics = [r["metrics"] for r in rows]
    keys = {(r["summary"].key, r["summary"].mode) for r in rows}
    tempos = {round(r["summary"].tempo_bpm, 1) for r in rows}
    styles = {r["summary"].style.value for r in rows}
    spreads = [a["loudness_spread_lu"] for a in audio_rows.values()]
    worst_stem = [min(a["stem_vs_mix_lu"].values()) for a in audio_rows.values()
                  if a.get("stem_vs_mix_lu")]
    stems_present = [len(a.get("stem_vs_mix_lu", {})) for a in audio_rows.values()]
    print(f"\n- distinct songs {len(digests)} of {len(rows)}; keys (tonic+mode) {len(keys)}; "
          f"tempos {len(tempos)}; styles {len(styles)} ({', '.join(sorted(styles))})")
    print(f"- medians: harmony bars {_median([m.distinct_harmony_bars for m in metrics])}, "
          f"distinct drum bars {_median([m.distinct_drum_bars_ratio for m in metrics]):.2f}, "
          f"velocity std {_median([m.velocity_std for m in metrics]):.1f}, "
          f"rest bars {_median([m.melody_rest_bar_ratio for m in metrics]):.2f}, "
          f"clashes {_median([m.melody_clash_ratio for m in metrics]):.3f} "
          f"(max {max(m.melody_clash_ratio for m in metrics):.3f}), "
          f"pc entropy {_median([m.pitch_class_entropy for m in metrics]):.2f}, "
          f"density variation {_median([m.density_variation for m in metrics]):.2f}")
    if spreads:
        print(f"- rendered {len(spreads)}: loudness spread median {_median(spreads):.1f} LU "
              f"(min {min(spreads):.1f}); stems per song {min(stems_present)}..."
              f"{max(stems_present)}; quietest stem vs mix median {_median(worst_stem):.1f} LU "
              f"(worst {min(worst_stem):.1f}); render median "
              f"{_median([a['render_s'] for a in audio_rows.values()]):.1f} s")
    print(f"- compose a 180 s song: median {1000 * _median(three_minutes):.0f} ms, "
          f"max {1000 * max(three_minutes):.0f} ms; 120 s songs median "
          f"{1000 * _median([r['compose_s'] for r in rows]):.0f} ms")
    print("\n## Real pieces, same metrics\n")
    print("| piece | bars | harmony bars | drum bars distinct | vel std | rest bars | clashes | "
          "pc entropy | density var |")
    print("|" + "---|" * 9)
    for name, m in references:
        drums = f"{m.distinct_drum_bars_ratio:.2f}" if m.distinct_drum_bars_ratio else "–"
        print(f"| {name} | {m.bars} | {m.distinct_harmony_bars} | {drums} | "
              f"{m.velocity_std:.1f} | {m.melody_rest_bar_ratio:.2f} | "
              f"{m.melody_clash_ratio:.3f} | {m.pitch_class_entropy:.2f} | "
              f"{m.density_variation:.2f} |")
    print(f"\nself-similarity: {ssm_path} ({long_summary.style.value}, "
          f"{long_summary.key} {long_summary.mode}, sections "
          + ", ".join(f"{s.name}@{s.start_s:.0f}s" for s in long_summary.sections) + ")")


if __name__ == "__main__":
    raise SystemExit(main())
