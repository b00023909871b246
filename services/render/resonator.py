"""Give a weakly pitched sound a pitch while keeping its texture.

A sound effect (wind, rain, a crowd) has no stable pitch, so a sampler cannot play it in tune.
A harmonic resonator bank, applied as one FFT-domain mask, keeps only narrow bands around the
harmonics of the wanted fundamental: the output keeps the source's spectral envelope and its
grain (each band is the source's own noise, a few hertz wide), and it is periodic at exactly the
wanted frequency. Mixing a little of the dry source back keeps the attack and the air.
"""

from __future__ import annotations

import numpy as np


def harmonic_resonance(samples: np.ndarray, sample_rate: int, fundamental_hz: float, *,
                       bandwidth_hz: float = 3.0, max_frequency_hz: float = 12_000.0) -> np.ndarray:
    """Filter `samples` through resonances at every harmonic of `fundamental_hz`.

    Gaussian bands `bandwidth_hz` wide (standard deviation) ring for about 1 / (pi * bandwidth)
    seconds, long enough to be heard, and measured, as a steady pitch. The filtering is circular
    over the clip; the builder trims and envelopes the result afterwards.
    """
    samples = np.asarray(samples, dtype=np.float64)
    size = len(samples)
    spectrum = np.fft.rfft(samples)
    frequencies = np.fft.rfftfreq(size, 1.0 / sample_rate)
    distance = frequencies - fundamental_hz * np.round(frequencies / fundamental_hz)
    # The bands' width grows gently with the harmonic number, as in real strings and pipes.
    harmonic = np.maximum(np.round(frequencies / fundamental_hz), 1.0)
    width = bandwidth_hz * (1.0 + 0.02 * harmonic)
    mask = np.exp(-0.5 * (distance / width) ** 2)
    mask[frequencies < 0.5 * fundamental_hz] = 0.0
    mask[frequencies > max_frequency_hz] = 0.0
    # Each harmonic keeps the source's energy around it: flatten the narrow-band loss per band so
    # a noisy source does not come out 30 dB quieter than it went in.
    resonated = np.fft.irfft(spectrum * mask, size)
    source_rms = np.sqrt(np.mean(samples**2)) + 1e-12
    return resonated * (source_rms / (np.sqrt(np.mean(resonated**2)) + 1e-12))


def synthetic_excitation(length: int, sample_rate: int, seed: int) -> np.ndarray:
    """Pink-ish noise used when the source is near silent, so there is still something to tune."""
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(length)
    spectrum = np.fft.rfft(white)
    frequencies = np.fft.rfftfreq(length, 1.0 / sample_rate)
    spectrum /= np.sqrt(np.maximum(frequencies, 20.0))
    return np.fft.irfft(spectrum, length)
