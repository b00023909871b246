"""Benchmark: building instruments, and rendering a long song against FluidSynth, whole processes.

    .venv/bin/python bench/render.py [--length 192] [--arrangements 3] [--rounds 3] [--keep DIR]

1. Writes four 4-second 16 kHz wavs (wind, rain, rumble, knocks: weakly pitched sound effects
   like the text-to-audio stage makes), then times building the four instruments from them
   (target: <= 2 s wall for all four).
2. Generates a long multi-track MIDI with the project's own arranger (several arrangements of
   one scene stacked: 192 s, >= 9,000 notes, >= 12 tracks).
3. Renders it, alternating rounds, as two whole processes each measured by `/usr/bin/time -v`
   (wall clock and peak RSS): `fluidsynth -ni -F out.wav -r 48000 FluidR3_GM.sf2 song.mid`
   (Debian `fluidsynth` + `fluid-soundfont-gm`) and `imagewave render song.mid --instruments DIR
   -o mix.wav` (imports, parse, render, mix, master, write). Targets: ours >= 5x faster (median
   of the rounds), peak RSS <= 500 MB.
4. The memory bomb: a 430-byte MIDI that holds 64 pitches for 300 s, rendered by the same CLI:
   it must finish in <= 1 GB peak RSS or be refused (exit status 2, a message naming `midi`).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pretty_midi
import soundfile as sf
from scipy import signal

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from imagewave.contracts.scene import Mood, Role, Scene  # noqa: E402
from services.render.arrangement.composer import generate_arrangement  # noqa: E402
from services.render.instruments.build import build_instrument  # noqa: E402

SOURCE_RATE = 16_000
RATE = 48_000
FLUID_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
TIME = Path("/usr/bin/time")


def effect_sources(seconds: float = 4.0) -> dict[Role, np.ndarray]:
    """Four weakly pitched effects, one per role."""
    rng = np.random.default_rng(0)
    n = int(seconds * SOURCE_RATE)
    t = np.arange(n) / SOURCE_RATE
    wind = signal.lfilter([1.0], [1.0, -0.9], rng.standard_normal(n))
    wind *= 0.6 + 0.4 * np.sin(2 * np.pi * 0.4 * t)
    drops = np.zeros(n)
    drops[rng.integers(0, n, 300)] = rng.uniform(-1, 1, 300)
    rain = signal.lfilter([1.0], [1.0, -0.9], drops) + 0.05 * rng.standard_normal(n)
    rumble = signal.sosfilt(signal.butter(4, 300, "lowpass", fs=SOURCE_RATE, output="sos"),
                            rng.standard_normal(n)) + 0.02 * np.sin(2 * np.pi * 57.3 * t)
    knocks = np.zeros(n)
    for onset in np.sort(rng.uniform(0, seconds - 0.3, 10)):
        length = int(rng.uniform(0.05, 0.25) * SOURCE_RATE)
        start = int(onset * SOURCE_RATE)
        burst = rng.standard_normal(length) * np.exp(-np.arange(length) / (0.2 * length))
        knocks[start:start + length] += burst[: n - start]
    sources = {Role.keyboard: wind, Role.guitar: rain, Role.bass: rumble, Role.drums: knocks}
    return {role: (0.5 * x / np.abs(x).max()).astype(np.float32) for role, x in sources.items()}


def long_midi(length_s: float, arrangements: int) -> tuple[bytes, int, int]:
    scene = Scene(scene_description="a busy harbour market", mood_description="lively, bright",
                  sound_sources=[{"name": "crowd", "variants": [{"play_method": "chatter"}]}],
                  mood=Mood(valence=0.5, arousal=0.8))
    song = None
    for seed in range(arrangements):
        midi, _ = generate_arrangement(scene, length_s=length_s, seed=seed)
        if song is None:
            song = midi
        else:
            song.instruments.extend(midi.instruments)
    buffer = io.BytesIO()
    song.write(buffer)
    notes = sum(len(track.notes) for track in song.instruments)
    return buffer.getvalue(), notes, len(song.instruments)


def held_chord_midi(pitches: int = 64, seconds: float = 300.0) -> bytes:
    """One track holding `pitches` keys from 0 to `seconds`: a few hundred bytes of MIDI."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    track = pretty_midi.Instrument(program=0)
    track.notes = [pretty_midi.Note(velocity=100, pitch=36 + i, start=0.0, end=seconds)
                   for i in range(pitches)]
    midi.instruments.append(track)
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int, str]:
    """(wall s, peak RSS MB, exit status, stderr tail) of a whole process under time -v."""
    started = time.perf_counter()
    done = subprocess.run([str(TIME), "-v", *command], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    peak_mb = int(rss.group(1)) / 1024 if rss else float("nan")
    return wall, peak_mb, done.returncode, done.stderr[-2000:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=float, default=192.0, help="song length in seconds")
    parser.add_argument("--arrangements", type=int, default=3, help="arrangements stacked")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", help="write the work files here instead of a temporary dir")
    args = parser.parse_args()
    fluidsynth = shutil.which("fluidsynth")
    if fluidsynth is None or not FLUID_SOUNDFONT.is_file() or not TIME.is_file():
        print("needs Debian packages fluidsynth, fluid-soundfont-gm and time", file=sys.stderr)
        return 2

    print(f"# render benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"python {platform.python_version()}, load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="imagewave-bench-render-") as tmp:
        work = Path(args.keep or tmp)
        work.mkdir(parents=True, exist_ok=True)
        wavs = {}
        for role, samples in effect_sources().items():
            wavs[role] = work / f"{role.value}.wav"
            sf.write(wavs[role], samples, SOURCE_RATE)

        build_s = []
        for round_index in range(args.rounds):
            started = time.perf_counter()
            for role, path in wavs.items():
                samples, rate = sf.read(path, dtype="float32")
                build_instrument(samples, rate, role,
                                 work / f"build{round_index}" / role.value)
            build_s.append(time.perf_counter() - started)
        print(f"build four instruments from four 4 s wavs: "
              f"{', '.join(f'{s:.2f}' for s in build_s)} s "
              f"(first {build_s[0]:.2f} s, median {statistics.median(build_s):.2f} s; "
              f"target <= 2 s)")
        instruments_dir = work / "build0"

        midi_bytes, notes, tracks = long_midi(args.length, args.arrangements)
        midi_path = work / "song.mid"
        midi_path.write_bytes(midi_bytes)
        print(f"MIDI: {notes} notes, {tracks} tracks, {args.length:.0f} s")

        env = {**os.environ, "PYTHONPATH": str(REPO)}
        ours_command = [sys.executable, "-m", "imagewave.cli", "render", str(midi_path),
                        "--instruments", str(instruments_dir), "-o", str(work / "mix.wav")]
        fluid_command = [fluidsynth, "-ni", "-F", str(work / "fluid.wav"), "-r", str(RATE),
                         str(FLUID_SOUNDFONT), str(midi_path)]
        fluid, ours = [], []
        for _ in range(args.rounds):
            fluid.append(timed(fluid_command))
            ours.append(timed(ours_command, env))
            for name, (_, _, status, tail) in (("fluidsynth", fluid[-1]), ("ours", ours[-1])):
                if status != 0:
                    print(f"{name} failed ({status}): {tail}", file=sys.stderr)
                    return 1
        fluid_median = statistics.median(run[0] for run in fluid)
        ours_median = statistics.median(run[0] for run in ours)
        print(f"FluidSynth: {', '.join(f'{r[0]:.2f}' for r in fluid)} s "
              f"(median {fluid_median:.2f} s), peak RSS {max(r[1] for r in fluid):.0f} MB")
        print(f"ours:       {', '.join(f'{r[0]:.2f}' for r in ours)} s "
              f"(median {ours_median:.2f} s), peak RSS {max(r[1] for r in ours):.0f} MB "
              f"(target <= 500 MB)")
        print(f"speed-up: {fluid_median / ours_median:.1f}x median/median, "
              f"{min(r[0] for r in fluid) / min(r[0] for r in ours):.1f}x best/best "
              f"(target >= 5x)")
        mix, rate = sf.read(work / "mix.wav", dtype="float32")
        from services.render.playback.mastering import integrated_loudness, true_peak

        print(f"our mix: {len(mix) / rate:.1f} s, "
              f"{integrated_loudness(mix.T, rate):.2f} LUFS (pyloudnorm), "
              f"true peak {20 * np.log10(true_peak(np.ascontiguousarray(mix.T))):.2f} dBTP")

        bomb = work / "held.mid"
        bomb.write_bytes(held_chord_midi())
        wall, peak_mb, status, tail = timed(
            [sys.executable, "-m", "imagewave.cli", "render", str(bomb), "--instruments",
             str(instruments_dir), "-o", str(work / "held.wav")], env)
        errors = [line for line in tail.splitlines() if "error" in line]
        outcome = ("rendered" if status == 0 else
                   f"refused (exit {status}: {errors[0][:160]})" if errors
                   else f"failed ({status})")
        print(f"held chord: {len(bomb.read_bytes())}-byte MIDI, 64 pitches for 300 s: {outcome}, "
              f"{wall:.2f} s, peak RSS {peak_mb:.0f} MB (target <= 1 GB or refused naming midi)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
