"""Benchmark: the `lite` describe engine's latency after load (target well under 200 ms).

    .venv/bin/python bench/describe.py [--golden tests/data/golden/dev.json] [--rounds 5]
                                       [--threads N]

Loads the engine once (load time printed separately), warms it up, then describes every golden
image `--rounds` times and prints per-image median latency, the overall median and 90th
percentile, the split between the classifier and the rest, and the dev-set scores of the same
run's predictions. CPU time per call is printed too: on a shared machine wall time swings with
the neighbours' load, CPU time much less (with one thread, CPU time ≈ idle wall time).
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

import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from imagewave.wiring.evaluation import score_scene, summarize  # noqa: E402
from services.vlm.engines.lite import LiteDescribeEngine  # noqa: E402
from services.vlm.regions import read_regions  # noqa: E402
from services.vlm.settings import VlmSettings  # noqa: E402

DEFAULT_GOLDEN = REPO / "tests" / "data" / "golden" / "dev.json"
TARGET_MS = 200.0  # issue 14: "well under 200 ms per picture on CPU after load"


def _load_average() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--golden", type=Path, default=DEFAULT_GOLDEN)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    golden = json.loads(args.golden.read_text())
    images = {Path(item["image"]).stem:
              Image.open(args.golden.parent / item["image"]).convert("RGB")
              for item in golden["images"]}

    started = time.perf_counter()
    engine = LiteDescribeEngine.from_settings(VlmSettings())
    load_s = time.perf_counter() - started
    for image in list(images.values())[:2]:
        engine.describe(image)  # warm-up: first calls allocate

    per_image: dict[str, list[float]] = {stem: [] for stem in images}
    classify_ms: list[float] = []
    regions_ms: list[float] = []
    cpu_ms: list[float] = []
    for _ in range(args.rounds):
        for stem, image in images.items():
            started, cpu_started = time.perf_counter(), time.process_time()
            engine.describe(image)
            per_image[stem].append((time.perf_counter() - started) * 1000)
            cpu_ms.append((time.process_time() - cpu_started) * 1000)
            started = time.perf_counter()
            engine.classify_views(image)
            classify_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            read_regions(image)
            regions_ms.append((time.perf_counter() - started) * 1000)

    everything = sorted(ms for times in per_image.values() for ms in times)
    median = statistics.median(everything)
    p90 = everything[int(0.9 * (len(everything) - 1))]
    rows = [score_scene(item, engine.describe(images[Path(item["image"]).stem])
                        .model_dump(mode="json")) for item in golden["images"]]
    mean = summarize(rows)

    print(f"# lite describe benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {platform.processor() or platform.machine()}, torch threads "
          f"{torch.get_num_threads()}, python {platform.python_version()}")
    print(f"load: {load_s:.2f} s")
    for stem, times in per_image.items():
        width, height = images[stem].size
        print(f"{stem:16s} {width:5d}x{height:<5d} median {statistics.median(times):6.1f} ms")
    print(f"describe: median {median:.1f} ms, p90 {p90:.1f} ms over {len(everything)} calls "
          f"(target <= {TARGET_MS:.0f} ms: {'ok' if median <= TARGET_MS else 'MISSED'})")
    print(f"of which classifier (6 views): median {statistics.median(classify_ms):.1f} ms, "
          f"region reading: median {statistics.median(regions_ms):.1f} ms")
    print(f"CPU time per describe: median {statistics.median(cpu_ms):.1f} ms "
          f"(all threads together; load average now {_load_average()})")
    print(f"dev scores: recall {mean['recall']:.3f} precision {mean['precision']:.3f} "
          f"hallucination {mean['hallucination']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
