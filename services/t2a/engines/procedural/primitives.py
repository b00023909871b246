"""Synthesis primitives every family builds on: coloured noise, filters, control curves, events.

All take a seeded `numpy.random.Generator` where they need randomness, so a recipe rendered
twice with the same seed gives the same samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal


@dataclass
class SynthContext:
    """What a synthesiser needs to know besides its own parameters.

    `brightness` (-1 dark .. +1 bright), `density` (event-rate multiplier), `size` (-1 small ..
    +1 large: lower pitches, slower events) and `regular` (rhythmic, evenly spaced events) come
    from the source's timbre and play-method words.
    """

    rng: np.random.Generator
    sample_rate: int
    n_samples: int
    brightness: float = 0.0
    density: float = 1.0
    size: float = 0.0
    regular: bool = False

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate

    @property
    def nyquist_hz(self) -> float:
        return self.sample_rate / 2


def white_noise(ctx: SynthContext, n_samples: int | None = None) -> np.ndarray:
    return ctx.rng.standard_normal(ctx.n_samples if n_samples is None else n_samples)


def pink_noise(ctx: SynthContext, n_samples: int | None = None) -> np.ndarray:
    """-3 dB/octave noise (Paul Kellet's economy filter), unit RMS."""
    noise = white_noise(ctx, n_samples)
    pink = signal.lfilter([0.049922035, -0.095993537, 0.050612699, -0.004408786],
                          [1.0, -2.494956002, 2.017265875, -0.522189400], noise)
    return pink / (np.std(pink) + 1e-12)


def brown_noise(ctx: SynthContext, n_samples: int | None = None) -> np.ndarray:
    """-6 dB/octave noise (leaky integrator, so it never drifts off), unit RMS."""
    brown = signal.lfilter([1.0], [1.0, -0.997], white_noise(ctx, n_samples))
    brown = highpass(brown, ctx.sample_rate, 20.0)
    return brown / (np.std(brown) + 1e-12)


def _clip_band(sample_rate: int, low_hz: float, high_hz: float) -> tuple[float, float]:
    nyquist = sample_rate / 2
    high_hz = min(high_hz, nyquist * 0.95)
    low_hz = min(max(low_hz, 10.0), high_hz * 0.9)
    return low_hz, high_hz


def bandpass(x: np.ndarray, sample_rate: int, low_hz: float, high_hz: float,
             order: int = 2) -> np.ndarray:
    low_hz, high_hz = _clip_band(sample_rate, low_hz, high_hz)
    sos = signal.butter(order, [low_hz, high_hz], "bandpass", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, x)


def lowpass(x: np.ndarray, sample_rate: int, cutoff_hz: float, order: int = 2) -> np.ndarray:
    cutoff_hz = min(cutoff_hz, sample_rate * 0.45)
    return signal.sosfilt(signal.butter(order, cutoff_hz, "lowpass", fs=sample_rate,
                                        output="sos"), x)


def highpass(x: np.ndarray, sample_rate: int, cutoff_hz: float, order: int = 2) -> np.ndarray:
    cutoff_hz = min(cutoff_hz, sample_rate * 0.45)
    return signal.sosfilt(signal.butter(order, cutoff_hz, "highpass", fs=sample_rate,
                                        output="sos"), x)


def control_curve(ctx: SynthContext, rate_hz: float, low: float, high: float) -> np.ndarray:
    """A smooth random curve between `low` and `high`, changing about `rate_hz` times a second:
    the slow wandering of wind strength, traffic, a crowd's loudness."""
    points = max(4, int(ctx.duration_s * rate_hz) + 3)
    values = ctx.rng.uniform(low, high, points)
    # Cosine interpolation between random knots: smooth, click-free and O(n).
    position = np.arange(ctx.n_samples) * ((points - 1) / max(1, ctx.n_samples))
    index = np.minimum(position.astype(np.int64), points - 2)
    blend = (1 - np.cos(np.pi * (position - index))) / 2
    return values[index] * (1 - blend) + values[index + 1] * blend


def event_times_s(ctx: SynthContext, rate_hz: float, *, jitter: float = 0.15,
                  start_s: float = 0.02, end_margin_s: float = 0.05,
                  regular: bool | None = None) -> np.ndarray:
    """Onset times: evenly spaced with `jitter` when regular, else a Poisson process."""
    regular = ctx.regular if regular is None else regular
    end_s = max(start_s, ctx.duration_s - end_margin_s)
    rate_hz = max(rate_hz, 1e-3)
    if regular:
        period = 1.0 / rate_hz
        times = np.arange(start_s + ctx.rng.uniform(0, period * 0.5), end_s, period)
        times = times + ctx.rng.normal(0, jitter * period, len(times))
    else:
        expected = int((end_s - start_s) * rate_hz * 1.5) + 4
        gaps = ctx.rng.exponential(1.0 / rate_hz, expected)
        times = start_s + np.cumsum(gaps) - gaps[0] * ctx.rng.uniform(0, 1)
    times = np.sort(times[(times >= 0) & (times < end_s)])
    if len(times) == 0:
        times = np.array([start_s + ctx.rng.uniform(0, max(0.0, end_s - start_s) * 0.3)])
    return times


def smooth(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """`x` convolved with `kernel`, centred ("same" length), by overlap-add FFT: O(n log k)."""
    return signal.oaconvolve(x, kernel, mode="same")


def add_at(out: np.ndarray, grain: np.ndarray, start: int) -> None:
    """Overlap-add `grain` into `out` at sample `start`, cropping at both ends."""
    if start >= len(out) or start + len(grain) <= 0:
        return
    if start < 0:
        grain, start = grain[-start:], 0
    end = min(len(out), start + len(grain))
    out[start:end] += grain[: end - start]


def damped_modes(sample_rate: int, frequencies_hz: np.ndarray, decays_s: np.ndarray,
                 amplitudes: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """Sum of exponentially decaying sinusoids (random phases): one struck object's ringing."""
    keep = frequencies_hz < sample_rate * 0.45
    frequencies_hz, decays_s, amplitudes = frequencies_hz[keep], decays_s[keep], amplitudes[keep]
    t = np.arange(length) / sample_rate
    phases = rng.uniform(0, 2 * np.pi, len(frequencies_hz))
    modes = np.sin(2 * np.pi * frequencies_hz[:, None] * t + phases[:, None])
    modes *= np.exp(-t / decays_s[:, None]) * amplitudes[:, None]
    return modes.sum(axis=0)


def resonator_bank(x: np.ndarray, sample_rate: int, frequencies_hz: np.ndarray,
                   bandwidths_hz: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """Drive parallel two-pole resonators with `x`: a material's body coloured by a scrape or a
    stick-slip pulse train."""
    out = np.zeros_like(x)
    for frequency, bandwidth, gain in zip(frequencies_hz, bandwidths_hz, gains, strict=True):
        if frequency >= sample_rate * 0.45:
            continue
        radius = np.exp(-np.pi * bandwidth / sample_rate)
        theta = 2 * np.pi * frequency / sample_rate
        # Gain normalised so a resonator's peak response is about `gain` whatever its bandwidth.
        b = [gain * (1 - radius)]
        a = [1.0, -2 * radius * np.cos(theta), radius * radius]
        out += signal.lfilter(b, a, x)
    return out


def reverb(ctx: SynthContext, x: np.ndarray, *, decay_s: float, wet: float,
           brightness_hz: float = 6000.0) -> np.ndarray:
    """`x` plus a diffuse room: convolution with exponentially decaying, low-passed noise
    (a statistical room response; `decay_s` is the 60 dB decay time)."""
    if wet <= 0 or decay_s <= 0:
        return x
    length = int(min(decay_s, ctx.duration_s) * ctx.sample_rate)
    t = np.arange(length) / ctx.sample_rate
    response = ctx.rng.standard_normal(length) * 10 ** (-3 * t / decay_s)
    response = lowpass(response, ctx.sample_rate, brightness_hz)
    response[: int(0.005 * ctx.sample_rate)] = 0.0  # pre-delay: the first reflection arrives late
    wet_signal = signal.fftconvolve(x, response)[: len(x)]
    return x + wet_signal * (wet * rms(x) / (rms(wet_signal) + 1e-12))


def decay_envelope(sample_rate: int, length: int, decay_s: float,
                   attack_s: float = 0.001) -> np.ndarray:
    t = np.arange(length) / sample_rate
    attack = np.clip(t / max(attack_s, 1e-6), 0.0, 1.0)
    return attack * np.exp(-t / max(decay_s, 1e-4))


def fade_edges(x: np.ndarray, sample_rate: int, fade_s: float = 0.01) -> np.ndarray:
    n = min(len(x) // 2, int(fade_s * sample_rate))
    if n > 0:
        ramp = np.linspace(0.0, 1.0, n)
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return x


def normalise_peak(x: np.ndarray, peak: float = 0.8) -> np.ndarray:
    top = np.max(np.abs(x)) if len(x) else 0.0
    return x * (peak / top) if top > 0 else x


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else 0.0


def mix_at_rms(parts: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """Mix signals at given relative RMS levels (dB), whatever their own scale."""
    out = np.zeros_like(parts[0][0])
    for part, level_db in parts:
        level = rms(part)
        if level > 0:
            out += part / level * 10 ** (level_db / 20)
    return out
