"""Master chain: high-pass, bus compression, loudness normalisation, true-peak limiting.

Loudness is ITU-R BS.1770 integrated loudness measured with pyloudnorm; true peak is the
BS.1770-4 Annex 2 meter (4x oversampling with its 48-tap interpolation filter). The dynamics
work on blocks of samples with a per-block gain interpolated back to audio rate, which keeps
the chain vectorised (no per-sample Python) and fast on songs of several minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyloudnorm
from scipy import ndimage, signal

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

BLOCK = 64  # frames per dynamics block (1.3 ms at 48 kHz)
MIN_LOUDNESS_S = 0.4  # one BS.1770 gating block


@dataclass(frozen=True)
class MasterResult:
    audio: np.ndarray  # (frames, 2) float32
    gain_db: float  # the static gain applied before the dynamics (also applied to stems)
    loudness_lufs: float
    true_peak_dbtp: float


def db_to_gain(db: float | np.ndarray) -> float | np.ndarray:
    return 10.0 ** (np.asarray(db) / 20.0)


def high_pass(audio: np.ndarray, sample_rate: int, cutoff_hz: float = 30.0) -> np.ndarray:
    """Remove sub-bass rumble and DC, which eat headroom and nobody hears."""
    sos = signal.butter(2, cutoff_hz, btype="highpass", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, audio, axis=0).astype(np.float32)


def integrated_loudness(audio: np.ndarray, sample_rate: int) -> float:
    """BS.1770 integrated loudness (LUFS) with pyloudnorm; clips shorter than one gating block
    are measured looped to one block. -inf for silence."""
    audio = np.asarray(audio, dtype=np.float32)
    minimum = int(np.ceil(MIN_LOUDNESS_S * sample_rate)) + 1
    if len(audio) < minimum:
        audio = np.resize(audio, (minimum,) + audio.shape[1:]) if len(audio) else np.zeros(
            (minimum,) + audio.shape[1:], np.float32)
    if not np.any(audio):
        return float("-inf")
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(audio))


def true_peak(audio: np.ndarray) -> float:
    """BS.1770-4 true peak (linear, full scale = 1) of (frames, channels) audio at 48 kHz.

    Blocks whose sample peak is too low to reach the loudest block's true peak (the filter's
    gain is bounded) are skipped, so the oversampling runs on a small part of a long mix.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[:, None]
    if len(audio) == 0:
        return 0.0
    block = 4096
    frames = len(audio)
    count = int(np.ceil(frames / block))
    padded = np.zeros((count * block, audio.shape[1]), np.float32)
    padded[:frames] = audio
    block_peaks = np.abs(padded).reshape(count, block, -1).max(axis=(1, 2))
    bound = float(np.abs(TRUE_PEAK_PHASES).sum(axis=1).max())
    order = np.argsort(block_peaks)[::-1]
    best = float(block_peaks.max())
    for index in order:
        if block_peaks[index] * bound <= best:
            break  # no later block can beat the true peak found so far
        start = max(0, index * block - 16)
        stop = min(frames, (index + 1) * block + 16)
        segment = audio[start:stop]
        for phase in TRUE_PEAK_PHASES:
            filtered = signal.oaconvolve(segment, phase[:, None], mode="same", axes=0) \
                if len(segment) > 64 else np.apply_along_axis(np.convolve, 0, segment, phase,
                                                              "same")
            best = max(best, float(np.abs(filtered).max()))
    return best


def _block_view(audio: np.ndarray) -> tuple[np.ndarray, int]:
    count = int(np.ceil(len(audio) / BLOCK))
    padded = np.zeros((count * BLOCK, audio.shape[1]), np.float32)
    padded[: len(audio)] = audio
    return padded.reshape(count, BLOCK, audio.shape[1]), count


def _apply_block_gain(audio: np.ndarray, block_gain: np.ndarray) -> np.ndarray:
    centres = np.arange(len(block_gain)) * BLOCK + BLOCK / 2
    gain = np.interp(np.arange(len(audio), dtype=np.float32), centres, block_gain)
    return (audio * gain[:, None].astype(np.float32)).astype(np.float32)


def compress(audio: np.ndarray, sample_rate: int, *, threshold_db: float, ratio: float = 2.0,
             attack_s: float = 0.01, release_s: float = 0.15) -> np.ndarray:
    """Gentle RMS bus compression: glues the parts and tames the loudest passages."""
    blocks, count = _block_view(audio)
    power = np.mean(blocks**2, axis=(1, 2))
    # Asymmetric one-pole smoothing of the block power (attack fast, release slow); the loop
    # runs per block (a few thousand per minute), not per sample.
    attack = np.exp(-BLOCK / (attack_s * sample_rate))
    release = np.exp(-BLOCK / (release_s * sample_rate))
    smoothed = np.empty_like(power)
    level = 0.0
    for i, value in enumerate(power.tolist()):
        coefficient = attack if value > level else release
        level = coefficient * level + (1 - coefficient) * value
        smoothed[i] = level
    level_db = 10 * np.log10(smoothed + 1e-12)
    over = np.maximum(level_db - threshold_db, 0.0)
    reduction_db = over * (1 - 1 / ratio)
    return _apply_block_gain(audio, db_to_gain(-reduction_db))


def limit(audio: np.ndarray, sample_rate: int, *, ceiling: float,
          lookahead_s: float = 0.005) -> np.ndarray:
    """Look-ahead peak limiter: no sample exceeds `ceiling` (linear).

    Per block, the gain needed to keep its peak under the ceiling is spread over the
    surrounding blocks by a minimum filter of radius R, then smoothed by a moving average of
    radius R - 1: every block (and the interpolation between neighbours) stays at or below the
    gain its peak needs, and the gain moves over ~2R blocks instead of jumping.
    """
    blocks, _ = _block_view(audio)
    peaks = np.abs(blocks).max(axis=(1, 2))
    needed = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    radius = max(2, int(round(lookahead_s * sample_rate / BLOCK)))
    spread = ndimage.minimum_filter1d(needed, size=2 * radius + 1, mode="nearest")
    smooth = ndimage.uniform_filter1d(spread, size=2 * radius - 1, mode="nearest")
    smooth = np.minimum(smooth, spread)  # guards float rounding in the average
    out = _apply_block_gain(audio, smooth)
    return np.clip(out, -ceiling, ceiling)  # exact guarantee at the sample level


def master(audio: np.ndarray, sample_rate: int, *, target_lufs: float,
           true_peak_dbtp: float) -> MasterResult:
    """High-pass, normalise to `target_lufs`, compress, limit to `true_peak_dbtp` (true peak)."""
    audio = high_pass(np.asarray(audio, dtype=np.float32), sample_rate)
    loudness = integrated_loudness(audio, sample_rate)
    if not np.isfinite(loudness):
        return MasterResult(audio=audio, gain_db=0.0, loudness_lufs=float("-inf"),
                            true_peak_dbtp=float("-inf"))
    gain_db = target_lufs - loudness
    staged = audio * np.float32(db_to_gain(gain_db))
    staged = compress(staged, sample_rate, threshold_db=target_lufs + 2.0)
    ceiling_db = true_peak_dbtp - 0.5  # sample-peak ceiling; inter-sample overs use the margin
    out = staged
    for _ in range(4):
        out = limit(staged, sample_rate, ceiling=float(db_to_gain(ceiling_db)))
        loudness = integrated_loudness(out, sample_rate)
        correction_db = target_lufs - loudness
        peak_db = 20 * np.log10(true_peak(out) + 1e-12)
        if abs(correction_db) <= 0.3 and peak_db <= true_peak_dbtp:
            break
        if peak_db > true_peak_dbtp:
            ceiling_db -= peak_db - true_peak_dbtp + 0.1
        staged = staged * np.float32(db_to_gain(correction_db))
        gain_db += correction_db
    if peak_db > true_peak_dbtp:  # did not settle: trade loudness for the true-peak promise
        out = out * np.float32(db_to_gain(true_peak_dbtp - peak_db - 0.05))
        peak_db = 20 * np.log10(true_peak(out) + 1e-12)
        loudness = integrated_loudness(out, sample_rate)
    return MasterResult(audio=out.astype(np.float32), gain_db=float(gain_db),
                        loudness_lufs=float(loudness), true_peak_dbtp=float(peak_db))
