"""Machines: combustion engines, electric motors, hum, traffic, trains, aircraft and rockets,
clocks and buzzing devices.

Machines are periodic, so their pitch is what could make them musical: every periodic part here
is jittered (firing intervals vary several percent), kept below broadband noise (exhaust, air,
bearings), and its rate wanders with load.
"""

from __future__ import annotations

import numpy as np

from services.t2a.engines.procedural.modal import impacts
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


def _pulse_train(ctx: SynthContext, rate_hz: np.ndarray, jitter: float) -> np.ndarray:
    """Unit impulses at a time-varying rate, each interval jittered by `jitter` (fraction)."""
    pulses = np.zeros(ctx.n_samples)
    t = 0
    while t < ctx.n_samples:
        pulses[t] = ctx.rng.uniform(0.5, 1.0)
        period = ctx.sample_rate / max(rate_hz[t], 1.0)
        t += max(1, int(period * (1 + jitter * ctx.rng.standard_normal())))
    return pulses


def engine(ctx: SynthContext, *, idle_hz: float = 32.0, revving: bool = False) -> np.ndarray:
    """Cars, motorbikes, boats, generators: jittered firing pulses through an exhaust, plus
    intake and mechanical noise."""
    idle_hz *= 2 ** (-0.6 * ctx.size)
    wander = control_curve(ctx, 0.7, 0.9, 1.15)
    if revving:
        wander = wander * (1 + 0.8 * control_curve(ctx, 0.5, 0.0, 1.0))
    pulses = _pulse_train(ctx, idle_hz * wander, jitter=0.1)
    # Each firing is a burst of noise (not a click): a real exhaust pulse is turbulent.
    firing = smooth(pulses, np.hanning(int(0.012 * ctx.sample_rate)))
    exhaust = lowpass(firing * pink_noise(ctx), ctx.sample_rate, 500 + 300 * ctx.brightness)
    thump = lowpass(firing, ctx.sample_rate, 150)
    mechanical = bandpass(pink_noise(ctx), ctx.sample_rate, 800, 6000) * wander
    rumble = lowpass(brown_noise(ctx), ctx.sample_rate, 200)
    return mix_at_rms([(exhaust, 0.0), (thump, -10.0), (mechanical, -12.0), (rumble, -6.0)])


def motor(ctx: SynthContext, *, speed_hz: float = 110.0) -> np.ndarray:
    """Electric motors, fans, drills, blenders: rough rotation buzz buried in air and brush
    noise; the speed wanders under load."""
    speed_hz *= 2 ** (0.5 * ctx.brightness - 0.6 * ctx.size)
    load = control_curve(ctx, 1.0, 0.85, 1.1)
    pulses = _pulse_train(ctx, speed_hz * load, jitter=0.08)
    rotation = bandpass(smooth(pulses, np.hanning(int(0.003 * ctx.sample_rate)))
                        * pink_noise(ctx), ctx.sample_rate, 100, 4000)
    air = bandpass(pink_noise(ctx), ctx.sample_rate, 150, 3000, order=4)
    brushes = highpass(pink_noise(ctx), ctx.sample_rate, 3000) * control_curve(ctx, 6.0, 0.4, 1)
    return mix_at_rms([(rotation, -2.0), (air, 0.0), (brushes, -8.0)])


def hum(ctx: SynthContext, *, mains_hz: float = 50.0) -> np.ndarray:
    """Fridges, transformers, lights, servers: a faint mains hum under fan and air noise."""
    t = np.arange(ctx.n_samples) / ctx.sample_rate
    drift = np.cumsum(control_curve(ctx, 0.5, -0.3, 0.3)) / ctx.sample_rate
    tone = sum(np.sin(2 * np.pi * mains_hz * k * (t + drift)) / k for k in (2, 4, 6))
    tone *= control_curve(ctx, 2.0, 0.5, 1.0)
    fan = bandpass(pink_noise(ctx), ctx.sample_rate, 80, 3000)
    rumble = lowpass(brown_noise(ctx), ctx.sample_rate, 150)
    return mix_at_rms([(fan, 0.0), (rumble, -4.0), (tone, -10.0)])


def traffic(ctx: SynthContext) -> np.ndarray:
    """Roads and streets: cars passing (swelling noise with a tyre hiss) over a distant rumble."""
    out = np.zeros(ctx.n_samples)
    for pass_s in event_times_s(ctx, 1.0 * ctx.density, regular=False, start_s=-1.5):
        length = int(ctx.rng.uniform(2.0, 4.0) * ctx.sample_rate)
        car = bandpass(pink_noise(ctx, length), ctx.sample_rate, 60, ctx.rng.uniform(2000, 6000))
        car *= np.hanning(length) ** 2
        add_at(out, car * ctx.rng.uniform(0.3, 1.0), int(pass_s * ctx.sample_rate))
    rumble = lowpass(brown_noise(ctx), ctx.sample_rate, 250) * control_curve(ctx, 0.3, 0.6, 1)
    distant = bandpass(pink_noise(ctx), ctx.sample_rate, 80, 2500)  # the road further off
    return mix_at_rms([(out, 0.0), (rumble, -3.0), (distant, -9.0)])


def train(ctx: SynthContext) -> np.ndarray:
    """Trains and trams: paired wheel clacks over rail joints on a heavy rumble."""
    rumble = lowpass(brown_noise(ctx), ctx.sample_rate, 300)
    squeal = bandpass(pink_noise(ctx), ctx.sample_rate, 2000, 7000) * control_curve(ctx, 0.5, 0, 1)
    clacks = impacts(SynthContext(ctx.rng, ctx.sample_rate, ctx.n_samples, -0.3, 1.0, 0.5,
                                  regular=True), "metal", rate_hz=1.6, burst_count=2,
                     burst_spread_s=0.12, decay_scale=0.3, room=0.0)
    return mix_at_rms([(rumble, 0.0), (clacks, -6.0), (squeal, -14.0)])


def roar(ctx: SynthContext, *, crackle: float = 0.5) -> np.ndarray:
    """Jets, rockets, waterfalls, blowers: a massive broadband roar with crackle."""
    body = lowpass(brown_noise(ctx), ctx.sample_rate, 800) * control_curve(ctx, 1.0, 0.7, 1.0)
    wash = bandpass(pink_noise(ctx), ctx.sample_rate, 300, 10000)
    pops = ctx.rng.standard_normal(ctx.n_samples) * (ctx.rng.random(ctx.n_samples) < 0.002)
    pops = bandpass(pops, ctx.sample_rate, 200, 6000)
    return mix_at_rms([(body, 0.0), (wash, -4.0), (pops, -12 + 10 * crackle)])


def ticking(ctx: SynthContext, *, rate_hz: float = 1.0) -> np.ndarray:
    """Clocks and timers: a regular small mechanical tick."""
    ticks = impacts(SynthContext(ctx.rng, ctx.sample_rate, ctx.n_samples, 0.5, 1.0, -1.0,
                                 regular=True), "metal", rate_hz=rate_hz, decay_scale=0.15,
                    room=0.0)
    room = bandpass(pink_noise(ctx), ctx.sample_rate, 100, 6000)
    return mix_at_rms([(ticks, 0.0), (room, -24.0)])


def vibration(ctx: SynthContext) -> np.ndarray:
    """Phones and buzzers: bursts of a rough rattling buzz against a surface."""
    gate = np.zeros(ctx.n_samples)
    for onset_s in event_times_s(ctx, 0.8, jitter=0.05, regular=True):
        length = int(0.4 * ctx.sample_rate)
        add_at(gate, np.ones(length), int(onset_s * ctx.sample_rate))
    gate = lowpass(np.minimum(gate, 1.0), ctx.sample_rate, 60.0)  # 5 ms soft edges
    rate = 160 * (1 + 0.15 * lowpass(ctx.rng.standard_normal(ctx.n_samples), ctx.sample_rate, 30))
    rattle = np.clip(np.sin(np.cumsum(2 * np.pi * rate / ctx.sample_rate)), 0, None) ** 6
    buzz = bandpass(rattle * pink_noise(ctx), ctx.sample_rate, 100, 5000)
    return buzz * gate + 0.01 * bandpass(pink_noise(ctx), ctx.sample_rate, 100, 6000)


def clicks(ctx: SynthContext, *, rate_hz: float = 4.0, material: str = "plastic") -> np.ndarray:
    """Keyboards, switches, shutters, latches: small short clicks."""
    return impacts(ctx, material, rate_hz=rate_hz, decay_scale=0.3, room=0.05)
