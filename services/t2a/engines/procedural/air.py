"""Air and what it moves: wind, gusts, rustling leaves and grass, paper, fabric, flags, fire.

Wind is noise in a few broad bands whose levels wander independently (broad bands, never narrow
ones, so it blows rather than whistles). Rustle is granular: many short high-passed noise grains
whose density follows the gusts.
"""

from __future__ import annotations

import numpy as np

from services.t2a.engines.procedural.primitives import (
    SynthContext,
    add_at,
    bandpass,
    brown_noise,
    control_curve,
    event_times_s,
    highpass,
    lowpass,
    mix_at_rms,
    pink_noise,
)


def wind(ctx: SynthContext, *, strength: float = 1.0) -> np.ndarray:
    """Steady-to-gusty wind: three wandering noise bands over a low rumble."""
    gust_rate = 0.3 + 0.3 * strength
    centre = 500 * 2 ** (0.8 * ctx.brightness - 0.5 * ctx.size)
    bands = [(centre * 0.25, centre * 0.9), (centre * 0.7, centre * 2.5),
             (centre * 2.0, centre * 7.0)]
    parts = []
    for low, high in bands:
        band = bandpass(pink_noise(ctx), ctx.sample_rate, low, high)
        parts.append((band * control_curve(ctx, gust_rate, 0.15, 1.0), -3.0))
    rumble = lowpass(brown_noise(ctx), ctx.sample_rate, 120)
    parts.append((rumble * control_curve(ctx, gust_rate, 0.3, 1.0), -8.0 + 3 * strength))
    return mix_at_rms(parts)


def gusts(ctx: SynthContext) -> np.ndarray:
    """Wind with strong swells and near-silences."""
    return wind(ctx, strength=1.6) * control_curve(ctx, 0.8, 0.05, 1.0) ** 1.5


def _grains(ctx: SynthContext, rate_hz: float, band_hz: tuple[float, float],
            length_s: tuple[float, float], density_curve: np.ndarray) -> np.ndarray:
    """Short noise grains (a leaf flick, a crinkle) overlap-added at `rate_hz`, thinned by
    `density_curve` (0..1)."""
    out = np.zeros(ctx.n_samples)
    source = highpass(bandpass(ctx.rng.standard_normal(ctx.n_samples), ctx.sample_rate,
                               *band_hz), ctx.sample_rate, band_hz[0])
    for onset_s in event_times_s(ctx, rate_hz, regular=False):
        start = int(onset_s * ctx.sample_rate)
        if ctx.rng.random() > density_curve[min(start, ctx.n_samples - 1)]:
            continue
        length = int(ctx.rng.uniform(*length_s) * ctx.sample_rate)
        grain = source[start:start + length]
        grain = grain * np.exp(-np.arange(len(grain)) / (len(grain) / 3 + 1))
        add_at(out, grain * ctx.rng.uniform(0.2, 1.0), start)
    return out


def rustle(ctx: SynthContext, *, kind: str = "leaves") -> np.ndarray:
    """Leaves, grass, bushes, fronds, reeds: granular rustle carried by gusts."""
    band = {"leaves": (1500, 11000), "grass": (2500, 13000), "fronds": (900, 8000),
            "reeds": (1200, 9000)}.get(kind, (1500, 11000))
    low, high = (f * 2 ** (0.5 * ctx.brightness) for f in band)
    gust = control_curve(ctx, 0.7, 0.1, 1.0)
    grains = _grains(ctx, 350 * ctx.density, (low, high), (0.004, 0.03), gust)
    breeze = wind(ctx, strength=0.5)
    return mix_at_rms([(grains, 0.0), (breeze * gust, -12.0)])


def crinkle(ctx: SynthContext, *, kind: str = "paper") -> np.ndarray:
    """Paper, plastic bags, wrappers, foil: bursts of sharp crackles with a hiss."""
    band = {"paper": (1200, 9000), "plastic": (2000, 14000), "foil": (3000, 16000)}.get(
        kind, (1500, 12000))
    handling = np.zeros(ctx.n_samples)
    for onset_s in event_times_s(ctx, 0.9 * ctx.density, jitter=0.3):
        length = int(ctx.rng.uniform(0.2, 0.7) * ctx.sample_rate)
        add_at(handling, np.hanning(length), int(onset_s * ctx.sample_rate))
    handling = np.minimum(handling, 1.0)
    crackles = _grains(ctx, 900, band, (0.0005, 0.004), handling)
    hiss = bandpass(pink_noise(ctx), ctx.sample_rate, *band) * handling
    return mix_at_rms([(crackles, 0.0), (hiss, -10.0)])


def swish(ctx: SynthContext, *, rate_hz: float = 1.0) -> np.ndarray:
    """Fabric, clothing, a tail or a broom: soft swells of band-passed noise."""
    out = np.zeros(ctx.n_samples)
    centre = 1500 * 2 ** (0.6 * ctx.brightness - 0.4 * ctx.size)
    source = bandpass(pink_noise(ctx), ctx.sample_rate, centre * 0.3, centre * 4)
    for onset_s in event_times_s(ctx, rate_hz * ctx.density, jitter=0.2):
        length = int(ctx.rng.uniform(0.15, 0.6) * ctx.sample_rate)
        start = int(onset_s * ctx.sample_rate)
        grain = source[start:start + length]
        add_at(out, grain * np.hanning(len(grain)) * ctx.rng.uniform(0.4, 1.0), start)
    return out


def flutter(ctx: SynthContext) -> np.ndarray:
    """Flags, sails, awnings, wings: noise chopped at an irregular 6..14 Hz with snaps."""
    # The flapping rate wanders fast (gusts catch the cloth unevenly), so no beat settles.
    rate = control_curve(ctx, 3.0, 4.0, 16.0) * ctx.rng.uniform(0.9, 1.1)
    phase = np.cumsum(2 * np.pi * rate / ctx.sample_rate)
    phase += 1.5 * control_curve(ctx, 7.0, -1.0, 1.0)
    chop = (0.5 + 0.5 * np.sin(phase)) ** 3
    cloth = bandpass(pink_noise(ctx), ctx.sample_rate, 300, 6000) * chop
    cloth *= control_curve(ctx, 0.5, 0.3, 1.0)
    snaps = _grains(ctx, 3.0 * ctx.density, (500, 8000), (0.01, 0.03),
                    np.ones(ctx.n_samples))
    return mix_at_rms([(cloth, 0.0), (snaps, -4.0), (wind(ctx, strength=0.7), -10.0)])


def fire(ctx: SynthContext) -> np.ndarray:
    """Campfires, fireplaces, torches: a soft roar, hiss and random crackles and pops."""
    roar = lowpass(brown_noise(ctx), ctx.sample_rate, 250) * control_curve(ctx, 1.5, 0.5, 1.0)
    hiss = bandpass(pink_noise(ctx), ctx.sample_rate, 2000, 9000)
    hiss *= control_curve(ctx, 3.0, 0.3, 1.0)
    crackles = _grains(ctx, 25 * ctx.density, (800, 12000), (0.001, 0.01),
                       np.ones(ctx.n_samples))
    return mix_at_rms([(roar, 0.0), (hiss, -10.0), (crackles, 2.0)])


def breath(ctx: SynthContext) -> np.ndarray:
    """Breathing, blowing, sighs: slow in/out swells of band-passed noise."""
    rate = 0.3 * ctx.density
    t = np.arange(ctx.n_samples) / ctx.sample_rate
    cycle = np.abs(np.sin(np.pi * rate * t + ctx.rng.uniform(0, np.pi))) ** 2
    air = bandpass(pink_noise(ctx), ctx.sample_rate, 300, 5000)
    return air * cycle


def hiss(ctx: SynthContext) -> np.ndarray:
    """Steam, spray, air leaks, static: steady band-passed noise."""
    centre = 4000 * 2 ** (0.7 * ctx.brightness)
    noise = bandpass(pink_noise(ctx), ctx.sample_rate, centre / 3, centre * 3)
    return noise * control_curve(ctx, 0.5, 0.8, 1.0)

