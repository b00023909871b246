"""Benchmark: `imagewave compose` image → 30 s song, wall time of the whole command, first call
included (a fresh process each run: imports, classifier load, every stage).

    .venv/bin/python bench/compose.py [--seconds 30] [--runs 3] [IMAGE ...]

Prints one line per run and the median; the target (issue C) is ≤ 10 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import soundfile as sf

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("images", nargs="*", default=[str(REPO / "examples" / "seaside.jpg")])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    print(f"# compose benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{platform.processor() or platform.machine()}, python {platform.python_version()}")
    walls = []
    for image in args.images:
        for run in range(args.runs):
            with tempfile.TemporaryDirectory() as out:
                started = time.perf_counter()
                subprocess.run([sys.executable, "-m", "imagewave.cli", "compose", image, "-o",
                                out, "--seconds", str(args.seconds), "--seed", str(run)],
                               check=True, capture_output=True)
                wall = time.perf_counter() - started
                info = sf.info(Path(out) / "mix.wav")
            walls.append(wall)
            print(f"{Path(image).name:24s} run {run + 1}: {wall:6.2f} s wall for a "
                  f"{info.duration:.1f} s song")
    print(f"median {statistics.median(walls):.2f} s, max {max(walls):.2f} s "
          f"over {len(walls)} runs (target ≤ 10 s for 30 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
