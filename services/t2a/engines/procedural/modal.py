"""Solid objects by material: modal synthesis of impacts, scrapes, creaks and rolling.

A struck object rings at a few inharmonic mode frequencies that decay at material-specific rates
(wood and stone damp fast, metal and glass ring). Every hit re-draws the base frequency and
detunes its modes, the way real hits land on different spots, and a burst of contact noise
marks the strike: together that keeps a clatter from turning into a tune.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.t2a.engines.procedural.primitives import (
    SynthContext,
    add_at,
    bandpass,
    brown_noise,
    control_curve,
    damped_modes,
    decay_envelope,
    event_times_s,
    highpass,
    lowpass,
    mix_at_rms,
    pink_noise,
    resonator_bank,
    reverb,
    white_noise,
)


@dataclass(frozen=True)
class Material:
    name: str
    mode_ratios: tuple[float, ...]  # mode frequencies over the lowest, inharmonic
    base_hz: tuple[float, float]  # range of the lowest mode
    decay_s: float  # lowest mode's decay time; higher modes decay faster
    contact_noise: float  # share of the strike that is noise (0..1)
    contact_band_hz: tuple[float, float]


MATERIALS: dict[str, Material] = {
    "wood": Material("wood", (1.0, 2.57, 4.21, 5.93, 8.11, 10.4), (180, 520), 0.045, 0.55,
                     (300, 5000)),
    "metal": Material("metal", (1.0, 1.47, 2.76, 3.93, 5.40, 6.72, 8.93, 11.3, 13.3), (380, 1400),
                      0.12, 0.4, (1500, 12000)),
    "glass": Material("glass", (1.0, 2.32, 2.71, 4.25, 5.43, 6.63, 9.38), (1300, 3200), 0.08,
                      0.35, (2500, 14000)),
    "stone": Material("stone", (1.0, 1.71, 2.93, 4.1, 5.6, 7.3), (450, 1500), 0.012, 0.8,
                      (400, 8000)),
    "ceramic": Material("ceramic", (1.0, 2.09, 2.61, 3.64, 5.27, 7.48), (900, 2400), 0.06, 0.45,
                        (1500, 12000)),
    "plastic": Material("plastic", (1.0, 1.93, 3.12, 4.63, 6.2), (350, 1100), 0.025, 0.6,
                        (600, 9000)),
    "rubber": Material("rubber", (1.0, 1.8, 2.9), (90, 250), 0.015, 0.7, (80, 1500)),
}


def _mode_set(ctx: SynthContext, material: Material, pitch_scale: float,
              decay_scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frequencies, decays and amplitudes of one hit: a fresh spot on the object each time."""
    low, high = material.base_hz
    base = ctx.rng.uniform(low, high) * pitch_scale * 2 ** (-0.8 * ctx.size)
    ratios = np.asarray(material.mode_ratios) * ctx.rng.uniform(0.94, 1.06,
                                                                len(material.mode_ratios))
    # Each mode splits into a close pair (real objects are never perfectly symmetric): the pair
    # beats, which is much of what makes a clank sound like an object and not a note.
    split = ctx.rng.uniform(1.01, 1.05, len(ratios))
    frequencies = base * np.concatenate([ratios, ratios * split])
    tilt = 0.9 - 0.5 * ctx.brightness
    amplitudes = ctx.rng.uniform(0.3, 1.0, len(frequencies)) * (frequencies / base) ** -tilt
    decays = material.decay_s * decay_scale * (frequencies / base) ** -0.7
    decays *= ctx.rng.uniform(0.7, 1.3, len(decays))
    return frequencies, decays, amplitudes


def strike(ctx: SynthContext, material: Material, *, strength: float = 1.0,
           pitch_scale: float = 1.0, decay_scale: float = 1.0) -> np.ndarray:
    """One hit: contact noise burst plus the object's damped modes."""
    frequencies, decays, amplitudes = _mode_set(ctx, material, pitch_scale, decay_scale)
    length = int(min(ctx.duration_s, max(0.05, 5 * decays.max())) * ctx.sample_rate)
    ringing = damped_modes(ctx.sample_rate, frequencies, decays, amplitudes, length, ctx.rng)
    ringing /= np.max(np.abs(ringing)) + 1e-12
    burst_len = int(ctx.rng.uniform(0.002, 0.012) * ctx.sample_rate)
    burst = white_noise(ctx, burst_len) * decay_envelope(ctx.sample_rate, burst_len,
                                                         burst_len / ctx.sample_rate / 4)
    burst = bandpass(burst, ctx.sample_rate, *material.contact_band_hz)
    burst /= np.max(np.abs(burst)) + 1e-12
    hit = ringing * (1 - material.contact_noise)
    hit[:burst_len] += burst * material.contact_noise * 1.5
    return hit * strength


def impacts(ctx: SynthContext, material: str, *, rate_hz: float = 1.5,
            burst_count: int = 1, burst_spread_s: float = 0.0, decay_scale: float = 1.0,
            pitch_scale: float = 1.0, room: float = 0.15) -> np.ndarray:
    """Knocks, taps, clinks, clanks: `rate_hz` hits a second, each possibly a short burst
    (`burst_count` bounces over `burst_spread_s`: a rattle, a dropped object)."""
    spec = MATERIALS[material]
    out = np.zeros(ctx.n_samples)
    for onset_s in event_times_s(ctx, rate_hz * ctx.density, jitter=0.08):
        strength = ctx.rng.uniform(0.45, 1.0)
        for bounce in range(burst_count):
            offset_s = 0.0 if bounce == 0 else ctx.rng.uniform(0.01, max(0.012, burst_spread_s))
            offset_s *= bounce ** 0.5
            hit = strike(ctx, spec, strength=strength * 0.75 ** bounce, pitch_scale=pitch_scale,
                         decay_scale=decay_scale)
            add_at(out, hit, int((onset_s + offset_s) * ctx.sample_rate))
    # The hits happen somewhere: a short room for small hits, a long one for big bells.
    return reverb(ctx, out, decay_s=0.35 + 1.2 * room, wet=room)


def scrape(ctx: SynthContext, material: str, *, grit: float = 0.5,
           strokes_per_s: float = 0.8) -> np.ndarray:
    """Dragging, sliding, scratching: noise strokes through the material's body resonances."""
    spec = MATERIALS[material]
    base = np.mean(spec.base_hz) * 2 ** (-0.8 * ctx.size)
    frequencies = base * np.asarray(spec.mode_ratios) * ctx.rng.uniform(0.9, 1.1,
                                                                        len(spec.mode_ratios))
    bandwidths = np.maximum(frequencies * 0.08, 40.0)
    excitation = pink_noise(ctx) * (1 + grit * _grit(ctx))
    body = resonator_bank(excitation, ctx.sample_rate, frequencies, bandwidths,
                          np.ones(len(frequencies)))
    noise = bandpass(excitation, ctx.sample_rate, *spec.contact_band_hz)
    sound = mix_at_rms([(body, -6.0), (noise, 0.0)])
    return sound * _strokes(ctx, strokes_per_s)


def _grit(ctx: SynthContext) -> np.ndarray:
    """Sparse random impulses: the grains a scrape catches on."""
    grit = (ctx.rng.random(ctx.n_samples) < 0.004) * ctx.rng.standard_normal(ctx.n_samples)
    return np.abs(lowpass(grit, ctx.sample_rate, 3000)) * 8


def _strokes(ctx: SynthContext, strokes_per_s: float) -> np.ndarray:
    """Envelope of separate push/pull strokes, each a smooth swell of 0.2..0.8 s."""
    envelope = np.zeros(ctx.n_samples)
    for onset_s in event_times_s(ctx, strokes_per_s * ctx.density, jitter=0.2):
        length = int(ctx.rng.uniform(0.2, 0.8) * ctx.sample_rate)
        add_at(envelope, np.hanning(length) * ctx.rng.uniform(0.5, 1.0),
               int(onset_s * ctx.sample_rate))
    return np.minimum(envelope, 1.0)


def creak(ctx: SynthContext, material: str = "wood", *, creaks_per_s: float = 0.6) -> np.ndarray:
    """Hinges, floorboards, ropes: stick-slip — an irregular train of micro-slips (its rate
    wandering, each interval jittered) exciting the material's body."""
    spec = MATERIALS[material]
    out = np.zeros(ctx.n_samples)
    for onset_s in event_times_s(ctx, creaks_per_s * ctx.density, jitter=0.25):
        length_s = ctx.rng.uniform(0.25, 0.9)
        rate_hz = ctx.rng.uniform(25, 90) * 2 ** (-0.7 * ctx.size)
        pulses = np.zeros(int(length_s * ctx.sample_rate))
        t_s, glide = 0.0, ctx.rng.uniform(-0.6, 0.6)
        while t_s < length_s:
            pulses[min(int(t_s * ctx.sample_rate), len(pulses) - 1)] = ctx.rng.uniform(0.3, 1.0)
            local_rate = rate_hz * (1 + glide * t_s / length_s)
            t_s += (1.0 / max(local_rate, 8.0)) * ctx.rng.uniform(0.55, 1.45)
        frequencies = np.mean(spec.base_hz) * np.asarray(spec.mode_ratios) * ctx.rng.uniform(
            0.8, 1.2, len(spec.mode_ratios))
        body = resonator_bank(pulses, ctx.sample_rate, frequencies,
                              np.maximum(frequencies * 0.06, 30.0), np.ones(len(frequencies)))
        body += highpass(pulses, ctx.sample_rate, 1500) * 0.3
        body *= np.hanning(len(body)) ** 0.5
        add_at(out, body, int(onset_s * ctx.sample_rate))
    return out


def rolling(ctx: SynthContext, material: str = "plastic", *, surface: str = "stone",
            speed: float = 1.0) -> np.ndarray:
    """Wheels, carts, rolling balls: low rumble modulated by surface bumps plus small ticks."""
    # Loose ground rolls like small stones (gravel, sand) or muffles the ticks (grass, snow).
    surface = surface if surface in MATERIALS else {"gravel": "stone", "sand": "stone"}.get(
        surface, "rubber")
    rumble = lowpass(brown_noise(ctx), ctx.sample_rate, 300 + 200 * ctx.brightness)
    rumble *= control_curve(ctx, 3.0 * speed, 0.5, 1.0)
    ticks = impacts(SynthContext(ctx.rng, ctx.sample_rate, ctx.n_samples, ctx.brightness,
                                 ctx.density, size=-0.8, regular=False),
                    surface, rate_hz=14.0 * speed, decay_scale=0.5, room=0.0)
    squeak = _squeak(ctx) if material in ("metal", "plastic", "rubber") else np.zeros_like(rumble)
    return mix_at_rms([(rumble, 0.0), (ticks, -8.0), (squeak, -20.0)])


def _squeak(ctx: SynthContext) -> np.ndarray:
    """Occasional short, wobbling squeaks (band-passed noise, not a tone)."""
    out = np.zeros(ctx.n_samples)
    for onset_s in event_times_s(ctx, 0.5, regular=False):
        length = int(ctx.rng.uniform(0.05, 0.15) * ctx.sample_rate)
        centre = ctx.rng.uniform(1500, 3500)
        grain = bandpass(white_noise(ctx, length), ctx.sample_rate, centre * 0.85, centre * 1.15)
        add_at(out, grain * np.hanning(length), int(onset_s * ctx.sample_rate))
    return out
