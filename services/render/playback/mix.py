"""The mix: a channel strip per part (EQ, level, stereo place, reverb send) and the shared space.

A part is what a track plays: drums, bass, guitar, and for the keyboard either the lead
(melody) or the chords, so that two keyboard tracks never sit in the same place with the same
sound. Each strip's EQ is linear and time-invariant, so it is applied once to the instrument's
samples when they are loaded (pedalboard's filters, in C++), not to minutes of rendered audio:
the mix costs almost nothing per note.

Level targets are relative to each instrument's own sample loudness (`sample_level_db`), so a
quiet rain-made guitar and a loud rumble-made bass land where their part belongs whatever their
sources were. The space is one Freeverb bus (pedalboard's `Reverb`) fed by every strip's send;
it runs at a third of the sample rate (its damped tail carries little above 7 kHz; the dry sound
keeps the air), which cuts its cost by three.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pedalboard
import pretty_midi

from imagewave.contracts.scene import Role

SPACE_RATE_DIVISOR = 3
# Where a note of each part sits, in dBFS RMS of its sample at full velocity, before the master
# normalises the whole song: the balance between parts, not an absolute level.
REFERENCE_LEVEL_DB = -20.0


class Part(StrEnum):
    drums = "drums"
    bass = "bass"
    guitar = "guitar"
    chords = "chords"
    lead = "lead"
    effects = "effects"
    ambience = "ambience"


@dataclass(frozen=True)
class Strip:
    level_db: float  # relative to REFERENCE_LEVEL_DB
    pan: float  # -1 .. 1
    send: float  # linear reverb send
    eq: tuple[tuple[str, float, float, float], ...]  # (filter, cutoff Hz, gain dB, Q)

    def board(self) -> pedalboard.Pedalboard:
        plugins = []
        for kind, cutoff_hz, gain_db, q in self.eq:
            if kind == "highpass":  # two first-order stages: 12 dB/octave, no resonance
                plugins += [pedalboard.HighpassFilter(cutoff_hz),
                            pedalboard.HighpassFilter(cutoff_hz)]
            elif kind == "lowpass":
                plugins += [pedalboard.LowpassFilter(cutoff_hz)]
            elif kind == "peak":
                plugins.append(pedalboard.PeakFilter(cutoff_hz, gain_db, q))
            elif kind == "high_shelf":
                plugins.append(pedalboard.HighShelfFilter(cutoff_hz, gain_db, q))
            elif kind == "low_shelf":
                plugins.append(pedalboard.LowShelfFilter(cutoff_hz, gain_db, q))
            else:
                raise ValueError(f"unknown filter {kind!r}")
        return pedalboard.Pedalboard(plugins)


# Producer's defaults: the kick and bass own the low end (everything else is high-passed out of
# it), hats and cymbals get air above 6 kHz, the lead gets presence at 2-4 kHz and sits in the
# middle, the chords step back (darker, wider, wetter), the guitar answers on the other side.
STRIPS: dict[Part, Strip] = {
    Part.drums: Strip(2.0, 0.0, 0.10, (("highpass", 30.0, 0, 0), ("peak", 380.0, -3.0, 1.0),
                                        ("peak", 3500.0, 2.0, 0.8),
                                        ("high_shelf", 7000.0, 6.0, 0.7))),
    Part.bass: Strip(-4.0, 0.0, 0.02, (("highpass", 35.0, 0, 0), ("peak", 220.0, -2.0, 1.0),
                                       ("peak", 1500.0, 3.0, 1.0), ("lowpass", 7000.0, 0, 0))),
    Part.chords: Strip(-9.0, -0.35, 0.30, (("highpass", 200.0, 0, 0), ("peak", 450.0, -3.0, 1.0),
                                           ("peak", 3000.0, 2.0, 1.0),
                                           ("high_shelf", 8000.0, 1.0, 0.7))),
    Part.lead: Strip(-3.0, 0.1, 0.22, (("highpass", 260.0, 0, 0), ("peak", 500.0, -2.0, 1.0),
                                       ("peak", 2800.0, 4.0, 0.9),
                                       ("high_shelf", 6000.0, 3.0, 0.7))),
    Part.guitar: Strip(-6.0, 0.4, 0.20, (("highpass", 160.0, 0, 0), ("peak", 400.0, -2.0, 1.0),
                                         ("peak", 3200.0, 4.0, 1.0),
                                         ("high_shelf", 7000.0, 2.0, 0.7))),
    Part.effects: Strip(-11.0, 0.0, 0.35, (("highpass", 120.0, 0, 0),)),
    Part.ambience: Strip(-13.0, 0.0, 0.08, (("highpass", 150.0, 0, 0),
                                            ("peak", 3000.0, 2.0, 0.7))),
}
ROLE_PARTS = {Role.drums: Part.drums, Role.bass: Part.bass, Role.guitar: Part.guitar}
STEM_OF_PART = {Part.drums: "drums", Part.bass: "bass", Part.guitar: "guitar",
                Part.chords: "keyboard", Part.lead: "keyboard", Part.effects: "effects",
                Part.ambience: "ambience"}
LEAD_NAMES = ("melody", "lead", "solo", "vocal", "voice", "flute", "whistle")


def track_part(track: pretty_midi.Instrument, role: Role) -> Part:
    """The part a track plays: its role, and for the keyboard lead (named so, or a mostly
    single-note line above middle C) versus chords."""
    if role in ROLE_PARTS:
        return ROLE_PARTS[role]
    name = (track.name or "").lower()
    if any(word in name for word in LEAD_NAMES):
        return Part.lead
    if "chord" in name or "pad" in name or "comp" in name:
        return Part.chords
    notes = sorted(track.notes, key=lambda n: n.start)
    if not notes:
        return Part.chords
    overlapping = sum(1 for a, b in zip(notes, notes[1:], strict=False) if b.start < a.end - 0.02)
    mean_pitch = sum(n.pitch for n in notes) / len(notes)
    return Part.lead if overlapping < 0.2 * len(notes) and mean_pitch >= 60 else Part.chords


def sample_level_db(samples: np.ndarray) -> float:
    """RMS level (dBFS) of the loud part of a sample: the frames within 20 dB of its peak
    envelope, so a long quiet tail or a short attack do not skew it."""
    if samples.size == 0:
        return -120.0
    hop = 512
    usable = len(samples) // hop * hop
    if usable == 0:
        return 10 * math.log10(float(np.mean(samples ** 2)) + 1e-12)
    power = np.mean(samples[:usable].reshape(-1, hop) ** 2, axis=1)
    loud = power[power >= power.max() * 0.01]
    return 10 * math.log10(float(loud.mean()) + 1e-12)


class Space:
    """The reverb bus: a mono send in, a stereo return out, streamed block by block."""

    def __init__(self, sample_rate: int, *, room_size: float = 0.72, damping: float = 0.55,
                 width: float = 1.0) -> None:
        import soxr

        self.sample_rate = sample_rate
        self.inner_rate = sample_rate // SPACE_RATE_DIVISOR
        self.reverb = pedalboard.Reverb(room_size=room_size, damping=damping, wet_level=1.0,
                                        dry_level=0.0, width=width)
        self.down = soxr.ResampleStream(sample_rate, self.inner_rate, 1, dtype="float32",
                                        quality="LQ")
        self.up = soxr.ResampleStream(self.inner_rate, sample_rate, 2, dtype="float32",
                                      quality="LQ")
        # Pre-delay: the early return is 20 ms after the dry sound, which keeps notes clear.
        self.pending = np.zeros((2, int(0.02 * sample_rate)), np.float32)

    def process(self, send: np.ndarray, last: bool = False) -> np.ndarray:
        """The return for `send` (mono block); (2, len(send)) so it lines up with the block."""
        low = self.down.resample_chunk(send, last=last)
        wet = self.reverb.process(np.stack([low, low]), self.inner_rate, reset=False) \
            if low.size else np.zeros((2, 0), np.float32)
        high = self.up.resample_chunk(np.ascontiguousarray(wet.T), last=last).T
        self.pending = np.concatenate([self.pending, high], axis=1)
        out = np.zeros((2, len(send)), np.float32)
        take = min(len(send), self.pending.shape[1])
        out[:, :take] = self.pending[:, :take]
        self.pending = self.pending[:, take:]
        return out
