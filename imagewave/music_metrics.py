"""Metrics of music: what separates a song from a loop, for generated songs and real pieces alike.

Symbolic metrics read a `pretty_midi.PrettyMIDI` (bars from its time signatures and tempo map;
the melody is the track named "melody", else the highest non-drum track); audio metrics read
the rendered mix and stems.

- pitch_class_entropy: Shannon entropy (bits) of the pitch-class histogram (MusPy's).
- distinct_harmony_bars: bars whose harmony differs; a bar's harmony is the set of its three
  strongest pitch classes (duration-weighted, every non-drum note).
- distinct_drum_bars / distinct_drum_bars_ratio: drum bars that differ as sets of
  (drum key, sixteenth position), and their share of the drum bars.
- velocity_std: spread of note velocities (flat dynamics read 0).
- melody_rest_bar_ratio: share of the melody's bars (first to last note) holding a rest of at
  least one beat.
- melody_clash_ratio: share of melody notes a minor second (or minor ninth...) against another
  part's note still sounding 50 ms after the melody note starts.
- density_variation: coefficient of variation of note onsets per bar (a loop reads low).
- loudness_spread_lu: short-term loudness (3 s windows, 1 s hop, BS.1770 K-weighting), p95 − p10
  over the windows above -70 LUFS.
- stem_vs_mix_lu: each stem's integrated loudness minus the mix's.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pretty_midi

CLASH_LOOK_S = 0.05
SHORT_TERM_S = 3.0
SHORT_TERM_HOP_S = 1.0


@dataclass
class SymbolicMetrics:
    bars: int
    pitch_class_entropy: float
    distinct_harmony_bars: int
    distinct_drum_bars: int | None
    distinct_drum_bars_ratio: float | None
    velocity_std: float
    melody_rest_bar_ratio: float | None
    melody_clash_ratio: float | None
    density_variation: float

    def as_dict(self) -> dict:
        return asdict(self)


def _bars(midi: pretty_midi.PrettyMIDI) -> tuple[np.ndarray, np.ndarray]:
    """Bar start times (with the end appended) and each bar's beat length in seconds."""
    end = midi.get_end_time()
    downbeats = [t for t in midi.get_downbeats() if t < end - 1e-6]
    if not downbeats:
        downbeats = [0.0]
    edges = np.array(list(downbeats) + [end])
    beats = midi.get_beats()
    numerators = []
    signatures = sorted(midi.time_signature_changes, key=lambda s: s.time)
    for start in edges[:-1]:
        active = [s for s in signatures if s.time <= start + 1e-6]
        numerators.append(active[-1].numerator if active else 4)
    beat_s = []
    for start, stop, count in zip(edges[:-1], edges[1:], numerators, strict=True):
        inside = [b for b in beats if start - 1e-6 <= b < stop - 1e-6]
        beat_s.append((stop - start) / max(len(inside), 1) if len(inside) >= count
                      else (stop - start) / count)
    return edges, np.array(beat_s)


def melody_track(midi: pretty_midi.PrettyMIDI) -> pretty_midi.Instrument | None:
    pitched = [t for t in midi.instruments if not t.is_drum and t.notes]
    named = [t for t in pitched if t.name.strip().lower() == "melody"]
    if named:
        return named[0]
    if not pitched:
        return None
    return max(pitched, key=lambda t: np.mean([n.pitch for n in t.notes]))


def pitch_class_entropy(midi: pretty_midi.PrettyMIDI) -> float:
    counts = np.zeros(12)
    for track in midi.instruments:
        if not track.is_drum:
            for note in track.notes:
                counts[note.pitch % 12] += 1
    if counts.sum() == 0:
        return 0.0
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def _bar_index(edges: np.ndarray, time_s: float) -> int:
    return int(np.clip(np.searchsorted(edges, time_s + 1e-6, side="right") - 1, 0,
                       len(edges) - 2))


def distinct_harmony_bars(midi: pretty_midi.PrettyMIDI, edges: np.ndarray) -> int:
    weights = np.zeros((len(edges) - 1, 12))
    for track in midi.instruments:
        if track.is_drum:
            continue
        for note in track.notes:
            first, last = _bar_index(edges, note.start), _bar_index(edges, note.end - 1e-6)
            for bar in range(first, last + 1):
                overlap = min(note.end, edges[bar + 1]) - max(note.start, edges[bar])
                if overlap > 0:
                    weights[bar, note.pitch % 12] += overlap
    harmonies = set()
    for row in weights:
        if row.sum() <= 0:
            continue
        top = np.argsort(-row, kind="stable")[:3]
        harmonies.add(frozenset(int(p) for p in top if row[p] >= 0.1 * row.max()))
    return len(harmonies)


def distinct_drum_bars(midi: pretty_midi.PrettyMIDI, edges: np.ndarray,
                       beat_s: np.ndarray) -> tuple[int | None, float | None]:
    bars: dict[int, set[tuple[int, int]]] = {}
    for track in midi.instruments:
        if not track.is_drum:
            continue
        for note in track.notes:
            # A hit played a little early belongs to the grid point it was aimed at.
            bar = _bar_index(edges, note.start + beat_s[_bar_index(edges, note.start)] / 8)
            sixteenth = int(round((note.start - edges[bar]) / (beat_s[bar] / 4)))
            bars.setdefault(bar, set()).add((note.pitch, sixteenth))
    if not bars:
        return None, None
    distinct = len({frozenset(hits) for hits in bars.values()})
    return distinct, distinct / len(bars)


def melody_rest_bar_ratio(melody: pretty_midi.Instrument, edges: np.ndarray,
                          beat_s: np.ndarray) -> float:
    notes = sorted(melody.notes, key=lambda n: n.start)
    first, last = _bar_index(edges, notes[0].start), _bar_index(edges, notes[-1].end - 1e-6)
    with_rest = 0
    for bar in range(first, last + 1):
        start, stop = edges[bar], edges[bar + 1]
        covered = sorted((max(n.start, start), min(n.end, stop)) for n in notes
                         if n.end > start and n.start < stop)
        longest, cursor = 0.0, start
        for lo, hi in covered:
            longest = max(longest, lo - cursor)
            cursor = max(cursor, hi)
        longest = max(longest, stop - cursor)
        if longest >= beat_s[bar] * 0.99:
            with_rest += 1
    return with_rest / (last - first + 1)


def melody_clash_ratio(midi: pretty_midi.PrettyMIDI, melody: pretty_midi.Instrument) -> float:
    others = [n for t in midi.instruments if not t.is_drum and t is not melody for n in t.notes]
    if not melody.notes:
        return 0.0
    if not others:
        return 0.0
    starts = np.array([n.start for n in others])
    ends = np.array([n.end for n in others])
    classes = np.array([n.pitch % 12 for n in others])
    order = np.argsort(starts)
    starts, ends, classes = starts[order], ends[order], classes[order]
    longest = float((ends - starts).max())
    clashes = 0
    for note in melody.notes:
        moment = note.start + CLASH_LOOK_S
        lo = int(np.searchsorted(starts, moment - longest, side="left"))
        hi = int(np.searchsorted(starts, moment, side="right"))
        sounding = classes[lo:hi][ends[lo:hi] > moment]
        interval = (sounding - note.pitch % 12) % 12
        clashes += bool(np.any((interval == 1) | (interval == 11)))
    return clashes / len(melody.notes)


def density_variation(midi: pretty_midi.PrettyMIDI, edges: np.ndarray) -> float:
    counts = np.zeros(len(edges) - 1)
    for track in midi.instruments:
        for note in track.notes:
            counts[_bar_index(edges, note.start)] += 1
    return float(counts.std() / counts.mean()) if counts.mean() > 0 else 0.0


def symbolic_metrics(midi: pretty_midi.PrettyMIDI) -> SymbolicMetrics:
    edges, beat_s = _bars(midi)
    melody = melody_track(midi)
    drum_count, drum_ratio = distinct_drum_bars(midi, edges, beat_s)
    velocities = [n.velocity for t in midi.instruments for n in t.notes]
    return SymbolicMetrics(
        bars=len(edges) - 1,
        pitch_class_entropy=round(pitch_class_entropy(midi), 3),
        distinct_harmony_bars=distinct_harmony_bars(midi, edges),
        distinct_drum_bars=drum_count,
        distinct_drum_bars_ratio=None if drum_ratio is None else round(drum_ratio, 3),
        velocity_std=round(float(np.std(velocities)) if velocities else 0.0, 2),
        melody_rest_bar_ratio=None if melody is None else round(
            melody_rest_bar_ratio(melody, edges, beat_s), 3),
        melody_clash_ratio=None if melody is None else round(
            melody_clash_ratio(midi, melody), 3),
        density_variation=round(density_variation(midi, edges), 3),
    )


# -- audio ----------------------------------------------------------------------------------

def _k_weighted_power(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per-frame K-weighted power summed over channels (BS.1770), for (frames[, channels])."""
    import pyloudnorm
    from scipy import signal

    planar = np.atleast_2d(np.asarray(audio, dtype=np.float64).T)
    meter = pyloudnorm.Meter(sample_rate)
    sos = np.vstack([signal.tf2sos(stage.b * stage.passband_gain, stage.a)
                     for stage in meter._filters.values()])
    return np.sum([signal.sosfilt(sos, channel) ** 2 for channel in planar], axis=0)


def short_term_loudness(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """LUFS of 3 s windows every second."""
    power = _k_weighted_power(audio, sample_rate)
    window, hop = int(SHORT_TERM_S * sample_rate), int(SHORT_TERM_HOP_S * sample_rate)
    if len(power) < window:
        return np.array([-0.691 + 10 * math.log10(max(power.mean(), 1e-20))])
    cumulative = np.concatenate([[0.0], np.cumsum(power)])
    starts = np.arange(0, len(power) - window + 1, hop)
    means = (cumulative[starts + window] - cumulative[starts]) / window
    return -0.691 + 10 * np.log10(np.maximum(means, 1e-20))


def loudness_spread_lu(audio: np.ndarray, sample_rate: int) -> float:
    """p95 − p10 of the short-term loudness over windows above -70 LUFS."""
    loudness = short_term_loudness(audio, sample_rate)
    loudness = loudness[loudness > -70.0]
    if loudness.size == 0:
        return 0.0
    return float(np.percentile(loudness, 95) - np.percentile(loudness, 10))


def integrated_lufs(audio: np.ndarray, sample_rate: int) -> float:
    import pyloudnorm

    audio = np.asarray(audio, dtype=np.float64)
    if not np.any(audio):
        return float("-inf")
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(audio))


def audio_metrics(mix: np.ndarray, sample_rate: int,
                  stems: dict[str, np.ndarray] | None = None) -> dict:
    mix_lufs = integrated_lufs(mix, sample_rate)
    result = {"loudness_spread_lu": round(loudness_spread_lu(mix, sample_rate), 2),
              "mix_lufs": round(mix_lufs, 2)}
    if stems:
        result["stem_vs_mix_lu"] = {
            name: round(integrated_lufs(stem, sample_rate) - mix_lufs, 2)
            for name, stem in sorted(stems.items())}
    return result


# -- files ----------------------------------------------------------------------------------

def evaluate_path(path) -> dict:
    """Metrics of a MIDI file, or of a song folder (arrangement.mid, mix.wav, stems/*.flac:
    what `imagewave compose` writes)."""
    from pathlib import Path

    import soundfile as sf

    from imagewave.errors import InvalidInput

    path = Path(path)
    midi_path = path / "arrangement.mid" if path.is_dir() else path
    if not midi_path.is_file():
        raise InvalidInput(f"{path}: no MIDI file (a .mid, or a folder with arrangement.mid)",
                           field="path")
    try:
        midi = pretty_midi.PrettyMIDI(str(midi_path))
    except Exception as exc:  # mido/pretty_midi raise many types for broken files
        raise InvalidInput(f"{midi_path}: not a readable MIDI file ({exc})", field="path") from exc
    report = {"path": str(path), **symbolic_metrics(midi).as_dict()}
    mix_path = path / "mix.wav" if path.is_dir() else None
    if mix_path is not None and mix_path.is_file():
        mix, rate = sf.read(mix_path, dtype="float32")
        stems = {p.stem: sf.read(p, dtype="float32")[0]
                 for p in sorted((path / "stems").glob("*.flac"))}
        report.update(audio_metrics(mix, rate, stems))
    return report


def format_music_report(report: dict) -> str:
    def show(value) -> str:
        if value is None:
            return "–"
        if isinstance(value, dict):
            return " ".join(f"{k} {v:+.1f}" for k, v in value.items())
        return f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)

    return "\n".join([report["path"]] + [f"  {key:26s} {show(value)}"
                                         for key, value in report.items() if key != "path"])
