"""Give a weakly pitched sound a pitch while keeping its texture.

A sound effect (wind, rain, a crowd) has no stable pitch, so a sampler cannot play it in tune.
A harmonic resonator bank, applied as one FFT-domain mask, keeps only narrow bands around the
harmonics of the wanted fundamental: the output keeps the source's spectral envelope and its
grain (each band is the source's own noise, a few hertz wide), and it is periodic at exactly the
wanted frequency. Mixing a little of the dry source back keeps the attack and the air.
"""

from __future__ import annotations

import numpy as np
from scipy import fft


def fast_length(frames: int) -> int:
    """The longest length <= `frames` (and >= 97% of it) that FFTs quickly (2-3-5-smooth):
    resonating a clip of a prime-ish length would otherwise take 10x longer."""
    candidate = fft.next_fast_len(max(1, int(frames * 0.97)), real=True)
    return candidate if candidate <= frames else frames


def harmonic_resonance(samples: np.ndarray, sample_rate: int, fundamental_hz: float, *,
                       bandwidth_hz: float = 3.0, max_frequency_hz: float = 12_000.0,
                       tonal_weight: float = 0.5) -> np.ndarray:
    """Filter `samples` through resonances at every harmonic of `fundamental_hz`.

    Gaussian bands `bandwidth_hz` wide (standard deviation) ring for about 1 / (pi * bandwidth)
    seconds, long enough to be heard, and measured, as a steady pitch. The filtering is circular
    over the clip; the builder trims and envelopes the result afterwards. The result may be a
    few frames shorter than the input (see `fast_length`).
    """
    samples = np.asarray(samples, dtype=np.float64)
    size = fast_length(len(samples))
    samples = samples[:size]
    spectrum = fft.rfft(samples)
    frequencies = np.fft.rfftfreq(size, 1.0 / sample_rate)
    distance = frequencies - fundamental_hz * np.round(frequencies / fundamental_hz)
    # The bands' width grows gently with the harmonic number, as in real strings and pipes.
    harmonic = np.maximum(np.round(frequencies / fundamental_hz), 1.0)
    width = bandwidth_hz * (1.0 + 0.02 * harmonic)
    mask = np.exp(-0.5 * (distance / width) ** 2)
    mask[frequencies < 0.5 * fundamental_hz] = 0.0
    mask[frequencies > max_frequency_hz] = 0.0
    banded = spectrum * mask
    # Blend each harmonic's level (geometrically) between the source's and a 1/h instrument
    # spectrum: a hiss with nothing below 2 kHz still gets a fundamental to hear the pitch by,
    # while the upper harmonics keep the source's colour.
    band = np.round(frequencies / fundamental_hz).astype(int)
    band_energy = np.bincount(band, weights=np.abs(banded) ** 2)
    # Bands more than 120 dB under the strongest count as empty: boosting round-off noise
    # there overflowed to inf and turned whole instruments into NaN.
    present = band_energy > band_energy.max() * 1e-12
    harmonics = np.arange(len(band_energy))
    reference = np.zeros_like(band_energy)
    reference[present] = 1.0 / np.maximum(harmonics[present], 1) ** 2
    reference *= band_energy.sum() / max(reference.sum(), 1e-30)
    gain = np.ones_like(band_energy)
    gain[present] = (reference[present] / band_energy[present]) ** (tonal_weight / 2)
    gain[~present] = 0.0
    resonated = fft.irfft(banded * gain[band], size)
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
