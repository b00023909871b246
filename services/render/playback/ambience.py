"""The picture in the song: the scene's own sound effects as a bed under the music and as
events on the form's seams.

- The bed loops every effect seamlessly (its tail crossfaded into its head at equal power),
  each at its own offset and place in the stereo field, high-passed out of the bass's range.
  It fades in at the start and out at the end, and is ducked by the music (a sidechain on the
  music's short-term level, smoothed: quick down, slow up), so it fills the quiet sections and
  steps back when the band plays.
- The events are the most eventful second or two of each effect (its loudest window, started
  just before its attack), placed on phrase ends or section changes (cues) and taking turns.

Both are made in blocks, like the notes: memory does not grow with the song.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from services.render.playback.mix import REFERENCE_LEVEL_DB, STRIPS, Part, sample_level_db

LOOP_CROSSFADE_S = 0.5
FADE_IN_S, FADE_OUT_S = 1.5, 4.0
EVENT_S = 2.0  # longest event excerpt
EVENT_FADE_S = 0.4
DUCK_HOP = 1024
DUCK_DEPTH_DB = 9.0  # the most the music pushes the bed down
DUCK_ATTACK_S, DUCK_RELEASE_S = 0.08, 0.6
MIN_CUE_GAP_S = 3.0


def _pan_gains(pan: float) -> tuple[float, float]:
    angle = (min(1.0, max(-1.0, pan)) + 1) * math.pi / 4
    return math.cos(angle) * math.sqrt(2), math.sin(angle) * math.sqrt(2)


def seamless_loop(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """The sound as a loop: its last LOOP_CROSSFADE_S crossfaded (equal power) into its head."""
    fade = min(int(LOOP_CROSSFADE_S * sample_rate), len(samples) // 3)
    if fade < 16:
        return samples.astype(np.float32)
    body = samples[: len(samples) - fade].astype(np.float32).copy()
    ramp = np.linspace(0.0, math.pi / 2, fade, dtype=np.float32)
    body[:fade] = body[:fade] * np.sin(ramp) + samples[len(samples) - fade:] * np.cos(ramp)
    return body


def event_excerpt(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """The loudest EVENT_S window of an effect, begun at its attack, with a fade-out."""
    length = min(len(samples), int(EVENT_S * sample_rate))
    hop = max(1, int(0.01 * sample_rate))
    power = np.convolve(samples.astype(np.float64) ** 2, np.ones(hop) / hop, mode="same")[::hop]
    window = max(1, length // hop)
    if len(power) > window:
        sums = np.convolve(power, np.ones(window), mode="valid")
        start = int(np.argmax(sums)) * hop
        # Start at the attack: back to where the level is 20 dB under the window's peak.
        segment = power[start // hop:start // hop + window]
        peak = start // hop + int(np.argmax(segment))
        quiet = np.flatnonzero(power[:peak] < power[peak] * 0.01)
        start = int(quiet[-1]) * hop if quiet.size else start
    else:
        start = 0
    # From the attack on (shorter than EVENT_S when the sound ends sooner): the event lands on
    # its cue.
    excerpt = samples[start:start + length].astype(np.float32).copy()
    fade_in = min(len(excerpt), int(0.005 * sample_rate))
    excerpt[:fade_in] *= np.linspace(0, 1, fade_in, dtype=np.float32)
    fade_out = min(len(excerpt), int(EVENT_FADE_S * sample_rate))
    excerpt[len(excerpt) - fade_out:] *= np.linspace(1, 0, fade_out, dtype=np.float32) ** 2
    return excerpt


def fallback_cues(downbeats_s: np.ndarray, end_s: float) -> list[float]:
    """Cues on bar boundaries when the arrangement names no phrases: every 8 bars in songs of
    16 bars or more, else every 4 (never the first bar, never in the last two seconds)."""
    bars = len(downbeats_s)
    every = 8 if bars >= 16 else 4
    return [float(t) for t in downbeats_s[every::every] if t < end_s - 2.0]


def spaced_cues(cues_s: list[float], end_s: float) -> list[float]:
    """Cues in order, inside the song, at least MIN_CUE_GAP_S apart (the first one wins)."""
    kept: list[float] = []
    for cue in sorted(c for c in cues_s if 0.5 <= c < end_s - 1.0):
        if not kept or cue - kept[-1] >= MIN_CUE_GAP_S:
            kept.append(cue)
    return kept


@dataclass
class EffectEvent:
    start: int  # frame
    wave: np.ndarray  # mono, gain applied
    pan_left: float
    pan_right: float


def plan_events(effects: list[np.ndarray], cues_s: list[float], sample_rate: int,
                level_db: float) -> list[EffectEvent]:
    """One excerpt per cue, the effects taking turns, alternating sides."""
    excerpts = [event_excerpt(e, sample_rate) for e in effects if e.size]
    if not excerpts:
        return []
    gains = [10 ** ((level_db - sample_level_db(x)) / 20) for x in excerpts]
    events = []
    for index, cue in enumerate(cues_s):
        which = index % len(excerpts)
        left, right = _pan_gains((-0.45, 0.45, -0.2, 0.2)[index % 4])
        events.append(EffectEvent(int(round(cue * sample_rate)),
                                  (excerpts[which] * np.float32(gains[which])), left, right))
    return events


class AmbienceBed:
    """The looped effects under the music, rendered a block at a time."""

    def __init__(self, effects: list[np.ndarray], sample_rate: int, total_frames: int) -> None:
        self.sample_rate = sample_rate
        self.total_frames = total_frames
        self.loops: list[tuple[np.ndarray, int, float, float]] = []  # loop, offset, left, right
        level_db = REFERENCE_LEVEL_DB + STRIPS[Part.ambience].level_db
        usable = [e for e in effects if e.size > sample_rate // 4]
        # Spread the layers across the field; their sum sits at the bed's level.
        share_db = -10 * math.log10(max(1, len(usable)))
        for index, effect in enumerate(usable):
            loop = seamless_loop(effect, sample_rate)
            gain = 10 ** ((level_db + share_db - sample_level_db(loop)) / 20)
            pan = 0.0 if len(usable) == 1 else -0.6 + 1.2 * index / (len(usable) - 1)
            left, right = _pan_gains(pan)
            offset = int((index * 0.37 % 1.0) * len(loop))
            self.loops.append((loop * np.float32(gain), offset, left, right))
        self.duck_level = 0.0  # smoothed music power, carried across blocks
        self.reference_power = 10 ** ((REFERENCE_LEVEL_DB - 6.0) / 10)

    def __bool__(self) -> bool:
        return bool(self.loops)

    def block(self, start: int, frames: int, music: np.ndarray) -> np.ndarray:
        """The bed for frames [start, start + frames), ducked by `music` (2, frames)."""
        out = np.zeros((2, frames), np.float32)
        positions = np.arange(start, start + frames)
        for loop, offset, left, right in self.loops:
            mono = loop[(positions + offset) % len(loop)]
            out[0] += mono * np.float32(left)
            out[1] += mono * np.float32(right)
        out *= self._form_gain(positions)[None, :]
        out *= self._duck_gain(music)[None, :]
        return out

    def _form_gain(self, positions: np.ndarray) -> np.ndarray:
        rate = self.sample_rate
        fade_in = np.clip(positions / (FADE_IN_S * rate), 0.0, 1.0)
        fade_out = np.clip((self.total_frames - positions) / (FADE_OUT_S * rate), 0.0, 1.0)
        return (np.sin(fade_in * math.pi / 2) * np.sin(fade_out * math.pi / 2)).astype(np.float32)

    def _duck_gain(self, music: np.ndarray) -> np.ndarray:
        frames = music.shape[1]
        hops = -(-frames // DUCK_HOP)
        padded = np.zeros((2, hops * DUCK_HOP), np.float32)
        padded[:, :frames] = music
        power = np.mean(padded.reshape(2, hops, DUCK_HOP) ** 2, axis=(0, 2))
        attack = math.exp(-DUCK_HOP / (DUCK_ATTACK_S * self.sample_rate))
        release = math.exp(-DUCK_HOP / (DUCK_RELEASE_S * self.sample_rate))
        smoothed = np.empty(hops)
        level = self.duck_level
        for i, value in enumerate(power.tolist()):
            coefficient = attack if value > level else release
            level = coefficient * level + (1 - coefficient) * value
            smoothed[i] = level
        self.duck_level = level
        # 0 dB with the music silent, DUCK_DEPTH_DB down once it plays at its reference level.
        ratio = smoothed / self.reference_power
        duck_db = -DUCK_DEPTH_DB * ratio / (1.0 + ratio)
        gains = 10 ** (duck_db / 20)
        edges = np.concatenate([[gains[0]], gains])
        ramp = np.interp(np.arange(hops * DUCK_HOP) / DUCK_HOP, np.arange(hops + 1), edges)
        return ramp[:frames].astype(np.float32)
