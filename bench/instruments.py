"""Benchmark: instruments built from noisy, barely pitched effects — decay, loops, tuning, speed.

    PYTHONPATH=$PWD .venv/bin/python bench/instruments.py [--sources wind,rain,...] [--keys-step 1]
    PYTHONPATH=<checkout> .venv/bin/python bench/instruments.py --time-builds 3   # build time only

For each effect (wind, rain, crowd babble, birdsong chirps, wood knocks: made by the project's
own procedural sfx engine, 4 s at 48 kHz, the way the pipeline makes them) the melodic voices
are made with the dsp timbre engine (as the pipeline's timbre stage does) and built into
keyboard, guitar and bass instruments, plus a drum kit from the raw effect. Then, per instrument:

- build time (all four instruments of one effect, wall) and the sample memory they hold;
- 8 s notes (velocity 100) on a low, a middle and a high key rendered by our sampler: the level
  at 6 s against the note's peak (dB down; target for guitar and bass: >= 12 dB), the envelope
  modulation depth at 2-8 Hz (throb: peak-to-peak dB of the band-passed 10 ms level contour
  between 1 s and 5.5 s, after removing the decay trend);
- every zone's sample with its sustain loop unrolled to 8 s: the largest loop-wrap step against
  the 99.9th percentile of the unrolled note's sample steps (target <= 6x);
- every melodic key (or every third with the default `--keys-step 3`) played for 1 s: voiced
  share and cents off by librosa's pyin (target: voiced >= 60 %, |cents| <= 10).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy import signal

REPO = Path(__file__).resolve().parents[1]
if not os.environ.get("PYTHONPATH"):  # PYTHONPATH=<another checkout> times that one's builder
    sys.path.insert(0, str(REPO))

from imagewave.contracts.scene import Role  # noqa: E402
from services.render.instruments.build import PROFILES, build_instrument  # noqa: E402
from services.render.instruments.sfz import read_sfz  # noqa: E402
from services.render.playback.sampler import render_song  # noqa: E402
from services.t2a.engines.procedural import air, animals, crowd, modal, water  # noqa: E402
from services.t2a.engines.procedural.primitives import SynthContext  # noqa: E402
from services.timbre.engines.dsp import DspTimbreEngine  # noqa: E402
from tests.services.render.conftest import pyin_pitch, single_notes_midi  # noqa: E402

RATE = 48_000
MELODIC = (Role.keyboard, Role.guitar, Role.bass)
SOURCES = {
    "wind": lambda ctx: air.wind(ctx),
    "rain": lambda ctx: water.rain(ctx),
    "crowd": lambda ctx: crowd.babble(ctx),
    "birdsong": lambda ctx: animals.bird_chirps(ctx),
    "knocks": lambda ctx: modal.impacts(ctx, "wood"),
}


def make_effect(name: str, seconds: float = 4.0, seed: int = 7) -> np.ndarray:
    ctx = SynthContext(rng=np.random.default_rng(seed), sample_rate=RATE,
                       n_samples=int(seconds * RATE))
    audio = np.asarray(SOURCES[name](ctx), dtype=np.float64)
    return (0.5 * audio / (np.max(np.abs(audio)) + 1e-12)).astype(np.float32)


def level_db(audio: np.ndarray, hop: int) -> np.ndarray:
    frames = len(audio) // hop
    rms = np.sqrt(np.mean(audio[: frames * hop].reshape(frames, hop) ** 2, axis=1))
    return 20 * np.log10(rms + 1e-9)


def note_measures(audio: np.ndarray) -> tuple[float, float]:
    """(dB down at 6 s from the peak, 2-8 Hz envelope modulation depth in dB peak-to-peak)."""
    contour = level_db(audio, RATE // 100)  # 10 ms frames
    peak = contour[:50].max()
    at_6s = contour[595:605].mean()
    sustain = contour[100:550]
    trend = np.polyval(np.polyfit(np.arange(len(sustain)), sustain, 2), np.arange(len(sustain)))
    sos = signal.butter(2, (2.0, 8.0), "bandpass", fs=100, output="sos")
    band = signal.sosfiltfilt(sos, sustain - trend)
    return float(peak - at_6s), float(2 * np.sqrt(2) * np.std(band[50:-50]))


def loop_wrap_ratio(sfz_path: Path) -> float:
    """Worst over zones: largest wrap step / 99.9th percentile of steps of the unrolled note."""
    import soundfile as sf

    sfz = read_sfz(sfz_path)
    worst = 0.0
    for region in sfz.regions:
        if region.loop_start is None or region.loop_end is None:
            continue
        data, _ = sf.read(sfz.sample_path(region), dtype="float64")
        start, end = region.loop_start, region.loop_end + 1
        cycle = data[start:end]
        repeats = int(np.ceil(8 * RATE / len(cycle)))
        unrolled = np.concatenate([data[:end], np.tile(cycle, repeats)])[: 8 * RATE]
        steps = np.abs(np.diff(unrolled))
        wraps = np.arange(end, len(unrolled), len(cycle)) - 1
        wraps = wraps[wraps < len(steps)]
        if wraps.size:
            worst = max(worst, float(steps[wraps].max() / (np.percentile(steps, 99.9) + 1e-12)))
    return worst


def render_notes(sfz_path: Path, role: Role, notes: list[tuple[int, float, float]]) -> np.ndarray:
    song = render_song(single_notes_midi(notes), {role: sfz_path}, role_overrides={0: role},
                       sample_rate=RATE, target_lufs=-14.0, true_peak_dbtp=-1.0)
    return song.mix.mean(axis=1)


def drum_measures(kit_dir: Path) -> str:
    """Crash/open-hat ring time (s to fall 20 dB), the share of energy above 6 kHz of the hats
    and cymbals (lowest), and the largest share of any 10 Hz band in snare/hats/cymbals."""
    import soundfile as sf

    def load(piece: str) -> np.ndarray:
        return sf.read(kit_dir / "samples" / f"drums_{piece}.wav")[0]

    def ring_s(audio: np.ndarray) -> float:
        contour = level_db(audio, RATE // 100)
        peak = int(np.argmax(contour))
        below = np.flatnonzero(contour[peak:] < contour[peak] - 20)
        return (below[0] if below.size else len(contour) - peak) / 100

    def spectrum(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.abs(np.fft.rfft(audio)) ** 2, np.fft.rfftfreq(len(audio), 1 / RATE)

    treble, tone = 1.0, 0.0
    for piece in ("closed_hat", "open_hat", "crash", "ride"):
        power, frequencies = spectrum(load(piece))
        treble = min(treble, float(power[frequencies >= 6000].sum() / power.sum()))
    for piece in ("snare", "closed_hat", "open_hat", "crash", "ride"):
        audio = load(piece)
        power, _ = spectrum(audio)
        band = max(1, int(round(10 * len(audio) / RATE)))
        tone = max(tone, float(np.convolve(power, np.ones(band), mode="same").max() / power.sum()))
    return (f"crash ring {ring_s(load('crash')):.2f} s, open hat {ring_s(load('open_hat')):.2f} s,"
            f" >6 kHz min {treble:.0%}, max 10 Hz-band share {tone:.0%}")


def sample_bytes(out_dir: Path) -> int:
    import soundfile as sf

    return sum(sf.info(p).frames * 4 for p in (out_dir / "samples").glob("*.wav"))


def time_builds(timbre: DspTimbreEngine, rounds: int) -> None:
    import statistics

    effect = make_effect("wind")
    voices = {role: timbre.transfer(effect, RATE, role) for role in MELODIC}

    def build_all(root: Path) -> None:
        for role, voice in voices.items():
            build_instrument(voice.samples, RATE, role, root / role.value,
                             root_pitch=voice.root_pitch)
        build_instrument(effect, RATE, Role.drums, root / "drums")

    with tempfile.TemporaryDirectory() as tmp:
        build_all(Path(tmp) / "warm")
        walls = []
        for index in range(rounds):
            started = time.perf_counter()
            build_all(Path(tmp) / str(index))
            walls.append(time.perf_counter() - started)
    import services.render.instruments.build as built_by

    print(f"{built_by.__file__}: four instruments in {statistics.median(walls):.2f} s "
          f"(median of {rounds}: {', '.join(f'{w:.2f}' for w in walls)})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", default=",".join(SOURCES))
    parser.add_argument("--keys-step", type=int, default=3)
    parser.add_argument("--time-builds", type=int, default=0,
                        help="only time N builds of the four instruments from the wind effect "
                             "(run it with PYTHONPATH at another checkout to compare)")
    args = parser.parse_args()
    timbre = DspTimbreEngine()
    if args.time_builds:
        time_builds(timbre, args.time_builds)
        return
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{platform.processor() or platform.machine()}, python {platform.python_version()}")
    print("# command: " + " ".join(sys.argv))
    print("source  role      build_s  decay6s_dB(lo/mid/hi)  throb_dB(lo/mid/hi)  "
          "wrap/p99.9  voiced_min  cents_max  unvoiced_keys  MB")
    for name in args.sources.split(","):
        effect = make_effect(name)
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            voices = {}
            for role in MELODIC:
                result = timbre.transfer(effect, RATE, role)
                voices[role] = (result.samples, result.root_pitch)
            started = time.perf_counter()
            built = {role: build_instrument(voice, RATE, role, root / role.value,
                                            root_pitch=root_pitch)
                     for role, (voice, root_pitch) in voices.items()}
            built[Role.drums] = build_instrument(effect, RATE, Role.drums, root / "drums")
            build_s = time.perf_counter() - started
            for role in MELODIC:
                profile = PROFILES[role]
                keys = [profile.lowest_key, (profile.lowest_key + profile.highest_key) // 2,
                        profile.highest_key]
                audio = render_notes(built[role], role, [(k, 10 * i, 10 * i + 8.0)
                                                         for i, k in enumerate(keys)])
                measures = [note_measures(audio[10 * i * RATE:(10 * i + 8) * RATE])
                            for i in range(len(keys))]
                melodic = list(range(profile.lowest_key, profile.highest_key + 1,
                                     args.keys_step))
                tuning_audio = render_notes(built[role], role, [(k, 1.5 * i, 1.5 * i + 1.0)
                                                                for i, k in enumerate(melodic)])
                voiced_all, cents_all, bad = [], [], []
                for i, key in enumerate(melodic):
                    segment = tuning_audio[int(1.5 * i * RATE):int((1.5 * i + 1.0) * RATE)]
                    voiced, cents = pyin_pitch(segment, RATE, key)
                    voiced_all.append(voiced)
                    cents_all.append(abs(cents))
                    if voiced < 0.6 or abs(cents) > 10:
                        bad.append(key)
                print(f"{name:8s}{role.value:9s}{build_s:8.2f}  "
                      f"{'/'.join(f'{m[0]:.0f}' for m in measures):>21s}  "
                      f"{'/'.join(f'{m[1]:.1f}' for m in measures):>19s}  "
                      f"{loop_wrap_ratio(built[role]):10.2f}  {min(voiced_all):10.2f}  "
                      f"{max(cents_all):9.1f}  {len(bad):3d}/{len(melodic):<3d}{bad[:6]}  "
                      f"{sample_bytes(root / role.value) / 2**20:5.1f}", flush=True)
            print(f"{name:8s}drums    {build_s:8.2f}  {drum_measures(root / 'drums')}  kit MB "
                  f"{sample_bytes(root / 'drums') / 2**20:.1f}", flush=True)


if __name__ == "__main__":
    main()
