"""Build the tiny RAVE test fixtures with acids-rave's own tools.

Runs in the training environment (set up as services/timbre/train/README.md says), not the
serving one:
    .venv-train/bin/python scripts/make_tiny_rave.py

It runs the real recipe (services/timbre/train/recipe.py: preprocess → train → export) on a few
generated tones with a RAVE v2 shrunk to a few hundred kB and trained for 4 CPU steps, so the
fixtures are genuine RAVE exports with random-ish weights. Two fixtures differ in what the
serving engine must read from the model, not guess:
- keyboard.ts: 44.1 kHz, compression ratio 32 (8 PQMF bands x ratios 2·2), non-streaming export;
- bass.ts: 22.05 kHz, compression ratio 64 (8 bands x 2·2·2), streaming (cached-conv) export.
There is deliberately no guitar.ts: the tests check that a missing model is a clear error.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from services.timbre.train.recipe import run, tiny_config, write_synthetic_notes  # noqa: E402

FIXTURES = {
    "keyboard": dict(sampling_rate=44_100, ratios=[2, 2], streaming=False),
    "bass": dict(sampling_rate=22_050, ratios=[2, 2, 2], streaming=True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out-dir", type=Path, default=REPO_ROOT / "tests/fixtures/rave")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    for instrument, spec in FIXTURES.items():
        config = tiny_config(spec["sampling_rate"], spec["ratios"], streaming=spec["streaming"])
        with tempfile.TemporaryDirectory() as work:
            audio_dir = Path(work) / "audio"
            write_synthetic_notes(audio_dir, config.sampling_rate)
            run(audio_dir, Path(work), instrument, args.out_dir, config)


if __name__ == "__main__":
    main()
