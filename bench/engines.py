"""Benchmark: the embedded engines' speed and their acceptance measures (issue C).

    .venv/bin/python bench/engines.py [--seconds 4] [--sample-rate 48000] [--seeds 2]
                                      [--calibrate] [--per-source]

Prints, for the procedural sfx engine over every example source (services/t2a/engines/
procedural/examples.py) and the seed's two scenes: seconds of compute per second of audio
(target ≤ 0.1), tonality per source against the non-musical threshold, and how many effects the
engine had to mask; for the dsp timbre engine, per voice: seconds per second of audio (target
≤ 0.1), envelope correlation with the effect (target ≥ 0.8), spectral centroid and
harmonicity. `--calibrate` prints the reference clips the tonality threshold was chosen from.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from imagewave.analysis import (  # noqa: E402
    NON_MUSICAL_TONALITY_MAX,
    calibration_signals,
    envelope_correlation,
    harmonicity,
    spectral_centroid_hz,
    tonality,
)
from imagewave.contracts.scene import Role, Scene  # noqa: E402
from services.t2a.engines.procedural import ProceduralSfxEngine  # noqa: E402
from services.t2a.engines.procedural.examples import EXAMPLE_SOURCES, example_source  # noqa: E402
from services.timbre.engines.dsp import DspTimbreEngine  # noqa: E402

SEED_EXAMPLES = REPO / "tests" / "data" / "seed"
MELODIC = (Role.keyboard, Role.bass, Role.guitar)


def _scenes() -> list[Scene]:
    sources = [example_source(*row) for row in EXAMPLE_SOURCES]
    scenes = [Scene(scene_description="benchmark", mood_description="neutral",
                    sound_sources=sources[i:i + 16]) for i in range(0, len(sources), 16)]
    for path in sorted(SEED_EXAMPLES.glob("*.json")):
        scenes.append(Scene.model_validate(json.loads(path.read_text())))
    return scenes


def calibrate(sample_rate: int, seconds: float) -> None:
    print(f"\n## tonality calibration at {sample_rate} Hz "
          f"(threshold {NON_MUSICAL_TONALITY_MAX})")
    by_kind: dict[str, list[float]] = {}
    for name, (kind, samples) in calibration_signals(sample_rate, seconds).items():
        score = tonality(samples, sample_rate)
        by_kind.setdefault(kind, []).append(score)
        print(f"{kind:8s} {name:28s} tonality {score:.3f} "
              f"harmonicity {harmonicity(samples, sample_rate):.3f}")
    print(f"musical min {min(by_kind['musical']):.3f}, noise max {max(by_kind['noise']):.3f}")


def bench_sfx(engine: ProceduralSfxEngine, scenes: list[Scene], seconds: float, sample_rate: int,
              seeds: int, per_source: bool) -> list[np.ndarray]:
    print(f"\n## procedural sfx: {seconds} s effects at {sample_rate} Hz, seeds 0..{seeds - 1}")
    per_second, scores, masked, effects = [], [], 0, []
    for seed in range(seeds):
        for scene in scenes:
            started = time.perf_counter()
            rendered = engine.generate(scene, audio_length_in_s=seconds,
                                       sample_rate=sample_rate, seed=seed)
            elapsed = time.perf_counter() - started
            per_second.append(elapsed / (seconds * len(rendered)))
            for effect in rendered:
                score = tonality(effect.samples, sample_rate)
                scores.append((score, scene.sound_sources[effect.source_index].name, seed))
                masked += "noise bed raised" in effect.prompt
                if seed == 0:
                    effects.append(effect.samples)
                if per_source and seed == 0:
                    print(f"  tonality {score:.3f}  {effect.prompt[:110]}")
    values = [s for s, _, _ in scores]
    worst = sorted(scores, reverse=True)[:5]
    print(f"speed: median {statistics.median(per_second):.4f} s, max {max(per_second):.4f} s "
          f"per second of audio per source (target ≤ 0.1)")
    print(f"tonality over {len(values)} effects: median {statistics.median(values):.3f}, "
          f"max {max(values):.3f}, all < {NON_MUSICAL_TONALITY_MAX}: "
          f"{all(v < NON_MUSICAL_TONALITY_MAX for v in values)}; masked by the guard: {masked}")
    print("most tonal: " + ", ".join(f"{n} (seed {s}) {v:.3f}" for v, n, s in worst))
    return effects


def bench_timbre(engine: DspTimbreEngine, effects: list[np.ndarray], sample_rate: int) -> None:
    print(f"\n## dsp timbre over {len(effects)} effects at {sample_rate} Hz")
    for role in MELODIC:
        per_second, correlations, centroids, periodicity = [], [], [], []
        for effect in effects:
            started = time.perf_counter()
            result = engine.transfer(effect, sample_rate, role)
            per_second.append((time.perf_counter() - started) / (len(effect) / sample_rate))
            correlations.append(envelope_correlation(effect, result.samples, sample_rate))
            centroids.append(spectral_centroid_hz(result.samples, sample_rate))
            periodicity.append(harmonicity(result.samples, sample_rate))
        print(f"{role.value:8s} root {result.root_pitch:6.2f}  speed median "
              f"{statistics.median(per_second):.4f} max {max(per_second):.4f} s/s (target ≤ 0.1)"
              f"  envelope corr min {min(correlations):.3f} median "
              f"{statistics.median(correlations):.3f} (target ≥ 0.8)  centroid median "
              f"{statistics.median(centroids):6.0f} Hz  harmonicity median "
              f"{statistics.median(periodicity):.3f}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--sample-rate", type=int, default=48_000)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--per-source", action="store_true")
    args = parser.parse_args()

    print(f"# engines benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{platform.processor() or platform.machine()}, python {platform.python_version()}")
    if args.calibrate:
        for sample_rate in (16_000, 22_050, args.sample_rate):
            calibrate(sample_rate, args.seconds)
    sfx_engine = ProceduralSfxEngine()
    started = time.perf_counter()
    sfx_engine.generate(_scenes()[-1], audio_length_in_s=1.0, sample_rate=args.sample_rate,
                        seed=0)
    print(f"\nfirst call (warm-up, 1 s effects of one scene): "
          f"{time.perf_counter() - started:.3f} s")
    effects = bench_sfx(sfx_engine, _scenes(), args.seconds, args.sample_rate, args.seeds,
                        args.per_source)
    bench_timbre(DspTimbreEngine(), effects, args.sample_rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
