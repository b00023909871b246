"""Audio features shared by the sfx check, the timbre check, role assignment and evaluation.

Every function takes mono float samples and their sample rate and returns plain floats (or an
envelope array), so tests, benchmarks and `imagewave eval` measure sounds the same way.

Two scores answer "does this sound like music?":

- `tonality` (0 noise .. 1 pure tone) is the energy-weighted *predictability* of the short-time
  spectrum, the tonality estimate of the MPEG-1 psychoacoustic model 2: a steady partial's
  phase advances the same amount every hop, so the next frame is predictable from the last two;
  noise is not. It does not care whether partials are harmonic, so it also flags a sustained
  bell or whistle.
- `harmonicity` (0 aperiodic .. 1 periodic) is YIN's periodicity (1 minus the minimum of the
  cumulative-mean-normalised difference function) over pitches 40 Hz .. 1.6 kHz: how much the
  sound is a pitched, harmonic note.

`NON_MUSICAL_TONALITY_MAX` is the threshold the sound effects are held below; see its comment for
the measurements behind it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# Measured with `bench/engines.py --calibrate` (tests/imagewave/test_analysis.py keeps it honest):
# musical references — sine, harmonic tones at 55..880 Hz, a plucked-string melody, piano-like
# decaying notes, a three-note chord, tones with vibrato, and those tones with noise 10 dB below —
# score 0.62 .. 1.0; noise references — white, pink, brown, band-passed noise, noise bursts,
# crackle — score 0.00 .. 0.12. The threshold sits between the two groups, nearer to noise, so
# an effect that passes is far from every note-like reference while still allowing the brief
# ringing that real impacts, drops and chirps have.
NON_MUSICAL_TONALITY_MAX = 0.35

_ENVELOPE_HOP_S = 0.01
_SILENCE_BELOW_PEAK_DB = 45.0


def _as_mono(samples: np.ndarray) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if samples.ndim != 1:
        raise ValueError(f"samples must be mono (frames,) or (frames, channels), "
                         f"got shape {samples.shape}")
    return samples


def _frame_length(sample_rate: int, seconds: float, *, at_least: bool = False) -> int:
    """The power of two nearest to (or, `at_least`, not below) `seconds` at `sample_rate`."""
    exponent = np.log2(max(16.0, seconds * sample_rate))
    return int(2 ** (np.ceil(exponent) if at_least else round(exponent)))


def _frames(samples: np.ndarray, frame_length: int, hop: int) -> np.ndarray:
    if len(samples) < frame_length:
        samples = np.pad(samples, (0, frame_length - len(samples)))
    count = 1 + (len(samples) - frame_length) // hop
    view = np.lib.stride_tricks.sliding_window_view(samples, frame_length)[::hop]
    return view[:count]


def _stft(samples: np.ndarray, sample_rate: int, frame_s: float = 0.043,
          hop_fraction: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Complex STFT (frames × bins, Hann window) and the bin frequencies in Hz."""
    frame_length = _frame_length(sample_rate, frame_s)
    hop = max(1, int(frame_length * hop_fraction))
    frames = _frames(samples, frame_length, hop) * np.hanning(frame_length)
    spectrum = np.fft.rfft(frames, axis=1)
    return spectrum, np.fft.rfftfreq(frame_length, 1.0 / sample_rate)


def _loud_frames(power_per_frame: np.ndarray) -> np.ndarray:
    """Frames within `_SILENCE_BELOW_PEAK_DB` of the loudest: silence has no tonality to judge."""
    peak = power_per_frame.max(initial=0.0)
    if peak <= 0:
        return np.zeros_like(power_per_frame, dtype=bool)
    return power_per_frame >= peak * 10 ** (-_SILENCE_BELOW_PEAK_DB / 10)


def tonality(samples: np.ndarray, sample_rate: int) -> float:
    """0 for noise .. 1 for a steady pure tone: energy-weighted spectral predictability.

    Each bin of frame t is predicted from frames t-1 and t-2 (same magnitude, phase advanced by
    the same step); the bin's score is 1 - |actual - predicted|² / (|actual|² + |predicted|²),
    clipped to [0, 1], which is 1 for a steady partial and averages ~0.2 for noise bins. The
    clip's score is the energy-weighted mean over the loud frames, rescaled so that white noise
    maps to about 0.
    """
    samples = _as_mono(samples)
    if not np.any(samples):
        return 0.0
    spectrum, _ = _stft(samples, sample_rate, hop_fraction=0.5)
    if len(spectrum) < 3:
        return 0.0
    magnitude = np.abs(spectrum)
    phase = np.angle(spectrum)
    predicted = magnitude[1:-1] * np.exp(1j * (2 * phase[1:-1] - phase[:-2]))
    actual = spectrum[2:]
    error = np.abs(actual - predicted) ** 2
    scale = np.abs(actual) ** 2 + magnitude[1:-1] ** 2 + 1e-30
    bin_score = np.clip(1.0 - error / scale, 0.0, 1.0)
    weight = np.abs(actual) ** 2
    weight[~_loud_frames(weight.sum(axis=1))] = 0.0
    total = weight.sum()
    if total <= 0:
        return 0.0
    raw = float((bin_score * weight).sum() / total)
    # Noise bins score ≈ 0.27 here (0.21 for independent frames, plus the 50 % overlap); map that
    # floor to 0 so the scale reads 0 noise .. 1 tone.
    return float(np.clip((raw - _NOISE_FLOOR_SCORE) / (1.0 - _NOISE_FLOOR_SCORE), 0.0, 1.0))


_NOISE_FLOOR_SCORE = 0.27


def harmonicity(samples: np.ndarray, sample_rate: int, *, min_pitch_hz: float = 40.0,
                max_pitch_hz: float = 1600.0) -> float:
    """0 aperiodic .. 1 periodic: YIN periodicity, energy-weighted over the loud frames."""
    samples = _as_mono(samples)
    if not np.any(samples):
        return 0.0
    max_lag = int(sample_rate / min_pitch_hz)
    min_lag = max(2, int(sample_rate / max_pitch_hz))
    frame_length = _frame_length(sample_rate, 2.0 * max_lag / sample_rate, at_least=True)
    frames = _frames(samples, frame_length, frame_length // 2)
    frames = frames - frames.mean(axis=1, keepdims=True)
    energy = (frames**2).sum(axis=1)
    loud = _loud_frames(energy)
    if not loud.any():
        return 0.0
    frames, energy = frames[loud], energy[loud]
    size = 2 * frame_length
    autocorrelation = np.fft.irfft(np.abs(np.fft.rfft(frames, size, axis=1)) ** 2, size,
                                   axis=1)[:, : max_lag + 1]
    # Difference function d(τ) ≈ 2 (r(0) - r(τ)), then YIN's cumulative-mean normalisation,
    # which keeps low-passed noise (whose d rises steadily) from looking periodic.
    difference = 2.0 * (autocorrelation[:, :1] - autocorrelation)
    lags = np.arange(1, max_lag + 1)
    cumulative_mean = np.cumsum(difference[:, 1:], axis=1) / lags
    normalised = difference[:, 1:] / np.maximum(cumulative_mean, 1e-30)
    periodicity = np.clip(1.0 - normalised[:, min_lag - 1:].min(axis=1), 0.0, 1.0)
    return float((periodicity * energy).sum() / energy.sum())


def amplitude_envelope(samples: np.ndarray, sample_rate: int, *,
                       smoothing_s: float = 0.05) -> np.ndarray:
    """RMS every 10 ms, smoothed by a `smoothing_s` moving average: the sound's loudness shape."""
    samples = _as_mono(samples)
    hop = max(1, int(round(_ENVELOPE_HOP_S * sample_rate)))
    count = max(1, int(np.ceil(len(samples) / hop)))
    padded = np.pad(samples, (0, count * hop - len(samples)))
    rms = np.sqrt((padded.reshape(count, hop) ** 2).mean(axis=1))
    width = max(1, int(round(smoothing_s / _ENVELOPE_HOP_S)))
    if width > 1:
        kernel = np.ones(width) / width
        rms = np.convolve(np.pad(rms, (width // 2, width - 1 - width // 2), mode="edge"), kernel,
                          mode="valid")
    return rms


def envelope_correlation(a: np.ndarray, b: np.ndarray, sample_rate: int, *,
                         smoothing_s: float = 0.05) -> float:
    """Pearson correlation of the two clips' smoothed amplitude envelopes (common length).

    1.0 when both envelopes are flat (nothing to disagree about); 0.0 when only one is.
    """
    env_a = amplitude_envelope(a, sample_rate, smoothing_s=smoothing_s)
    env_b = amplitude_envelope(b, sample_rate, smoothing_s=smoothing_s)
    length = min(len(env_a), len(env_b))
    env_a, env_b = env_a[:length] - env_a[:length].mean(), env_b[:length] - env_b[:length].mean()
    norm_a, norm_b = np.sqrt((env_a**2).sum()), np.sqrt((env_b**2).sum())
    flat_a, flat_b = norm_a < 1e-9, norm_b < 1e-9
    if flat_a or flat_b:
        return 1.0 if flat_a and flat_b else 0.0
    return float((env_a * env_b).sum() / (norm_a * norm_b))


def _long_term_power(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    spectrum, frequencies = _stft(samples, sample_rate, hop_fraction=0.5)
    return (np.abs(spectrum) ** 2).sum(axis=0), frequencies


def spectral_centroid_hz(samples: np.ndarray, sample_rate: int) -> float:
    """Power-weighted mean frequency of the whole clip: its brightness."""
    power, frequencies = _long_term_power(_as_mono(samples), sample_rate)
    total = power.sum()
    return float((power * frequencies).sum() / total) if total > 0 else 0.0


def low_frequency_ratio(samples: np.ndarray, sample_rate: int, *,
                        cutoff_hz: float = 250.0) -> float:
    """Share of the clip's energy below `cutoff_hz` (0..1): how much it could carry a bass line."""
    power, frequencies = _long_term_power(_as_mono(samples), sample_rate)
    total = power.sum()
    return float(power[frequencies < cutoff_hz].sum() / total) if total > 0 else 0.0


def onset_strength(samples: np.ndarray, sample_rate: int) -> float:
    """0 smooth .. 1 sharply percussive: how fast the loudest attacks rise.

    The 98th percentile of the rise in level (dB) from one 10 ms block to the next, over blocks
    within 45 dB of the peak, divided by 30 dB and clipped: a hit that jumps 30 dB in 10 ms is 1.
    """
    envelope = amplitude_envelope(samples, sample_rate, smoothing_s=_ENVELOPE_HOP_S)
    peak = envelope.max(initial=0.0)
    if peak <= 0:
        return 0.0
    level_db = 20 * np.log10(np.maximum(envelope, peak * 10 ** (-_SILENCE_BELOW_PEAK_DB / 20)))
    rise = np.diff(level_db)
    if len(rise) == 0:
        return 0.0
    return float(np.clip(np.percentile(rise, 98) / 30.0, 0.0, 1.0))


def sustain(samples: np.ndarray, sample_rate: int) -> float:
    """Share of the clip's duration spent within 10 dB of its (smoothed) peak level (0..1)."""
    envelope = amplitude_envelope(samples, sample_rate, smoothing_s=0.1)
    peak = envelope.max(initial=0.0)
    if peak <= 0:
        return 0.0
    return float((envelope >= peak * 10 ** (-10 / 20)).mean())


def is_non_musical(samples: np.ndarray, sample_rate: int) -> bool:
    """The sfx check: tonality below `NON_MUSICAL_TONALITY_MAX`."""
    return tonality(samples, sample_rate) < NON_MUSICAL_TONALITY_MAX


@dataclass(frozen=True)
class AudioFeatures:
    """The features role assignment and evaluation read, measured once per clip."""

    tonality: float
    harmonicity: float
    spectral_centroid_hz: float
    low_frequency_ratio: float
    onset_strength: float
    sustain: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def audio_features(samples: np.ndarray, sample_rate: int) -> AudioFeatures:
    samples = _as_mono(samples)
    return AudioFeatures(
        tonality=tonality(samples, sample_rate),
        harmonicity=harmonicity(samples, sample_rate),
        spectral_centroid_hz=spectral_centroid_hz(samples, sample_rate),
        low_frequency_ratio=low_frequency_ratio(samples, sample_rate),
        onset_strength=onset_strength(samples, sample_rate),
        sustain=sustain(samples, sample_rate),
    )
