"""Benchmark: building instruments, and rendering a long song against FluidSynth.

    .venv/bin/python bench/render.py [--length 192] [--arrangements 3] [--rounds 3]

1. Writes four 4-second 16 kHz wavs (wind, rain, rumble, knocks: weakly pitched sound effects
   like the text-to-audio stage makes), then times building the four instruments from them
   (target: <= 2 s wall for all four).
2. Generates a long multi-track MIDI with the project's own arranger (several arrangements of
   one scene stacked: >= 3 minutes, >= 5,000 notes, >= 10 tracks).
3. Renders it, alternating rounds, with FluidSynth (`fluidsynth -ni -F out.wav -r 48000
   FluidR3_GM.sf2 song.mid`, Debian `fluidsynth` + `fluid-soundfont-gm`) and with our sampler
   (parse + render + master + write mix.wav, in process), and prints both wall times and the
   ratio (target: ours >= 5x faster).
"""

from __future__ import annotations

import argparse
import io
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyloudnorm
import soundfile as sf
from scipy import signal

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from imagewave.contracts.scene import Mood, Role, Scene  # noqa: E402
from imagewave.midi_validation import MAX_MIDI_NOTES, MAX_MIDI_SECONDS, load_midi  # noqa: E402
from services.render.arrangement.composer import generate_arrangement  # noqa: E402
from services.render.instruments.build import build_instrument  # noqa: E402
from services.render.playback.mastering import true_peak  # noqa: E402
from services.render.playback.sampler import render_song  # noqa: E402

SOURCE_RATE = 16_000
RATE = 48_000
FLUID_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=float, default=192.0, help="song length in seconds")
    parser.add_argument("--arrangements", type=int, default=3, help="arrangements stacked")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    fluidsynth = shutil.which("fluidsynth")
    if fluidsynth is None or not FLUID_SOUNDFONT.is_file():
        print("needs Debian packages fluidsynth and fluid-soundfont-gm", file=sys.stderr)
        return 2

    print(f"# render benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{platform.processor() or platform.machine()}, python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="imagewave-bench-render-") as tmp:
        work = Path(tmp)
        wavs = {}
        for role, samples in effect_sources().items():
            wavs[role] = work / f"{role.value}.wav"
            sf.write(wavs[role], samples, SOURCE_RATE)

        build_s = []
        for round_index in range(args.rounds):
            started = time.perf_counter()
            instruments = {}
            for role, path in wavs.items():
                samples, rate = sf.read(path, dtype="float32")
                instruments[role] = build_instrument(samples, rate, role,
                                                     work / f"build{round_index}" / role.value)
            build_s.append(time.perf_counter() - started)
        print(f"build four instruments from four 4 s wavs: "
              f"{', '.join(f'{s:.2f}' for s in build_s)} s "
              f"(first {build_s[0]:.2f} s, median {statistics.median(build_s):.2f} s; "
              f"target <= 2 s)")

        midi_bytes, notes, tracks = long_midi(args.length, args.arrangements)
        midi_path = work / "song.mid"
        midi_path.write_bytes(midi_bytes)
        print(f"MIDI: {notes} notes, {tracks} tracks, {args.length:.0f} s")

        fluid_s, ours_s = [], []
        for _ in range(args.rounds):
            started = time.perf_counter()
            subprocess.run([fluidsynth, "-ni", "-F", str(work / "fluid.wav"), "-r", str(RATE),
                            str(FLUID_SOUNDFONT), str(midi_path)], check=True,
                           capture_output=True)
            fluid_s.append(time.perf_counter() - started)

            started = time.perf_counter()
            midi = load_midi(midi_path.read_bytes(), max_notes=MAX_MIDI_NOTES,
                             max_seconds=MAX_MIDI_SECONDS)
            song = render_song(midi, instruments, role_overrides={}, sample_rate=RATE,
                               target_lufs=-14.0, true_peak_dbtp=-1.0)
            sf.write(work / "mix.wav", song.mix, RATE, subtype="FLOAT")
            ours_s.append(time.perf_counter() - started)

        fluid_median, ours_median = statistics.median(fluid_s), statistics.median(ours_s)
        print(f"FluidSynth: {', '.join(f'{s:.2f}' for s in fluid_s)} s "
              f"(median {fluid_median:.2f} s)")
        print(f"ours:       {', '.join(f'{s:.2f}' for s in ours_s)} s "
              f"(median {ours_median:.2f} s)")
        print(f"speed-up: {fluid_median / ours_median:.1f}x median/median, "
              f"{min(fluid_s) / min(ours_s):.1f}x best/best (target >= 5x)")
        mix = np.asarray(song.mix, dtype=np.float64)
        print(f"our mix: {len(mix) / RATE:.1f} s, "
              f"{pyloudnorm.Meter(RATE).integrated_loudness(mix):.2f} LUFS (pyloudnorm), "
              f"true peak {20 * np.log10(true_peak(np.asarray(song.mix.T))):.2f} dBTP")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
