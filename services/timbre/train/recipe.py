"""Train one RAVE timbre model per instrument from NSynth, then export it for serving.

Runs in the training environment (requirements.txt beside this file), never in serving: it
drives acids-rave's own command line (`rave preprocess`, `rave train`, `rave export`), so the
exported `.ts` is exactly what RAVE's tools make, and serving needs only `torch.jit.load`.

    python -m services.timbre.train.recipe nsynth --nsynth-dir ~/data/nsynth-train \
        --instrument bass --work-dir ~/rave-work --gpu 0

Steps: select NSynth notes of the instrument's family (from NSynth's examples.json) → preprocess
them into RAVE's LMDB at the model's sample rate → train (phase 1, the VAE, then phase 2, the
adversarial fine-tuning, in one run: `--phase-1-steps` < `--max-steps`) → export
(non-streaming, which the serving engine runs in overlapping, batched chunks) → copy to
`<model_dir>/<instrument>.ts`.

`synthetic` runs the same steps on a few generated tones for a handful of steps: the smoke test,
and how `scripts/make_tiny_rave.py` builds the tests' fixtures.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

log = logging.getLogger("rave-recipe")

INSTRUMENTS = ("keyboard", "bass", "guitar")
# NSynth instrument_family_str values for each of our melodic roles.
NSYNTH_FAMILIES = {"keyboard": ("keyboard",), "bass": ("bass",), "guitar": ("guitar",)}
# Pitch range (MIDI) kept per role: the notes a player would use the instrument for.
PITCH_RANGE = {"keyboard": (36, 96), "bass": (28, 67), "guitar": (40, 88)}


@dataclass
class TrainConfig:
    """One RAVE training run. Defaults are the full recipe; the smoke test shrinks them."""

    sampling_rate: int = 16_000  # NSynth's rate: training higher would add no content
    base_configs: list[str] = field(default_factory=lambda: ["v2"])
    overrides: list[str] = field(default_factory=list)  # gin bindings, e.g. "CAPACITY=4"
    max_steps: int = 1_000_000
    phase_1_steps: int = 500_000
    batch: int = 8
    n_signal: int = 65_536  # samples per training example (~4 s at 16 kHz)
    val_every: int = 10_000
    workers: int = 8
    gpu: int = 0  # -1 trains on CPU (smoke tests only)
    streaming: bool = False


def select_nsynth(nsynth_dir: Path, instrument: str, out_dir: Path, *,
                  max_notes: int | None = None, notes_per_file: int = 64) -> int:
    """Write the NSynth notes of the instrument's family and pitch range into `out_dir`.

    NSynth ships `examples.json` (note id → metadata) next to `audio/<note id>.wav` (4 s, 16 kHz).
    Notes are concatenated `notes_per_file` at a time, so RAVE's fixed-length training chunks
    also cover decays and note ends, not only the first seconds of every note.
    Returns how many notes were selected.
    """
    metadata = json.loads((nsynth_dir / "examples.json").read_text())
    families = NSYNTH_FAMILIES[instrument]
    low, high = PITCH_RANGE[instrument]
    selected = [
        note_id for note_id, note in sorted(metadata.items())
        if note["instrument_family_str"] in families and low <= note["pitch"] <= high
        and note["velocity"] >= 50  # the quietest NSynth velocity mostly adds noise floor
    ][:max_notes]
    out_dir.mkdir(parents=True, exist_ok=True)
    for part, start in enumerate(range(0, len(selected), notes_per_file)):
        notes = [sf.read(nsynth_dir / "audio" / f"{note_id}.wav", dtype="float32")
                 for note_id in selected[start : start + notes_per_file]]
        sampling_rate = notes[0][1]
        sf.write(out_dir / f"part_{part:05d}.wav",
                 np.concatenate([samples for samples, _ in notes]), sampling_rate)
    log.info("selected %d NSynth notes for %s", len(selected), instrument)
    return len(selected)


def write_synthetic_notes(out_dir: Path, sampling_rate: int, *, count: int = 4,
                          seconds: float = 8.0) -> None:
    """Decaying harmonic tones plus a little noise: enough for RAVE's tools to run on."""
    rng = np.random.default_rng(0)
    out_dir.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(sampling_rate * seconds)) / sampling_rate
    for index in range(count):
        frequency_hz = 110.0 * 2 ** (index / 3)
        envelope = np.exp(-3.0 * (t % 2.0))
        tone = sum(np.sin(2 * np.pi * frequency_hz * k * t) / k for k in (1, 2, 3))
        audio = 0.3 * envelope * tone + 0.02 * rng.standard_normal(t.size)
        sf.write(out_dir / f"note_{index}.wav", audio.astype(np.float32), sampling_rate)


def _rave(*args: str) -> None:
    command = [str(Path(sys.executable).with_name("rave")), *args]
    log.info("running %s", " ".join(command))
    subprocess.run(command, check=True)


def preprocess(audio_dir: Path, db_dir: Path, config: TrainConfig) -> None:
    _rave("preprocess", "--input_path", str(audio_dir.resolve()),
          "--output_path", str(db_dir.resolve()), "--channels", "1",
          "--sampling_rate", str(config.sampling_rate), "--num_signal", str(config.n_signal))


def train(db_dir: Path, runs_dir: Path, name: str, config: TrainConfig) -> Path:
    """Both phases in one run; returns the run directory that `rave export` reads."""
    overrides = [f"SAMPLING_RATE={config.sampling_rate}",
                 f"PHASE_1_DURATION={config.phase_1_steps}", *config.overrides]
    args = ["train", "--name", name, "--db_path", str(db_dir.resolve()),
            "--out_path", str(runs_dir.resolve()), "--max_steps", str(config.max_steps),
            "--batch", str(config.batch), "--n_signal", str(config.n_signal),
            "--val_every", str(config.val_every), "--workers", str(config.workers),
            "--gpu", str(config.gpu), "--channels", "1"]
    for base in config.base_configs:
        args += ["--config", base]
    for binding in overrides:
        args += ["--override", binding]
    _rave(*args)
    runs = sorted(runs_dir.glob(f"{name}_*"), key=lambda p: p.stat().st_mtime)
    if not runs:
        raise RuntimeError(f"rave train left no run named {name}_* in {runs_dir}")
    return runs[-1]


def export(run_dir: Path, model_path: Path, config: TrainConfig) -> Path:
    export_dir = run_dir / "export"
    args = ["export", "--run", str(run_dir.resolve()), "--output", str(export_dir.resolve()),
            "--name", model_path.stem]
    if config.streaming:
        args.append("--streaming")
    _rave(*args)
    (exported,) = export_dir.glob("*.ts")
    model_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(exported, model_path)
    log.info("exported %s (%d bytes)", model_path, model_path.stat().st_size)
    return model_path


def run(audio_dir: Path, work_dir: Path, instrument: str, model_dir: Path,
        config: TrainConfig) -> Path:
    db_dir = work_dir / f"{instrument}-db"
    if db_dir.exists():
        shutil.rmtree(db_dir)
    preprocess(audio_dir, db_dir, config)
    run_dir = train(db_dir, work_dir / "runs", instrument, config)
    return export(run_dir, model_dir / f"{instrument}.ts", config)


def tiny_config(sampling_rate: int, ratios: list[int], *, streaming: bool) -> TrainConfig:
    """A RAVE v2 shrunk to a few hundred kB, trained for a handful of CPU steps."""
    dilations = [[1, 3]] * len(ratios)
    return TrainConfig(
        sampling_rate=sampling_rate, base_configs=["v2_small"],
        overrides=["CAPACITY=4", "LATENT_SIZE=8", "N_BAND=8", f"RATIOS={ratios}",
                   f"DILATIONS={dilations}"],
        max_steps=4, phase_1_steps=2, batch=2, n_signal=16_384, val_every=2, workers=0,
        gpu=-1, streaming=streaming)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="source", required=True)
    nsynth = sub.add_parser("nsynth", help="the full recipe on NSynth")
    nsynth.add_argument("--nsynth-dir", type=Path, required=True,
                        help="an NSynth split folder: examples.json and audio/")
    nsynth.add_argument("--max-notes", type=int, default=None)
    nsynth.add_argument("--max-steps", type=int, default=TrainConfig.max_steps)
    nsynth.add_argument("--phase-1-steps", type=int, default=TrainConfig.phase_1_steps)
    nsynth.add_argument("--gpu", type=int, default=0)
    smoke = sub.add_parser("synthetic", help="smoke test: generated tones, a few CPU steps")
    for sub_parser in (nsynth, smoke):
        sub_parser.add_argument("--instrument", choices=INSTRUMENTS, required=True)
        sub_parser.add_argument("--work-dir", type=Path, required=True)
        sub_parser.add_argument("--model-dir", type=Path, default=Path("models/rave"))
        sub_parser.add_argument("--sampling-rate", type=int, default=TrainConfig.sampling_rate)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")

    audio_dir = args.work_dir / f"{args.instrument}-audio"
    if args.source == "nsynth":
        config = TrainConfig(sampling_rate=args.sampling_rate, max_steps=args.max_steps,
                             phase_1_steps=args.phase_1_steps, gpu=args.gpu)
        if not select_nsynth(args.nsynth_dir, args.instrument, audio_dir,
                             max_notes=args.max_notes):
            parser.error(f"no NSynth notes of family {args.instrument} in {args.nsynth_dir}")
    else:
        config = tiny_config(args.sampling_rate, [2, 2], streaming=False)
        write_synthetic_notes(audio_dir, args.sampling_rate)
    run(audio_dir, args.work_dir, args.instrument, args.model_dir, config)


if __name__ == "__main__":
    main()
