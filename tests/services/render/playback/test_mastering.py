"""The master chain meets the loudness and true-peak targets, checked with pyloudnorm and an
independent 4x oversampling."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from services.render.playback.mastering import (
    TRUE_PEAK_PHASES,
    LoudnessModel,
    _apply_edges,
    _block_energy,
    _edges,
    limiter_gain,
    master,
    true_peak,
)

RATE = 48_000


def reference_true_peak_db(planar: np.ndarray) -> float:
    """Whole-signal BS.1770-4 oversampling, no shortcuts (and the sample peak)."""
    taps = TRUE_PEAK_PHASES.T.ravel()
    peak = max(np.abs(signal.upfirdn(taps, channel, up=4)).max() for channel in planar)
    return 20 * np.log10(max(peak, np.abs(planar).max()))


def music_like(seconds: float, seed: int, level: float = 0.1) -> np.ndarray:
    """Stereo chords with plucks and loud accents: a crest factor like a real mix."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    out = np.zeros((2, n), np.float32)
    for start in np.arange(0, seconds, 0.25):
        f0 = 110 * 2 ** (rng.integers(0, 24) / 12)
        length = int(0.5 * RATE)
        s = int(start * RATE)
        e = min(n, s + length)
        tt = t[: e - s]
        note = sum(np.sin(2 * np.pi * f0 * h * tt) / h for h in range(1, 6)) * np.exp(-6 * tt)
        accent = 4.0 if rng.random() < 0.1 else 1.0
        pan = rng.uniform(0.2, 0.8)
        out[0, s:e] += (accent * (1 - pan) * note).astype(np.float32)
        out[1, s:e] += (accent * pan * note).astype(np.float32)
    return out * np.float32(level)


@pytest.mark.parametrize("level", [0.003, 0.1, 3.0])  # very quiet, normal, far over full scale
def test_master_hits_loudness_and_true_peak(level):
    planar = music_like(12.0, seed=1, level=level)
    result = master(planar.copy(), RATE, target_lufs=-14.0, true_peak_dbtp=-1.0)
    audio = result.audio
    assert audio.shape == planar.shape and audio.dtype == np.float32
    assert np.isfinite(audio).all()
    measured = pyloudnorm.Meter(RATE).integrated_loudness(audio.T.astype(np.float64))
    assert abs(measured - -14.0) <= 0.5, measured
    assert abs(result.loudness_lufs - measured) < 0.1
    assert reference_true_peak_db(audio) <= -1.0 + 1e-3
    assert np.abs(audio).max() < 1.0


def test_loudness_model_agrees_with_pyloudnorm_under_a_gain_curve():
    planar = music_like(10.0, seed=2)
    model = LoudnessModel(planar, RATE)
    plain = pyloudnorm.Meter(RATE).integrated_loudness(planar.T.astype(np.float64))
    assert abs(model.loudness() - plain) < 0.05
    # A wobbling gain (as dynamics make), applied for real and predicted from block powers.
    blocks = len(model.block_power)
    gain = 0.5 + 0.4 * np.sin(np.linspace(0, 40, blocks))
    edges = _edges(gain)
    shaped = planar.copy()
    _apply_edges(shaped, edges)
    measured = pyloudnorm.Meter(RATE).integrated_loudness(shaped.T.astype(np.float64))
    assert abs(model.loudness(_block_energy(edges)) - measured) < 0.1


def test_true_peak_matches_full_oversampling():
    rng = np.random.default_rng(3)
    planar = (rng.standard_normal((2, RATE)) * 0.05).astype(np.float32)
    # An inter-sample over: a high sine sampled off its peaks.
    planar[0, 1000:1400] = 0.7 * np.sin(np.pi / 2 * np.arange(400) + np.pi / 4)
    ours = 20 * np.log10(true_peak(planar))
    assert ours == pytest.approx(reference_true_peak_db(planar), abs=1e-4)
    assert ours > 20 * np.log10(np.abs(planar).max()) + 2  # the over is really there


def test_limiter_gain_keeps_every_block_under_the_ceiling():
    rng = np.random.default_rng(4)
    peaks = np.abs(rng.standard_normal(5000)) * 0.5
    peaks[[10, 500, 501, 4999]] = [3.0, 2.0, 5.0, 4.0]
    gain = limiter_gain(peaks, RATE, ceiling=0.8)
    edges = _edges(gain)
    worst_gain_in_block = np.maximum(edges[:-1], edges[1:])
    assert (peaks * worst_gain_in_block <= 0.8 + 1e-9).all()
    assert gain.max() <= 1.0
