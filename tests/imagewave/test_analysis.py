"""The audio features measure what they claim, on signals whose answer is known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from imagewave.analysis import (
    NON_MUSICAL_TONALITY_MAX,
    amplitude_envelope,
    audio_features,
    calibration_signals,
    envelope_correlation,
    harmonicity,
    is_non_musical,
    low_frequency_ratio,
    onset_strength,
    spectral_centroid_hz,
    sustain,
    timbre_envelope_correlation,
    tonality,
)

SR = 22_050


def _t(seconds: float = 2.0, sample_rate: int = SR) -> np.ndarray:
    return np.arange(int(seconds * sample_rate)) / sample_rate


@pytest.mark.parametrize("sample_rate", [16_000, 22_050, 48_000])
def test_threshold_separates_musical_references_from_noise(sample_rate: int) -> None:
    scores = {name: (kind, tonality(x, sample_rate))
              for name, (kind, x) in calibration_signals(sample_rate, seconds=3.0).items()}
    musical = {name: s for name, (kind, s) in scores.items() if kind == "musical"}
    noise = {name: s for name, (kind, s) in scores.items() if kind == "noise"}
    assert len(musical) >= 8 and len(noise) >= 6
    # Every note-like reference fails the non-musical check, every noise passes, with margin.
    assert min(musical.values()) > NON_MUSICAL_TONALITY_MAX + 0.05, musical
    assert max(noise.values()) < NON_MUSICAL_TONALITY_MAX - 0.2, noise


def test_tonality_extremes() -> None:
    rng = np.random.default_rng(1)
    assert tonality(np.sin(2 * np.pi * 440 * _t()), SR) > 0.95
    assert tonality(rng.standard_normal(2 * SR), SR) < 0.05
    assert tonality(np.zeros(SR), SR) == 0.0
    assert not is_non_musical(np.sin(2 * np.pi * 440 * _t()), SR)
    assert is_non_musical(rng.standard_normal(2 * SR), SR)


def test_tonality_falls_as_noise_masks_a_tone() -> None:
    rng = np.random.default_rng(2)
    tone = np.sin(2 * np.pi * 330 * _t())
    noise = rng.standard_normal(len(tone))
    scores = [tonality(tone + noise * level, SR) for level in (0.0, 0.3, 1.0, 3.0)]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] - scores[-1] > 0.5


def test_harmonicity_periodic_versus_aperiodic() -> None:
    rng = np.random.default_rng(3)
    t = _t()
    buzz = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 12))
    assert harmonicity(buzz, SR) > 0.85
    assert harmonicity(rng.standard_normal(len(t)), SR) < 0.2
    brown = np.cumsum(rng.standard_normal(len(t)))
    brown -= np.convolve(brown, np.ones(2001) / 2001, mode="same")  # remove drift
    assert harmonicity(brown, SR) < 0.3  # low-passed noise is not "periodic"


def test_envelope_correlation_follows_loudness_not_content() -> None:
    rng = np.random.default_rng(4)
    t = _t(3.0)
    swell = np.sin(np.pi * t / 3.0) ** 2
    tone = np.sin(2 * np.pi * 220 * t) * swell
    noise = rng.standard_normal(len(t)) * swell
    assert envelope_correlation(tone, tone, SR) == pytest.approx(1.0)
    assert envelope_correlation(tone, noise, SR) > 0.95  # same shape, different sounds
    falling = np.sin(2 * np.pi * 220 * t) * np.linspace(1, 0, len(t))
    rising = np.sin(2 * np.pi * 220 * t) * np.linspace(0, 1, len(t))
    assert envelope_correlation(falling, rising, SR) < -0.9
    steady = np.sin(2 * np.pi * 220 * t)
    assert envelope_correlation(steady, steady * 0.5, SR) == pytest.approx(1.0)
    constant = np.ones(len(t))
    assert envelope_correlation(constant, constant * 0.5, SR) == 1.0  # both flat: agree
    assert envelope_correlation(constant, tone, SR) == 0.0  # one flat: nothing shared


def test_timbre_envelope_correlation_across_sample_rates() -> None:
    t_a, t_b = _t(2.0, 16_000), _t(2.0, 48_000)
    a = np.sin(2 * np.pi * 200 * t_a) * np.exp(-t_a * 2)
    b = np.sin(2 * np.pi * 300 * t_b) * np.exp(-t_b * 2)
    assert timbre_envelope_correlation(a, 16_000, b, 48_000) > 0.98


def test_spectral_centroid_and_low_frequency_ratio() -> None:
    t = _t()
    assert spectral_centroid_hz(np.sin(2 * np.pi * 1000 * t), SR) == pytest.approx(1000, rel=0.03)
    assert low_frequency_ratio(np.sin(2 * np.pi * 100 * t), SR) > 0.95
    assert low_frequency_ratio(np.sin(2 * np.pi * 2000 * t), SR) < 0.01


def test_onset_strength_and_sustain() -> None:
    rng = np.random.default_rng(5)
    t = _t(3.0)
    hits = np.zeros(len(t))
    for start in (0.3, 1.1, 2.2):
        i = int(start * SR)
        hits[i:i + 4000] = rng.standard_normal(4000) * np.exp(-np.arange(4000) / 400)
    pad = rng.standard_normal(len(t)) * np.sin(np.pi * t / 3.0) ** 2
    assert onset_strength(hits, SR) > 0.6
    assert onset_strength(pad, SR) < 0.25
    assert sustain(pad, SR) > 0.4
    assert sustain(hits, SR) < 0.15
    features = audio_features(hits, SR)
    assert features.as_dict()["onset_strength"] == features.onset_strength


def test_amplitude_envelope_is_10_ms_frames() -> None:
    envelope = amplitude_envelope(np.ones(48_000), 48_000)
    assert len(envelope) == 100
    assert envelope == pytest.approx(np.ones(100))


def test_rejects_non_mono_shapes() -> None:
    with pytest.raises(ValueError, match="mono"):
        tonality(np.zeros((2, 3, 4)), SR)


def test_steady_sounds_agree_and_a_steady_one_differs_from_a_swell() -> None:
    rng = np.random.default_rng(7)
    t = _t(3.0)
    hiss, hum = rng.standard_normal(len(t)), np.sin(2 * np.pi * 110 * t)
    assert envelope_correlation(hiss, hum, SR) == 1.0  # both steady: their ripple is noise
    swell = hiss * np.sin(np.pi * t / 3.0) ** 2
    assert abs(envelope_correlation(hiss, swell, SR)) < 0.3  # steady vs a swell: unrelated
    wobble = hiss * (1 + 0.5 * np.sin(2 * np.pi * 1.5 * t))
    assert envelope_correlation(wobble, hum * (1 + 0.5 * np.sin(2 * np.pi * 1.5 * t)), SR) > 0.95


def test_mix_measures_on_known_signals():
    from imagewave.analysis import (
        band_energy_shares,
        loudness_range_lu,
        own_match_ranks,
        spectral_profile,
        true_peak_dbtp,
    )

    rate = 48_000
    t = np.arange(4 * rate) / rate
    low = np.sin(2 * np.pi * 110 * t)
    shares = band_energy_shares(low, rate)
    assert shares["low_60_250"] > 0.99 and shares["presence_2k_6k"] < 0.01
    bright = np.sin(2 * np.pi * 3000 * t)
    assert band_energy_shares(bright, rate)["presence_2k_6k"] > 0.99
    # Two 10 s sections 10 dB apart: a loudness range near 10 LU; a steady tone: near 0.
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(20 * rate) * 0.1
    noise[10 * rate:] *= 10 ** (-10 / 20)
    assert 8.0 < loudness_range_lu(noise, rate) < 11.0
    assert loudness_range_lu(rng.standard_normal(20 * rate) * 0.1, rate) < 1.0
    # A sine at a quarter of the rate sampled off its peaks: true peak above the sample peak.
    over = 0.9 * np.sin(np.pi / 2 * np.arange(rate) + np.pi / 4)
    assert true_peak_dbtp(over, rate) > 20 * np.log10(np.abs(over).max()) + 2.5
    # Profiles: each sound is closest to itself.
    sounds = [low + 0.1 * rng.standard_normal(len(t)), bright, rng.standard_normal(len(t))]
    profiles = [spectral_profile(s, rate) for s in sounds]
    assert own_match_ranks(profiles, profiles) == [1, 1, 1]
