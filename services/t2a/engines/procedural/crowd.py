"""People: crowds, chatter, footsteps, applause.

Babble is a few nearby voices (jittered glottal pulses through changing vowel formants) over a
speech-shaped noise bed modulated at syllable rate — the many distant voices of a crowd blur into
exactly that. Footsteps are heel-toe pairs of impacts on the surface's material.
"""

from __future__ import annotations

import numpy as np

from services.t2a.engines.procedural.modal import MATERIALS, strike
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

_VOWELS_HZ = ((730, 1090, 2440), (530, 1840, 2480), (270, 2290, 3010), (570, 840, 2410),
              (300, 870, 2240), (660, 1720, 2410))


def _voice(ctx: SynthContext, f0_hz: float) -> np.ndarray:
    """One talker: syllables of a jittered pulse train through random vowels, with pauses."""
    out = np.zeros(ctx.n_samples)
    for onset_s in event_times_s(ctx, 3.5, regular=False):
        length = int(ctx.rng.uniform(0.08, 0.25) * ctx.sample_rate)
        pulses = np.zeros(length)
        t = 0.0
        contour = f0_hz * ctx.rng.uniform(0.85, 1.2)
        while t < length:
            pulses[int(t)] = 1.0
            t += ctx.sample_rate / contour * (1 + 0.05 * ctx.rng.standard_normal())
            contour *= 1 + 0.0015 * ctx.rng.standard_normal()
        vowel = np.asarray(_VOWELS_HZ[ctx.rng.integers(len(_VOWELS_HZ))], dtype=float)
        syllable = resonator_bank(pulses, ctx.sample_rate, vowel, vowel * 0.1, np.ones(3))
        add_at(out, syllable * np.hanning(length), int(onset_s * ctx.sample_rate))
    return out


def babble(ctx: SynthContext, *, near_voices: int = 3) -> np.ndarray:
    """Crowds, cafés, markets, plazas: near voices over a syllable-modulated speech-shaped bed."""
    voices = sum(_voice(ctx, ctx.rng.uniform(95, 260)) for _ in range(near_voices))
    bed = np.zeros(ctx.n_samples)
    for _ in range(4):
        syllables = control_curve(ctx, 8.0, 0.0, 1.0) ** 2
        bed += bandpass(pink_noise(ctx), ctx.sample_rate, 250, 3500) * syllables
    bed *= control_curve(ctx, 0.4, 0.6, 1.0)
    return mix_at_rms([(bed, 0.0), (np.asarray(voices, dtype=float), -6.0 + 2 * ctx.density)])


def applause(ctx: SynthContext) -> np.ndarray:
    """Applause and clapping: dense claps (short band-passed noise bursts)."""
    out = np.zeros(ctx.n_samples)
    source = bandpass(ctx.rng.standard_normal(ctx.n_samples), ctx.sample_rate, 700, 6000)
    for onset_s in event_times_s(ctx, 60 * ctx.density, regular=False):
        start = int(onset_s * ctx.sample_rate)
        length = int(ctx.rng.uniform(0.004, 0.015) * ctx.sample_rate)
        grain = source[start:start + length]
        add_at(out, grain * np.exp(-np.arange(len(grain)) / (len(grain) / 3 + 1)), start)
    return out


def _crunch(ctx: SynthContext, length: int) -> np.ndarray:
    """Gravel, snow, leaves underfoot: a dense burst of tiny grains."""
    grains = ctx.rng.standard_normal(length) * (ctx.rng.random(length) < 0.08)
    return highpass(grains, ctx.sample_rate, 800) * np.hanning(length)


def footsteps(ctx: SynthContext, *, surface: str = "stone", rate_hz: float = 1.8,
              heavy: bool = False) -> np.ndarray:
    """Walking on `surface` (a material name, or gravel / grass / snow): heel then toe."""
    out = np.zeros(ctx.n_samples)
    soft_surface = surface in ("gravel", "grass", "snow", "sand", "leaves")
    material = MATERIALS.get(surface, MATERIALS["stone"])
    step_ctx = SynthContext(ctx.rng, ctx.sample_rate, ctx.n_samples, ctx.brightness - 0.5,
                            ctx.density, ctx.size + (0.8 if heavy else 0.3), regular=True)
    for step_s in event_times_s(ctx, rate_hz * ctx.density, jitter=0.04, regular=True):
        start = int(step_s * ctx.sample_rate)
        for delay_s, strength in ((0.0, 1.0), (0.05, 0.6)):  # heel, then toe
            offset = start + int(delay_s * ctx.rng.uniform(0.7, 1.3) * ctx.sample_rate)
            if soft_surface:
                length = int(ctx.rng.uniform(0.08, 0.16) * ctx.sample_rate)
                hit = _crunch(ctx, length)
            else:
                hit = strike(step_ctx, material, strength=1.0, decay_scale=0.6)
            thud_len = int(0.03 * ctx.sample_rate)
            thud = lowpass(ctx.rng.standard_normal(thud_len), ctx.sample_rate, 200)
            thud *= np.hanning(thud_len)
            add_at(out, hit * strength, offset)
            add_at(out, thud * strength * (3.0 if heavy else 1.5), offset)
    room = bandpass(pink_noise(ctx), ctx.sample_rate, 100, 5000)
    return mix_at_rms([(out, 0.0), (room, -26.0)])
