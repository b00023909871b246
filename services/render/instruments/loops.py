"""Sustain loops: find a loop that is a whole number of periods long and crossfade it in place.

The crossfade is written into the sample data, so every sampler (sfizz, FluidSynth, ours) plays
the loop seamlessly without a crossfade opcode. After the loop end the sample continues with
copies of the loop, long enough for the release: with `loop_sustain` (SF2 sample mode 3) a
sampler leaves the loop at note-off and plays on to the end of the sample, so the release tail
sounds like the held note fading instead of stopping at the file's end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Loop:
    start: int  # first frame of the loop
    end: int  # first frame after the loop (SFZ loop_end is end - 1, SF2 endloop is end)
    correlation: float


def find_sustain_loop(samples: np.ndarray, sample_rate: int, *, period_frames: float,
                      earliest_start: int, min_length_s: float = 0.15,
                      max_length_s: float = 0.6, crossfade_s: float = 0.03,
                      guard_frames: int = 64) -> Loop | None:
    """The best-correlated loop of k whole periods ending `guard_frames` before the sample end.

    The loop start is chosen so the `crossfade_s` before it looks like the `crossfade_s` before
    the loop end; `crossfade_loop` then blends those two stretches. None when the sample is too
    short for a loop of `min_length_s` after `earliest_start`.
    """
    end = len(samples) - guard_frames
    crossfade = int(crossfade_s * sample_rate)
    longest = min(int(max_length_s * sample_rate), end - max(earliest_start, crossfade))
    shortest = max(int(min_length_s * sample_rate), crossfade + 1)
    if longest < shortest:
        return None
    periods = np.arange(max(1, int(np.ceil(shortest / period_frames))),
                        int(longest // period_frames) + 1)
    if periods.size == 0:
        lengths = np.array([longest])
    else:
        lengths = np.unique(np.round(periods * period_frames).astype(int))
        lengths = lengths[(lengths >= shortest) & (lengths <= longest)]
        if lengths.size == 0:
            lengths = np.array([longest])
        if lengths.size > 48:  # a few dozen candidates are plenty; keep the search fast
            lengths = lengths[np.linspace(0, lengths.size - 1, 48).astype(int)]
    tail = samples[end - crossfade:end].astype(np.float64)
    starts = end - lengths
    windows = np.stack([samples[s - crossfade:s] for s in starts]).astype(np.float64)
    numerator = windows @ tail
    denominator = np.sqrt((windows**2).sum(axis=1) * (tail**2).sum()) + 1e-12
    correlation = numerator / denominator
    best = int(np.argmax(correlation))
    return Loop(start=int(starts[best]), end=end, correlation=float(correlation[best]))


def crossfade_loop(samples: np.ndarray, loop: Loop, sample_rate: int, *,
                   crossfade_s: float = 0.03, tail_frames: int = 64) -> np.ndarray:
    """Blend the frames before the loop end into those before the loop start, then follow the
    loop end with `tail_frames` frames of loop repetitions (release tails, interpolation)."""
    out = np.array(samples, dtype=np.float32, copy=True)
    crossfade = min(int(crossfade_s * sample_rate), loop.start)
    if crossfade > 0:
        fade_in = np.linspace(0.0, 1.0, crossfade, dtype=np.float32)
        # Equal-power when the two stretches differ, linear when they already match.
        if loop.correlation < 0.5:
            fade_in = np.sin(0.5 * np.pi * fade_in)
            fade_out = np.cos(0.5 * np.pi * np.linspace(0.0, 1.0, crossfade, dtype=np.float32))
        else:
            fade_out = 1.0 - fade_in
        tail = out[loop.end - crossfade:loop.end].copy()
        lead = out[loop.start - crossfade:loop.start]
        out[loop.end - crossfade:loop.end] = tail * fade_out + lead * fade_in
    tail = np.resize(out[loop.start:loop.end], max(tail_frames, 1))
    return np.concatenate([out[: loop.end], tail])
