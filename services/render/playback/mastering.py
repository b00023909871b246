"""Master chain: high-pass, bus compression, loudness normalisation, true-peak limiting.

Loudness is ITU-R BS.1770-4 integrated loudness with pyloudnorm's K-weighting filters and
gating. The chain decides every gain per block of 64 frames, and a gain curve commutes with the
short K-weighting filters to well under 0.1 LU, so the song is K-weighted once and every
"what would the loudness be with this gain" question is answered from block powers, without
filtering minutes of audio again; `integrated_loudness` (pyloudnorm itself) is what the tests
and the benchmark check the result with. True peak is the BS.1770-4 Annex 2 meter (4x
oversampling, its 48-tap filter). Everything is vectorised; the only Python loop runs per block.
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
# Largest gain of any true-peak filter phase: a window of samples all below S / bound cannot
# interpolate above S, which lets `true_peak` skip most of a mix exactly.
TRUE_PEAK_BOUND = float(np.abs(TRUE_PEAK_PHASES).sum(axis=1).max())


@dataclass(frozen=True)
class MasterResult:
    audio: np.ndarray  # (2, frames) float32, channels first
    gain_db: float  # the static gain applied before the dynamics (also applied to stems)
    loudness_lufs: float
    true_peak_dbtp: float


def db_to_gain(db: float | np.ndarray) -> float | np.ndarray:
    return 10.0 ** (np.asarray(db) / 20.0)


def high_pass(planar: np.ndarray, sample_rate: int, cutoff_hz: float = 30.0) -> np.ndarray:
    """Remove sub-bass rumble and DC, which eat headroom and nobody hears."""
    sos = signal.butter(2, cutoff_hz, btype="highpass", fs=sample_rate, output="sos")
    return signal.sosfilt(sos.astype(np.float32), planar, axis=-1).astype(np.float32, copy=False)


def integrated_loudness(planar: np.ndarray, sample_rate: int) -> float:
    """BS.1770 integrated loudness (LUFS) of (channels, frames) audio, measured by pyloudnorm.

    Clips shorter than one gating block are measured looped to one block; -inf for silence.
    """
    planar = np.atleast_2d(np.asarray(planar, dtype=np.float32))
    minimum = int(np.ceil(MIN_LOUDNESS_S * sample_rate)) + 1
    if not np.any(planar):
        return float("-inf")
    if planar.shape[1] < minimum:
        planar = np.resize(planar, (planar.shape[0], minimum)) if planar.shape[1] else planar
    # pyloudnorm wants (frames, channels); the transposed view keeps each channel contiguous.
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(planar.T))


def true_peak(planar: np.ndarray) -> float:
    """BS.1770-4 true peak (linear, full scale = 1) of (channels, frames) audio at 48 kHz.

    Exact, but only blocks holding a sample louder than sample_peak / TRUE_PEAK_BOUND are
    oversampled: the filter cannot lift quieter stretches above the sample peak.
    """
    planar = np.atleast_2d(np.asarray(planar, dtype=np.float32))
    if planar.size == 0:
        return 0.0
    taps = TRUE_PEAK_PHASES.shape[1]
    # Small blocks keep the oversampled share small: in a mastered mix about one 64-frame block
    # in eight holds a sample within 6 dB of the peak, against most 2048-frame blocks.
    block = 64
    channels, frames = planar.shape
    count = int(np.ceil(frames / block))
    padded = np.zeros((channels, count * block + 2 * taps), np.float32)
    padded[:, taps:taps + frames] = planar
    block_peaks = np.abs(padded[:, taps:taps + count * block]).reshape(
        channels, count, block).max(axis=2)
    sample_peak = float(block_peaks.max())
    if sample_peak == 0.0:
        return 0.0
    best = sample_peak
    filter_taps = TRUE_PEAK_PHASES.T.ravel()  # polyphase order for upfirdn(up=4)
    for channel in range(channels):
        hot = np.flatnonzero(block_peaks[channel] * TRUE_PEAK_BOUND > sample_peak)
        for chunk in np.array_split(hot, max(1, len(hot) // 8192)):
            if chunk.size == 0:
                continue
            # Each hot block with `taps` frames of context on both sides, filtered as a batch.
            starts = chunk * block
            windows = padded[channel][starts[:, None] + np.arange(block + 2 * taps)]
            oversampled = signal.upfirdn(filter_taps, windows, up=4, axis=1)
            # Keep outputs whose 12 input frames all lie inside the window: the edges would be
            # partial sums of the filter, not interpolated values.
            valid = oversampled[:, 4 * (taps - 1):4 * windows.shape[1]]
            best = max(best, float(np.abs(valid).max()))
    return best


def _block_view(planar: np.ndarray) -> np.ndarray:
    channels, frames = planar.shape
    count = int(np.ceil(frames / BLOCK))
    if count * BLOCK == frames:
        return planar.reshape(channels, count, BLOCK)
    padded = np.zeros((channels, count * BLOCK), np.float32)
    padded[:, :frames] = planar
    return padded.reshape(channels, count, BLOCK)


def _edges(block_gain: np.ndarray) -> np.ndarray:
    """Gain at block boundaries (count + 1 values): the frames of block b ramp linearly from
    edges[b] to edges[b + 1]."""
    gain = np.asarray(block_gain, dtype=np.float64)
    return np.concatenate([[gain[0]], 0.5 * (gain[:-1] + gain[1:]), [gain[-1]]])


def _apply_edges(planar: np.ndarray, edges: np.ndarray) -> None:
    """Multiply `planar` in place by the per-block linear ramps, skipping blocks at unity."""
    frames = planar.shape[1]
    count = len(edges) - 1
    ramp = np.arange(BLOCK, dtype=np.float32) / BLOCK
    start_gain, stop_gain = edges[:-1].astype(np.float32), edges[1:].astype(np.float32)
    active = np.flatnonzero((start_gain != 1.0) | (stop_gain != 1.0))
    if active.size == 0:
        return
    if active.size > 0.5 * count:  # most blocks move: one pass over everything
        per_frame = (start_gain[:, None] + (stop_gain - start_gain)[:, None] * ramp).ravel()
        planar *= per_frame[:frames]
        return
    for run in np.split(active, np.flatnonzero(np.diff(active) > 1) + 1):
        first, last = int(run[0]), int(run[-1])
        gains = (start_gain[first:last + 1, None]
                 + (stop_gain - start_gain)[first:last + 1, None] * ramp).ravel()
        stop = min(frames, (last + 1) * BLOCK)
        planar[:, first * BLOCK:stop] *= gains[: stop - first * BLOCK]


def _block_energy(edges: np.ndarray) -> np.ndarray:
    """Mean squared gain over each block for linear ramps between the edges."""
    a, b = edges[:-1], edges[1:]
    return (a * a + a * b + b * b) / 3.0


class LoudnessModel:
    """BS.1770-4 integrated loudness of the song under any per-block gain curve.

    The song is K-weighted once (pyloudnorm's filter coefficients); the gating follows
    pyloudnorm's `Meter.integrated_loudness` (400 ms blocks, 75 % overlap, -70 LUFS absolute
    and -10 LU relative gates).
    """

    def __init__(self, planar: np.ndarray, sample_rate: int) -> None:
        meter = pyloudnorm.Meter(sample_rate)
        sos = np.vstack([signal.tf2sos(stage.b * stage.passband_gain, stage.a)
                         for stage in meter._filters.values()]).astype(np.float32)
        self.sample_rate = sample_rate
        self.frames = planar.shape[1]
        self.block_power = np.zeros(int(np.ceil(self.frames / BLOCK)))
        for channel in planar:  # one channel at a time keeps the extra memory small
            weighted = signal.sosfilt(sos, channel).astype(np.float32, copy=False)
            np.square(weighted, out=weighted)
            squares = _block_view(weighted[None, :])[0]
            self.block_power += squares.sum(axis=1, dtype=np.float64)
        gate_frames = meter.block_size * sample_rate
        step_frames = gate_frames * (1.0 - meter.overlap)
        seconds = self.frames / sample_rate
        count = int(np.round((seconds - meter.block_size) / (meter.block_size * 0.25))) + 1
        self.gate_bounds = [(int(j * step_frames), int(j * step_frames + gate_frames))
                            for j in range(max(count, 0))]
        self.gate_frames = gate_frames
        if not self.gate_bounds and self.frames:  # shorter than one gating block: one block
            self.gate_bounds = [(0, self.frames)]
            self.gate_frames = self.frames
        self.exact = all(lo % BLOCK == 0 and hi % BLOCK == 0 for lo, hi in self.gate_bounds)

    def loudness(self, block_gain_energy: np.ndarray | float = 1.0) -> float:
        power = self.block_power * block_gain_energy
        cumulative = np.concatenate([[0.0], np.cumsum(power)])
        if not self.gate_bounds:
            return float("-inf")
        lows = np.array([lo // BLOCK for lo, _ in self.gate_bounds])
        highs = np.array([min(-(-hi // BLOCK), len(power)) for _, hi in self.gate_bounds])
        z = (cumulative[highs] - cumulative[lows]) / self.gate_frames
        with np.errstate(divide="ignore"):
            block_loudness = -0.691 + 10 * np.log10(z)
        absolute = block_loudness >= -70.0
        if not absolute.any():
            return float("-inf")
        relative = -0.691 + 10 * np.log10(np.mean(z[absolute])) - 10.0
        gated = (block_loudness > relative) & absolute
        return float(-0.691 + 10 * np.log10(np.mean(z[gated])))


def compressor_gain(planar: np.ndarray, sample_rate: int, *, ratio: float = 2.0,
                    above_average_db: float = 4.0, attack_s: float = 0.01,
                    release_s: float = 0.15) -> np.ndarray:
    """Per-block gain of a gentle RMS bus compressor acting above the song's own average level:
    glues the parts and tames the loudest passages, whatever the loudness target."""
    power = np.mean(_block_view(planar) ** 2, axis=(0, 2))
    active = power[power > 1e-10]
    if active.size == 0:
        return np.ones_like(power)
    threshold_db = 10 * np.log10(np.mean(active)) + above_average_db
    # Asymmetric one-pole smoothing of the block power (attack fast, release slow); the loop
    # runs per block (a few thousand per minute), not per sample.
    attack = float(np.exp(-BLOCK / (attack_s * sample_rate)))
    release = float(np.exp(-BLOCK / (release_s * sample_rate)))
    smoothed = np.empty_like(power)
    level = 0.0
    for i, value in enumerate(power.tolist()):
        coefficient = attack if value > level else release
        level = coefficient * level + (1 - coefficient) * value
        smoothed[i] = level
    level_db = 10 * np.log10(smoothed + 1e-12)
    reduction_db = np.maximum(level_db - threshold_db, 0.0) * (1 - 1 / ratio)
    return db_to_gain(-reduction_db)


def limiter_gain(block_peaks: np.ndarray, sample_rate: int, *, ceiling: float,
                 lookahead_s: float = 0.005) -> np.ndarray:
    """Per-block gain of a look-ahead peak limiter for blocks peaking at `block_peaks`.

    The gain each block needs is spread over its neighbours by a minimum filter of radius R,
    then smoothed by a moving average of radius R - 1: every block, and the ramps between block
    centres, stay at or below what its peak needs, and the gain moves over ~2R blocks (about
    10 ms) instead of jumping.
    """
    needed = np.minimum(1.0, ceiling / np.maximum(block_peaks, 1e-12))
    if needed.min() >= 1.0:
        return needed
    radius = max(2, int(round(lookahead_s * sample_rate / BLOCK)))
    spread = ndimage.minimum_filter1d(needed, size=2 * radius + 1, mode="nearest")
    smooth = ndimage.uniform_filter1d(spread, size=2 * radius - 1, mode="nearest")
    return np.minimum(smooth, spread)  # guards float rounding in the average


def master(planar: np.ndarray, sample_rate: int, *, target_lufs: float,
           true_peak_dbtp: float) -> MasterResult:
    """High-pass, compress, normalise to `target_lufs`, limit to `true_peak_dbtp` (true peak).

    Works in place on `planar` (channels, frames), which the caller hands over.
    """
    audio = high_pass(np.asarray(planar, dtype=np.float32), sample_rate)
    model = LoudnessModel(audio, sample_rate)
    if not np.isfinite(model.loudness()):
        return MasterResult(audio=audio, gain_db=0.0, loudness_lufs=float("-inf"),
                            true_peak_dbtp=float("-inf"))
    compressor_edges = _edges(compressor_gain(audio, sample_rate))
    compressor_energy = _block_energy(compressor_edges)
    gain_db = target_lufs - model.loudness(compressor_energy)
    # Peaks after the compressor: the block's raw peak times the larger of its ramp ends.
    raw_peaks = np.abs(_block_view(audio)).max(axis=(0, 2))
    compressed_peaks = raw_peaks * np.maximum(compressor_edges[:-1], compressor_edges[1:])
    ceiling_db = true_peak_dbtp - 0.3  # sample-peak ceiling; inter-sample overs use the margin
    for _ in range(12):  # converge loudness after limiting, all in the block domain
        static = float(db_to_gain(gain_db))
        limiter_edges = _edges(limiter_gain(compressed_peaks * static, sample_rate,
                                            ceiling=float(db_to_gain(ceiling_db))))
        edges = compressor_edges * limiter_edges * static
        correction_db = target_lufs - model.loudness(_block_energy(edges))
        if abs(correction_db) < 0.05:
            break
        gain_db += correction_db
    _apply_edges(audio, edges)
    ceiling = float(db_to_gain(ceiling_db))
    np.clip(audio, -ceiling, ceiling, out=audio)  # exact sample-peak guarantee
    peak_db = 20 * np.log10(true_peak(audio) + 1e-12)
    if peak_db > true_peak_dbtp:  # inter-sample overs beyond the margin: trade a little level
        trim_db = true_peak_dbtp - peak_db - 0.02
        audio *= np.float32(db_to_gain(trim_db))
        edges = edges * db_to_gain(trim_db)
        peak_db += trim_db
    loudness = model.loudness(_block_energy(edges))
    return MasterResult(audio=audio, gain_db=float(gain_db), loudness_lufs=loudness,
                        true_peak_dbtp=float(peak_db))
