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

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from imagewave.audio import SAMPLE_RATE, to_mono

# Chosen from measurements (`bench/engines.py --calibrate`, kept honest by
# tests/imagewave/test_analysis.py) on `calibration_signals()` at 16, 22.05 and 48 kHz:
# musical references — a sine, harmonic tones at 55..880 Hz, a tone with vibrato, a piano-like
# and a plucked-string scale, a major chord, a tone with noise 10 dB under it — score 0.42 ..
# 1.0 (the lowest is the plucked scale, whose noisy pluck attacks carry much of its energy);
# noise references — white, pink, brown, band-passed noise, noise bursts, crackle — score
# 0.00 .. 0.06. The procedural effects (64 example sources x 4 seeds x 16/22.05/48 kHz) score
# median 0.00, 95th percentile 0.13 .. 0.18 as synthesised: brief rings of glass, steel or a
# cricket chorus, as real ones have. 0.35 sits above every noise reference and 95 % of effects
# and below every note-like reference. The 1-3 % of effects that ring above it (struck bells
# and steel, up to 0.62: a bell *is* nearly a note) get a noise bed raised under them by the
# engine until they pass, and say so in their prompt.
NON_MUSICAL_TONALITY_MAX = 0.35

_ENVELOPE_HOP_S = 0.01
_SILENCE_BELOW_PEAK_DB = 45.0


def _as_mono(samples: np.ndarray) -> np.ndarray:
    samples = to_mono(np.asarray(samples, dtype=np.float64))
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


def _without_subsonic(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """High-pass at 30 Hz: drift below hearing is slow, hence "predictable", but not a tone."""
    from scipy import signal

    if len(samples) < 16:
        return samples
    return signal.sosfilt(signal.butter(2, 30.0, "highpass", fs=sample_rate, output="sos"),
                          samples)


def tonality(samples: np.ndarray, sample_rate: int) -> float:
    """0 for noise .. 1 for a steady pure tone: energy-weighted spectral predictability.

    Each bin of frame t is predicted from frames t-1 and t-2 (same magnitude, phase advanced by
    the same step); the bin's score is 1 - |actual - predicted|² / (|actual|² + |predicted|²),
    clipped to [0, 1], which is 1 for a steady partial and averages ~0.2 for noise bins. The
    clip's score is the energy-weighted mean over the loud frames, rescaled so that white noise
    maps to about 0.
    """
    samples = _without_subsonic(_as_mono(samples), sample_rate)
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
    # The last block may be partial: average over the samples it really has.
    counts = np.full(count, hop)
    counts[-1] = len(samples) - (count - 1) * hop if len(samples) else hop
    rms = np.sqrt((padded.reshape(count, hop) ** 2).sum(axis=1) / counts)
    width = max(1, int(round(smoothing_s / _ENVELOPE_HOP_S)))
    if width > 1:
        kernel = np.ones(width) / width
        rms = np.convolve(np.pad(rms, (width // 2, width - 1 - width // 2), mode="edge"), kernel,
                          mode="valid")
    return rms


def envelope_correlation(a: np.ndarray, b: np.ndarray, sample_rate: int, *,
                         smoothing_s: float = 0.05) -> float:
    """Pearson correlation of the two clips' smoothed amplitude envelopes (common length).

    1.0 when both envelopes are flat (within ±0.4 dB: nothing to disagree about); 0.0 when one
    is exactly constant and the other is not.
    """
    env_a = amplitude_envelope(a, sample_rate, smoothing_s=smoothing_s)
    env_b = amplitude_envelope(b, sample_rate, smoothing_s=smoothing_s)
    length = min(len(env_a), len(env_b))
    return _pearson(env_a[:length], env_b[:length])


# An envelope whose standard deviation is under 5 % of its mean wobbles by less than ±0.4 dB,
# below the ~1 dB just-noticeable loudness difference: it has no shape to keep, and correlating
# two such envelopes would only correlate their random ripple.
_FLAT_ENVELOPE_VARIATION = 0.05


def _pearson(env_a: np.ndarray, env_b: np.ndarray) -> float:
    def variation(envelope: np.ndarray) -> float:
        return float(np.std(envelope) / (np.abs(envelope).mean() + 1e-12))

    variations = (variation(env_a), variation(env_b))
    if max(variations) <= _FLAT_ENVELOPE_VARIATION:
        return 1.0
    if min(variations) <= 1e-9:  # a constant has no correlation
        return 0.0
    return float(np.clip(np.corrcoef(env_a, env_b)[0, 1], -1.0, 1.0))


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
    """0 smooth .. 1 sharply percussive: how fast the strongest attacks rise.

    The level (dB, 10 ms blocks, floored 45 dB under the peak) is differenced over 20 ms; the
    mean of the three largest rises, divided by 30 dB and clipped, is the score: a clip with a
    few hits that jump 30 dB scores 1, however sparse the hits are.
    """
    envelope = amplitude_envelope(samples, sample_rate, smoothing_s=_ENVELOPE_HOP_S)
    peak = envelope.max(initial=0.0)
    if peak <= 0 or len(envelope) < 3:
        return 0.0
    level_db = 20 * np.log10(np.maximum(envelope, peak * 10 ** (-_SILENCE_BELOW_PEAK_DB / 20)))
    rise = level_db[2:] - level_db[:-2]
    strongest = np.sort(rise)[-3:]
    return float(np.clip(strongest.mean() / 30.0, 0.0, 1.0))


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


def timbre_envelope_correlation(effect: np.ndarray, effect_rate: int, voice: np.ndarray,
                                voice_rate: int) -> float:
    """Evaluation: how well a timbre voice keeps its effect's amplitude envelope (≥ 0.8 is the
    acceptance bar). Envelopes are taken every 10 ms at each clip's own rate, so the two clips
    may differ in sample rate."""
    env_effect = amplitude_envelope(effect, effect_rate)
    env_voice = amplitude_envelope(voice, voice_rate)
    length = min(len(env_effect), len(env_voice))
    return _pearson(env_effect[:length], env_voice[:length])


def calibration_signals(sample_rate: int = SAMPLE_RATE, seconds: float = 4.0,
                        seed: int = 0) -> dict[str, tuple[str, np.ndarray]]:
    """The reference clips `NON_MUSICAL_TONALITY_MAX` was chosen from: name → (kind, samples),
    kind "musical" or "noise". Tests and `bench/engines.py --calibrate` measure the same set."""
    from scipy import signal

    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate

    def harmonic(f0: float, partials: int = 10, vibrato_cents: float = 0.0) -> np.ndarray:
        wobble = 2 ** (vibrato_cents / 1200 * np.sin(2 * np.pi * 5.5 * t)) - 1
        phase = 2 * np.pi * f0 * (t + np.cumsum(wobble) / sample_rate)
        return sum(np.sin(k * phase) / k for k in range(1, partials + 1)
                   if f0 * k < sample_rate / 2.2)

    def notes(pitches_hz: list[float], note_s: float, decay_s: float) -> np.ndarray:
        out = np.zeros(n)
        length = int(note_s * sample_rate)
        local_t = np.arange(length) / sample_rate
        for i, f0 in enumerate(pitches_hz):
            start = i * length
            if start >= n:
                break
            note = sum(np.sin(2 * np.pi * f0 * k * local_t) / k ** 1.5 for k in range(1, 9)
                       if f0 * k < sample_rate / 2.2) * np.exp(-local_t / decay_s)
            out[start:start + length] += note[: n - start]
        return out

    def plucked(pitches_hz: list[float], note_s: float) -> np.ndarray:
        out = np.zeros(n)
        length = int(note_s * sample_rate)
        for i, f0 in enumerate(pitches_hz):
            start = i * length
            if start >= n:
                break
            delay = int(sample_rate / f0)
            excitation = np.zeros(length)
            excitation[:delay] = rng.uniform(-1, 1, delay)
            string = signal.lfilter([1.0], np.r_[1.0, np.zeros(delay - 1), -0.498, -0.498],
                                    excitation)
            out[start:start + length] += string[: n - start]
        return out

    scale = [261.6 * 2 ** (s / 12) for s in (0, 2, 4, 5, 7, 9, 11, 12)]
    white = rng.standard_normal(n)
    pink = signal.lfilter([0.049922035, -0.095993537, 0.050612699, -0.004408786],
                          [1.0, -2.494956002, 2.017265875, -0.522189400], white)
    tone = harmonic(220.0)
    signals = {
        "sine 440 Hz": ("musical", np.sin(2 * np.pi * 440 * t)),
        "harmonic tone 55 Hz": ("musical", harmonic(55.0)),
        "harmonic tone 220 Hz": ("musical", tone),
        "harmonic tone 880 Hz": ("musical", harmonic(880.0, 5)),
        "tone with vibrato": ("musical", harmonic(330.0, 8, vibrato_cents=30.0)),
        "piano-like scale": ("musical", notes(scale, seconds / len(scale), 0.6)),
        "plucked-string scale": ("musical", plucked(scale, seconds / len(scale))),
        "major chord": ("musical", harmonic(261.6) + harmonic(329.6) + harmonic(392.0)),
        "tone, noise 10 dB under": ("musical", tone + np.std(tone) * 10 ** (-10 / 20) * white),
        "white noise": ("noise", white),
        "pink noise": ("noise", pink),
        "brown noise": ("noise", signal.lfilter([1.0], [1.0, -0.995], white)),
        "band noise 0.8-1.2 kHz": ("noise", signal.sosfilt(
            signal.butter(4, [800, 1200], "bandpass", fs=sample_rate, output="sos"), white)),
        "noise bursts": ("noise", white * (np.sin(2 * np.pi * 2 * t) > 0.5)),
        "crackle": ("noise", (rng.random(n) < 0.002) * rng.standard_normal(n)),
    }
    return {name: (kind, x / np.max(np.abs(x)) * 0.8) for name, (kind, x) in signals.items()}


# -- mix measures (`imagewave eval`, bench/hear.py) ---------------------------------------------
#
# What a listener checks in a finished song: where its energy sits (a muddy low end, a dull top),
# whether the drums and the picture's own sounds come through, and that it meets the delivery
# targets. All take (frames,) or (frames, channels) float audio.

# BS.1770-4 Annex 2: the 4x true-peak interpolation filter, four phases of 12 taps.
TRUE_PEAK_PHASES = np.array([
    [0.0017089843750, 0.0109863281250, -0.0196533203125, 0.0332031250000, -0.0594482421875,
     0.1373291015625, 0.9721679687500, -0.1022949218750, 0.0476074218750, -0.0266113281250,
     0.0148925781250, -0.0083007812500],
    [-0.0291748046875, 0.0292968750000, -0.0517578125000, 0.0891113281250, -0.1665039062500,
     0.4650878906250, 0.7797851562500, -0.2003173828125, 0.1015625000000, -0.0582275390625,
     0.0330810546875, -0.0189208984375],
    [-0.0189208984375, 0.0330810546875, -0.0582275390625, 0.1015625000000, -0.2003173828125,
     0.7797851562500, 0.4650878906250, -0.1665039062500, 0.0891113281250, -0.0517578125000,
     0.0292968750000, -0.0291748046875],
    [-0.0083007812500, 0.0148925781250, -0.0266113281250, 0.0476074218750, -0.1022949218750,
     0.9721679687500, 0.1373291015625, -0.0594482421875, 0.0332031250000, -0.0196533203125,
     0.0109863281250, 0.0017089843750],
], dtype=np.float32)


MIX_BANDS_HZ: dict[str, tuple[float, float | None]] = {
    "low_60_250": (60.0, 250.0), "presence_2k_6k": (2000.0, 6000.0), "air_6k_up": (6000.0, None)}
PROFILE_BANDS = 40
PROFILE_RANGE_HZ = (50.0, 16_000.0)


def _mix_mono(samples: np.ndarray) -> np.ndarray:
    return to_mono(np.asarray(samples, dtype=np.float64))


def _long_term_spectrum(samples: np.ndarray, sample_rate: int,
                        frame_s: float = 0.085) -> tuple[np.ndarray, np.ndarray]:
    """Mean power spectrum (Hann frames, half overlap) and its bin frequencies, in chunks."""
    mono = _mix_mono(samples)
    frame_length = _frame_length(sample_rate, frame_s)
    window = np.hanning(frame_length)
    hop = frame_length // 2
    total = np.zeros(frame_length // 2 + 1)
    count = 0
    step = hop * 2048
    for start in range(0, max(1, len(mono) - frame_length + 1), step):
        piece = mono[start:start + step + frame_length - hop]
        frames = _frames(piece, frame_length, hop)
        total += (np.abs(np.fft.rfft(frames * window, axis=1)) ** 2).sum(axis=0)
        count += len(frames)
    return total / max(count, 1), np.fft.rfftfreq(frame_length, 1.0 / sample_rate)


def band_energy_shares(samples: np.ndarray, sample_rate: int,
                       bands: dict[str, tuple[float, float | None]] | None = None
                       ) -> dict[str, float]:
    """Share (0..1) of the energy above 20 Hz that lies in each band."""
    power, freqs = _long_term_spectrum(samples, sample_rate)
    audible = freqs >= 20.0
    total = float(power[audible].sum()) or 1e-30
    shares = {}
    for name, (low, high) in (bands or MIX_BANDS_HZ).items():
        inside = (freqs >= low) & (freqs < (high if high is not None else np.inf))
        shares[name] = float(power[inside].sum()) / total
    return shares


def spectral_profile(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Long-term spectrum in PROFILE_BANDS log-spaced bands over PROFILE_RANGE_HZ, in dB, its
    mean removed: the shape of a sound's spectrum, whatever its level."""
    power, freqs = _long_term_spectrum(samples, sample_rate)
    low, high = PROFILE_RANGE_HZ
    high = min(high, sample_rate / 2)
    edges = np.geomspace(low, high, PROFILE_BANDS + 1)
    index = np.searchsorted(edges, freqs, side="right") - 1
    inside = (index >= 0) & (index < PROFILE_BANDS)
    band_power = np.bincount(index[inside], weights=power[inside], minlength=PROFILE_BANDS)
    band_width = np.maximum(np.bincount(index[inside], minlength=PROFILE_BANDS), 1)
    profile = 10 * np.log10(band_power / band_width + 1e-20)
    return profile - profile.mean()


def own_match_ranks(mix_profiles: Sequence[np.ndarray],
                    effect_profiles: Sequence[np.ndarray]) -> list[int]:
    """For song i, the rank (1 = closest) of picture i's effects among all pictures' effects.

    Each profile is compared after removing the set's mean profile (what every mix shares, the
    band; what every effect set shares), by correlation; the rank counts the other pictures
    whose effects correlate strictly better with the song than its own.
    """
    mixes = np.asarray(mix_profiles, dtype=np.float64)
    effects = np.asarray(effect_profiles, dtype=np.float64)
    mixes = mixes - mixes.mean(axis=0)
    effects = effects - effects.mean(axis=0)

    def unit(rows: np.ndarray) -> np.ndarray:
        rows = rows - rows.mean(axis=1, keepdims=True)
        return rows / (np.linalg.norm(rows, axis=1, keepdims=True) + 1e-12)

    similarity = unit(mixes) @ unit(effects).T
    return [1 + int(np.sum(row > row[i])) for i, row in enumerate(similarity)]


def _k_weighted_block_loudness(samples: np.ndarray, sample_rate: int, window_s: float,
                               hop_s: float) -> np.ndarray:
    """Loudness (LUFS) of `window_s` windows every `hop_s` (BS.1770 K-weighting, pyloudnorm's
    filters), -inf for silent windows."""
    import pyloudnorm
    from scipy import signal

    audio = np.asarray(samples, dtype=np.float64)
    audio = audio[:, None] if audio.ndim == 1 else audio
    meter = pyloudnorm.Meter(sample_rate)
    weighted = audio
    for stage in meter._filters.values():
        weighted = signal.lfilter(stage.b * stage.passband_gain, stage.a, weighted, axis=0)
    window, hop = int(window_s * sample_rate), int(hop_s * sample_rate)
    squares = np.concatenate([np.zeros((1, weighted.shape[1])),
                              np.cumsum(weighted ** 2, axis=0)])
    starts = np.arange(0, max(1, len(weighted) - window + 1), hop)
    power = ((squares[np.minimum(starts + window, len(weighted))] - squares[starts])
             / window).sum(axis=1)
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(power)


def loudness_range_lu(samples: np.ndarray, sample_rate: int) -> float:
    """EBU R128 loudness range: 10th to 95th percentile of the 3 s short-term loudness (1 s
    hop here), gated at -70 LUFS and 20 LU under the gated mean. How much the song's sections
    differ in loudness; bus compression that flattens the form drives it toward 0."""
    short_term = _k_weighted_block_loudness(samples, sample_rate, 3.0, 1.0)
    short_term = short_term[short_term > -70.0]
    if short_term.size < 2:
        return 0.0
    mean_power = np.mean(10 ** (short_term / 10))
    gated = short_term[short_term > 10 * np.log10(mean_power) - 20.0]
    low, high = np.percentile(gated, [10, 95])
    return float(high - low)


def integrated_loudness_lufs(samples: np.ndarray, sample_rate: int) -> float:
    import pyloudnorm

    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(
        np.asarray(samples, dtype=np.float64)))


def true_peak_dbtp(samples: np.ndarray, sample_rate: int) -> float:
    """BS.1770-4 true peak (dBTP): the sample peak and the 4x interpolation with the Annex 2
    filter, whole signal, no shortcuts (the render's meter is checked against this)."""
    from scipy import signal

    audio = np.asarray(samples, dtype=np.float64)
    audio = audio[:, None] if audio.ndim == 1 else audio
    taps = TRUE_PEAK_PHASES.T.ravel().astype(np.float64)
    peak = max(float(np.abs(signal.upfirdn(taps, channel, up=4)).max()) for channel in audio.T)
    return 20 * np.log10(max(peak, float(np.abs(audio).max()), 1e-12))


@dataclass(frozen=True)
class MixMeasures:
    low_60_250: float
    presence_2k_6k: float
    air_6k_up: float
    drums_air_6k_up: float | None  # share of the drum stem's energy above 6 kHz
    drums_vs_mix_lu: float | None  # drum stem loudness minus mix loudness
    loudness_lufs: float
    true_peak_dbtp: float
    loudness_range_lu: float

    def as_dict(self) -> dict[str, float | None]:
        return asdict(self)


def mix_measures(mix: np.ndarray, sample_rate: int,
                 drums: np.ndarray | None = None) -> MixMeasures:
    shares = band_energy_shares(mix, sample_rate)
    mix_lufs = integrated_loudness_lufs(mix, sample_rate)
    drums_air = drums_lu = None
    if drums is not None:
        drums_air = band_energy_shares(drums, sample_rate)["air_6k_up"]
        drums_lu = integrated_loudness_lufs(drums, sample_rate) - mix_lufs
    return MixMeasures(low_60_250=shares["low_60_250"],
                       presence_2k_6k=shares["presence_2k_6k"], air_6k_up=shares["air_6k_up"],
                       drums_air_6k_up=drums_air, drums_vs_mix_lu=drums_lu,
                       loudness_lufs=mix_lufs, true_peak_dbtp=true_peak_dbtp(mix, sample_rate),
                       loudness_range_lu=loudness_range_lu(mix, sample_rate))
