"""Water: drops, rain, flowing streams, waves, pouring, splashes and bubbling.

Drops and flow are built from bubbles (Minnaert resonances: a short sinusoid whose pitch rises as
the bubble nears the surface, van den Doel's model); a few are drops, hundreds a second are a
stream, thousands with hiss are rain. Waves are low noise swelling and breaking.
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
    smooth,
)


def _bubble(ctx: SynthContext, frequency_hz: float) -> np.ndarray:
    # Smaller bubbles ring higher and die faster; the pitch rise makes each one a "plip".
    decay_s = np.clip(0.13 * frequency_hz ** -0.5 * ctx.rng.uniform(0.6, 1.4), 0.002, 0.02)
    length = int(6 * decay_s * ctx.sample_rate)
    t = np.arange(length) / ctx.sample_rate
    rise = ctx.rng.uniform(0.05, 0.2) / decay_s
    phase = 2 * np.pi * frequency_hz * (t + rise * t * t / 2)
    return np.sin(phase) * np.exp(-t / decay_s)


def bubbles(ctx: SynthContext, rate_hz: float, band_hz: tuple[float, float]) -> np.ndarray:
    out = np.zeros(ctx.n_samples)
    low, high = band_hz
    for onset_s in event_times_s(ctx, rate_hz, regular=False):
        frequency = np.exp(ctx.rng.uniform(np.log(low), np.log(high)))
        add_at(out, _bubble(ctx, frequency) * ctx.rng.uniform(0.2, 1.0) ** 2,
               int(onset_s * ctx.sample_rate))
    return out


def drops(ctx: SynthContext, *, rate_hz: float = 2.5) -> np.ndarray:
    """Dripping: single drops, each a splash click and a bubble, over faint room noise."""
    bright = 2 ** (0.5 * ctx.brightness - 0.5 * ctx.size)
    out = np.zeros(ctx.n_samples)
    for onset_s in event_times_s(ctx, rate_hz * ctx.density, jitter=0.1):
        start = int(onset_s * ctx.sample_rate)
        click_len = int(0.004 * ctx.sample_rate)
        click = highpass(ctx.rng.standard_normal(click_len), ctx.sample_rate, 2000)
        click *= np.linspace(1, 0, click_len)
        add_at(out, click * 0.5, start)
        frequency = ctx.rng.uniform(600, 1600) * bright
        add_at(out, _bubble(ctx, frequency) * ctx.rng.uniform(0.5, 1.0), start + click_len)
    room = bandpass(pink_noise(ctx), ctx.sample_rate, 100, 6000)
    return mix_at_rms([(out, 0.0), (room, -18.0)])


def rain(ctx: SynthContext, *, intensity: float = 1.0) -> np.ndarray:
    """Rain: dense tiny drops and splash hiss; heavier rain adds a low roar."""
    hiss = bandpass(pink_noise(ctx), ctx.sample_rate, 800, 12000)
    hiss *= control_curve(ctx, 0.5, 0.7, 1.0)
    patter = bubbles(ctx, 400 * intensity * ctx.density, (1500, 6000))
    splats = highpass(ctx.rng.standard_normal(ctx.n_samples) *
                      (ctx.rng.random(ctx.n_samples) < 300 * intensity / ctx.sample_rate),
                      ctx.sample_rate, 1500)
    roar = lowpass(brown_noise(ctx), ctx.sample_rate, 400)
    return mix_at_rms([(hiss, 0.0), (patter, -8.0), (splats, -6.0), (roar, -12 + 4 * intensity)])


def stream(ctx: SynthContext, *, flow: float = 1.0) -> np.ndarray:
    """Brooks, fountains, taps running: many bubbles plus turbulent low noise."""
    gurgle = bubbles(ctx, 300 * flow * ctx.density, (200 * 2 ** (-ctx.size), 2500))
    turbulence = bandpass(pink_noise(ctx), ctx.sample_rate, 150, 3000, order=4)
    turbulence *= control_curve(ctx, 2.0, 0.6, 1.0)
    spray = bandpass(pink_noise(ctx), ctx.sample_rate, 3000, 10000)
    return mix_at_rms([(gurgle, 0.0), (turbulence, -3.0), (spray, -18 + 4 * ctx.brightness)])


def pour(ctx: SynthContext) -> np.ndarray:
    """Pouring a liquid: a stream that starts, runs and stops, bubbles rising as it fills."""
    sound = stream(ctx, flow=1.5)
    envelope = np.zeros(ctx.n_samples)
    start = int(ctx.rng.uniform(0.05, 0.2) * ctx.n_samples)
    stop = int(ctx.rng.uniform(0.75, 0.95) * ctx.n_samples)
    ramp = int(0.08 * ctx.sample_rate)
    envelope[start:stop] = 1.0
    envelope = smooth(envelope, np.ones(ramp) / ramp)
    return sound * envelope


def waves(ctx: SynthContext, *, period_s: float = 5.0) -> np.ndarray:
    """Sea and lake shores: swells of low noise that break into hissing foam and draw back."""
    t = np.arange(ctx.n_samples) / ctx.sample_rate
    period_s *= 2 ** (0.3 * ctx.size) * ctx.rng.uniform(0.8, 1.2)
    phase = ctx.rng.uniform(0, 2 * np.pi)
    strength = control_curve(ctx, 0.6, 0.7, 1.0)
    swell = (0.5 + 0.5 * np.sin(2 * np.pi * t / period_s + phase)) ** 2 * strength
    body = lowpass(brown_noise(ctx), ctx.sample_rate, 500) * (0.35 + swell)
    foam = bandpass(pink_noise(ctx), ctx.sample_rate, 1200, 12000)
    # The foam lags the swell's crest by a sixth of a period (the break), then hisses away.
    lagged = (0.5 + 0.5 * np.sin(2 * np.pi * t / period_s + phase - np.pi / 3)) ** 2 * strength
    foam *= lagged ** 1.5
    return mix_at_rms([(body, 0.0), (foam, -6.0 + 3 * ctx.brightness)])


def splash(ctx: SynthContext, *, rate_hz: float = 0.6) -> np.ndarray:
    """Splashes (a paddle, a jump, a fish): noise bursts with a tail of bubbles."""
    out = np.zeros(ctx.n_samples)
    for onset_s in event_times_s(ctx, rate_hz * ctx.density, jitter=0.2):
        length = int(ctx.rng.uniform(0.25, 0.6) * ctx.sample_rate)
        burst = bandpass(ctx.rng.standard_normal(length), ctx.sample_rate, 300, 9000)
        burst *= np.exp(-np.arange(length) / (0.08 * ctx.sample_rate))
        add_at(out, burst, int(onset_s * ctx.sample_rate))
    tail = bubbles(ctx, 60 * ctx.density, (400, 3000))
    return mix_at_rms([(out, 0.0), (tail, -9.0)])


def bubbling(ctx: SynthContext) -> np.ndarray:
    """Boiling, fizzing, simmering: dense small bubbles over a soft roar."""
    fizz = bubbles(ctx, 600 * ctx.density, (900, 5000))
    roar = bandpass(brown_noise(ctx), ctx.sample_rate, 80, 900)
    return mix_at_rms([(fizz, 0.0), (roar, -6.0)])
