"""Audio helpers every stage shares: the one sample rate and the one mono down-mix."""

from __future__ import annotations

import numpy as np

# The pipeline's working rate: effects, voices, instruments and the mix (48 kHz, as in video).
SAMPLE_RATE = 48_000


def to_mono(samples: np.ndarray) -> np.ndarray:
    """(frames,) stays as it is; (frames, channels) becomes the channels' mean, dtype kept.

    Other shapes pass through unchanged so each caller's own shape check names its field."""
    samples = np.asarray(samples)
    if samples.ndim == 2:
        return samples[:, 0] if samples.shape[1] == 1 else samples.mean(axis=1)
    return samples
