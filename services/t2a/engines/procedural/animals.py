"""Animals: bird chirps, insects, purring, barks and other calls.

Calls are voiced: a glottal pulse train with strong jitter (period-to-period irregularity) and
breath noise, through formant resonators. Real animal calls are rough and glide constantly; the
jitter, glides and noise keep them creature-like, not sung. Birds are fast frequency sweeps.
"""

from __future__ import annotations

import numpy as np

from services.t2a.engines.procedural.air import rustle, wind
from services.t2a.engines.procedural.primitives import (
    SynthContext,
    add_at,
    bandpass,
    control_curve,
    event_times_s,
    highpass,
    lowpass,
    mix_at_rms,
    pink_noise,
    resonator_bank,
)


def _sweep(ctx: SynthContext, length_s: float, start_hz: float, end_hz: float,
           curve: float) -> np.ndarray:
    length = int(length_s * ctx.sample_rate)
    x = np.linspace(0, 1, length)
    frequency = start_hz + (end_hz - start_hz) * x ** curve
    frequency *= 1 + 0.04 * np.sin(2 * np.pi * ctx.rng.uniform(30, 80) * x * length_s)
    tone = np.sin(np.cumsum(2 * np.pi * frequency / ctx.sample_rate))
    tone += 0.2 * np.sin(np.cumsum(4 * np.pi * frequency / ctx.sample_rate))
    return tone * np.hanning(length)


def bird_chirps(ctx: SynthContext, *, birds: int = 2) -> np.ndarray:
    """Songbirds, sparrows, gulls at a distance: bursts of fast chirp sweeps from a few birds,
    each with its own range, in foliage and air."""
    out = np.zeros(ctx.n_samples)
    for _ in range(birds):
        centre = ctx.rng.uniform(2500, 5500) * 2 ** (-0.8 * ctx.size + 0.3 * ctx.brightness)
        for phrase_s in event_times_s(ctx, 0.6 * ctx.density, regular=False):
            t_s = phrase_s
            for _ in range(ctx.rng.integers(2, 7)):
                length_s = ctx.rng.uniform(0.025, 0.08)
                start = centre * ctx.rng.uniform(0.6, 1.4)
                end = centre * ctx.rng.uniform(0.6, 1.4)
                chirp = _sweep(ctx, length_s, start, end, ctx.rng.uniform(0.5, 2.0))
                add_at(out, chirp * ctx.rng.uniform(0.3, 1.0), int(t_s * ctx.sample_rate))
                t_s += length_s + ctx.rng.uniform(0.02, 0.12)
    setting = rustle(ctx, kind="leaves")
    return mix_at_rms([(out, 0.0), (setting, -8.0)])


def insects(ctx: SynthContext, *, kind: str = "crickets") -> np.ndarray:
    """Crickets (a chorus of pulsed chirps at slightly different pitches), cicadas (a broad
    noisy buzz) and flies or bees (a wandering, rough wingbeat buzz)."""
    t = np.arange(ctx.n_samples) / ctx.sample_rate
    if kind == "cicadas":
        buzz = bandpass(pink_noise(ctx), ctx.sample_rate, 3500, 9000)
        buzz *= 0.6 + 0.4 * np.sin(2 * np.pi * ctx.rng.uniform(120, 200) * t) ** 2
        return buzz * control_curve(ctx, 0.4, 0.5, 1.0)
    if kind == "bees":
        rate = control_curve(ctx, 1.5, 170, 260)
        phase = np.cumsum(2 * np.pi * rate * (1 + 0.05 * ctx.rng.standard_normal(ctx.n_samples))
                          / ctx.sample_rate)
        pulses = (np.sin(phase) > 0.6) * pink_noise(ctx)
        buzz = bandpass(pulses, ctx.sample_rate, 150, 5000)
        buzz *= control_curve(ctx, 1.0, 0.3, 1.0)  # flying nearer and further
        return mix_at_rms([(buzz, 0.0), (wind(ctx, strength=0.3), -12.0)])
    chorus = np.zeros(ctx.n_samples)
    for _ in range(5):
        carrier_hz = ctx.rng.uniform(3800, 5200)
        pulses = np.zeros(ctx.n_samples)
        for chirp_s in event_times_s(ctx, ctx.rng.uniform(1.0, 2.5) * ctx.density, jitter=0.15,
                                     regular=True):
            for pulse in range(ctx.rng.integers(2, 5)):
                length = int(0.012 * ctx.sample_rate)
                add_at(pulses, np.hanning(length), int((chirp_s + pulse * 0.022)
                                                       * ctx.sample_rate))
        # Rough carrier: the file-and-scraper stridulation is a train of tooth impacts.
        carrier = np.sin(2 * np.pi * carrier_hz * t + 2.0 * lowpass(
            ctx.rng.standard_normal(ctx.n_samples), ctx.sample_rate, 400))
        chorus += carrier * pulses * ctx.rng.uniform(0.3, 1.0)
    night = bandpass(pink_noise(ctx), ctx.sample_rate, 200, 8000)
    return mix_at_rms([(chorus, 0.0), (night, -8.0)])


def _voiced_call(ctx: SynthContext, length_s: float, f0_start_hz: float, f0_end_hz: float,
                 formants_hz: tuple[float, ...], breathiness: float,
                 jitter: float) -> np.ndarray:
    """One call: a jittered pulse train gliding from f0_start to f0_end, through formants,
    mixed with breath noise."""
    length = int(length_s * ctx.sample_rate)
    pulses = np.zeros(length)
    t_s = 0.0
    while t_s < length_s:
        x = t_s / length_s
        f0 = f0_start_hz + (f0_end_hz - f0_start_hz) * x
        pulses[min(int(t_s * ctx.sample_rate), length - 1)] = ctx.rng.uniform(0.6, 1.0)
        t_s += (1.0 / f0) * (1 + jitter * ctx.rng.standard_normal())
    pulses = lowpass(pulses, ctx.sample_rate, 3000)
    breath = pink_noise(ctx, length)
    source = pulses / (np.std(pulses) + 1e-12) * (1 - breathiness) + breath * breathiness
    formants = np.asarray(formants_hz) * ctx.rng.uniform(0.9, 1.1, len(formants_hz))
    voiced = resonator_bank(source, ctx.sample_rate, formants, formants * 0.15,
                            np.ones(len(formants)))
    voiced += highpass(breath, ctx.sample_rate, 2000) * breathiness * 0.3
    attack, release = int(0.015 * ctx.sample_rate), int(0.06 * ctx.sample_rate)
    envelope = np.minimum(1.0, np.arange(length) / attack) * np.linspace(1, 0.2, length) ** 0.7
    envelope *= np.minimum(1.0, np.arange(length)[::-1] / release)  # the call dies away
    return voiced * envelope


def calls(ctx: SynthContext, *, f0_hz: tuple[float, float], length_s: tuple[float, float],
          rate_hz: float, formants_hz: tuple[float, ...], breathiness: float = 0.5,
          jitter: float = 0.12, glide: float = -0.3) -> np.ndarray:
    """Barks, meows, moos, neighs, croaks, quacks: voiced calls at `rate_hz`."""
    out = np.zeros(ctx.n_samples)
    for onset_s in event_times_s(ctx, rate_hz * ctx.density, jitter=0.2):
        f0 = ctx.rng.uniform(*f0_hz) * 2 ** (-0.7 * ctx.size)
        call = _voiced_call(ctx, ctx.rng.uniform(*length_s), f0,
                            f0 * (1 + glide * ctx.rng.uniform(0.5, 1.5)), formants_hz,
                            breathiness, jitter)
        add_at(out, call * ctx.rng.uniform(0.6, 1.0), int(onset_s * ctx.sample_rate))
    room = bandpass(pink_noise(ctx), ctx.sample_rate, 100, 6000)
    return mix_at_rms([(out, 0.0), (room, -20.0)])


def bark(ctx: SynthContext) -> np.ndarray:
    return calls(ctx, f0_hz=(350, 600), length_s=(0.12, 0.25), rate_hz=1.3,
                 formants_hz=(600, 1400, 2600), breathiness=0.55, jitter=0.15, glide=-0.35)


def meow(ctx: SynthContext) -> np.ndarray:
    return calls(ctx, f0_hz=(450, 700), length_s=(0.4, 0.8), rate_hz=0.5,
                 formants_hz=(800, 1800, 3200), breathiness=0.6, jitter=0.12, glide=0.3)


def low_call(ctx: SynthContext) -> np.ndarray:
    """Cattle, horses, large animals: long low rough calls."""
    return calls(ctx, f0_hz=(90, 160), length_s=(0.6, 1.4), rate_hz=0.35,
                 formants_hz=(350, 900, 2000), breathiness=0.5, jitter=0.18, glide=-0.2)


def neigh(ctx: SynthContext) -> np.ndarray:
    """Horses, donkeys: a high whinny that falls, its pitch shaking (the "trill"), then snorts."""
    out = np.zeros(ctx.n_samples)
    for onset_s in event_times_s(ctx, 0.3 * ctx.density, jitter=0.2):
        length_s = ctx.rng.uniform(0.8, 1.3)
        call = _voiced_call(ctx, length_s, ctx.rng.uniform(700, 950), ctx.rng.uniform(300, 420),
                            (900, 1700, 3000), breathiness=0.45, jitter=0.16)
        trill = 1 + 0.5 * np.sin(2 * np.pi * ctx.rng.uniform(9, 14) * np.arange(len(call))
                                 / ctx.sample_rate)
        add_at(out, call * trill, int(onset_s * ctx.sample_rate))
        snort_len = int(0.25 * ctx.sample_rate)
        snort = bandpass(pink_noise(ctx, snort_len), ctx.sample_rate, 200, 2500)
        add_at(out, snort * np.hanning(snort_len) * 0.5, int((onset_s + length_s + 0.2)
                                                              * ctx.sample_rate))
    room = bandpass(pink_noise(ctx), ctx.sample_rate, 100, 6000)
    return mix_at_rms([(out, 0.0), (room, -22.0)])


def croak(ctx: SynthContext) -> np.ndarray:
    """Frogs, ducks, crows: short rasping calls."""
    return calls(ctx, f0_hz=(120, 300), length_s=(0.08, 0.2), rate_hz=2.0,
                 formants_hz=(700, 1500, 2800), breathiness=0.7, jitter=0.25, glide=0.0)


def purr(ctx: SynthContext) -> np.ndarray:
    """A cat's purr: ~25 Hz bursts of low noise, alternating inhale and exhale phases."""
    t = np.arange(ctx.n_samples) / ctx.sample_rate
    breath_rate = 0.45 * ctx.rng.uniform(0.8, 1.2)
    breath_phase = np.sin(2 * np.pi * breath_rate * t + ctx.rng.uniform(0, np.pi))
    rate = 24 + 3 * np.sign(breath_phase) + control_curve(ctx, 2.0, -1.5, 1.5)
    phase = np.cumsum(2 * np.pi * rate * (1 + 0.06 * ctx.rng.standard_normal(ctx.n_samples))
                      / ctx.sample_rate)
    flutter = np.clip(np.sin(phase), 0, None) ** 4
    body = lowpass(pink_noise(ctx), ctx.sample_rate, 600) * flutter
    airflow = bandpass(pink_noise(ctx), ctx.sample_rate, 400, 3000) * 0.2
    level = 0.55 + 0.45 * np.abs(breath_phase) ** 0.5
    return (body + airflow) * level


def hooves(ctx: SynthContext) -> np.ndarray:
    """Horse hooves on ground: grouped dull thuds (handled as a footstep gait)."""
    from services.t2a.engines.procedural.crowd import footsteps

    return footsteps(ctx, surface="stone", rate_hz=3.0, heavy=True)
