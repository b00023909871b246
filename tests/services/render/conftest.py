"""Shared material for the render tests: weakly pitched "sound effect" sources and the
instruments built from them (built once per session: building is what several tests inspect)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
from scipy import signal

from imagewave.contracts.scene import Role
from services.render.instruments.build import build_instrument

SOURCE_RATE = 16_000  # the seed's text-to-audio model wrote 16 kHz effects


def wind(seconds: float = 4.0, seed: int = 1) -> np.ndarray:
    """Pink-ish noise with slow gusts: no pitch at all."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SOURCE_RATE)
    noise = signal.lfilter([1.0], [1.0, -0.9], rng.standard_normal(n))
    gusts = 0.6 + 0.4 * np.sin(2 * np.pi * 0.4 * np.arange(n) / SOURCE_RATE)
    return (0.2 * noise / np.abs(noise).max() * gusts).astype(np.float32)


def rain(seconds: float = 4.0, seed: int = 2) -> np.ndarray:
    """Hiss plus random droplets: bright, crackly, unpitched."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SOURCE_RATE)
    hiss = signal.sosfilt(signal.butter(2, 2000, "highpass", fs=SOURCE_RATE, output="sos"),
                          rng.standard_normal(n)) * 0.05
    drops = np.zeros(n)
    drops[rng.integers(0, n, 300)] = rng.uniform(-1, 1, 300)
    drops = signal.lfilter([1.0], [1.0, -0.9], drops) * 0.3
    return (hiss + drops).astype(np.float32)


def rumble(seconds: float = 4.0, seed: int = 3) -> np.ndarray:
    """Low-passed noise with a faint inharmonic hum: traffic or a distant engine."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SOURCE_RATE)
    t = np.arange(n) / SOURCE_RATE
    low = signal.sosfilt(signal.butter(4, 300, "lowpass", fs=SOURCE_RATE, output="sos"),
                         rng.standard_normal(n))
    hum = 0.02 * (np.sin(2 * np.pi * 57.3 * t) + np.sin(2 * np.pi * 131.9 * t))
    return (0.3 * low / np.abs(low).max() + hum).astype(np.float32)


def knocks(seconds: float = 4.0, seed: int = 4) -> np.ndarray:
    """Footsteps and knocks: decaying bursts of varied brightness at irregular times."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SOURCE_RATE)
    out = np.zeros(n)
    for onset in np.sort(rng.uniform(0, seconds - 0.3, 10)):
        length = int(rng.uniform(0.05, 0.25) * SOURCE_RATE)
        burst = rng.standard_normal(length) * np.exp(-np.arange(length) / (0.2 * length))
        cutoff = rng.uniform(300, 6000)
        burst = signal.sosfilt(signal.butter(2, cutoff, "lowpass", fs=SOURCE_RATE,
                                             output="sos"), burst)
        start = int(onset * SOURCE_RATE)
        out[start:start + length] += burst[: n - start]
    return (0.5 * out / np.abs(out).max()).astype(np.float32)


WEAK_SOURCES = {Role.keyboard: wind, Role.guitar: rain, Role.bass: rumble, Role.drums: knocks}


@pytest.fixture(scope="session")
def instruments(tmp_path_factory) -> dict[Role, Path]:
    """role → .sfz built from the weakly pitched sources above."""
    root = tmp_path_factory.mktemp("instruments")
    return {role: build_instrument(make(), SOURCE_RATE, role, root / role.value)
            for role, make in WEAK_SOURCES.items()}


def single_notes_midi(notes: list[tuple[int, float, float]], *, program: int = 0,
                      is_drum: bool = False, velocity: int = 100) -> pretty_midi.PrettyMIDI:
    """A one-track MIDI of (pitch, start_s, end_s) notes."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    track = pretty_midi.Instrument(program=program, is_drum=is_drum)
    track.notes = [pretty_midi.Note(velocity=velocity, pitch=p, start=s, end=e)
                   for p, s, e in notes]
    midi.instruments.append(track)
    return midi


def midi_bytes(midi: pretty_midi.PrettyMIDI) -> bytes:
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def pyin_pitch(audio: np.ndarray, sample_rate: int, expected_pitch: float):
    """(voiced fraction, median cents off `expected_pitch`) measured by librosa's pyin.

    Voiced means pyin's flag set with a voicing probability of at least 0.5: on noise the flag
    alone flickers on near fmin while the probability stays near zero.
    """
    import librosa

    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    expected_hz = float(librosa.midi_to_hz(expected_pitch))
    # pyin needs about ten periods per frame to be sure of a pitch: low notes are analysed at
    # 16 kHz with long frames, high ones at the full rate so a period spans enough samples.
    rate = 16_000 if expected_hz < 200 else sample_rate
    if rate != sample_rate:
        audio = librosa.resample(audio, orig_sr=sample_rate, target_sr=rate)
    frame_length = max(1024, 1 << int(np.ceil(np.log2(10 * rate / expected_hz))))
    hop = 512
    f0, flag, probability = librosa.pyin(audio, fmin=expected_hz / 1.6, fmax=expected_hz * 1.6,
                                         sr=rate, hop_length=hop, frame_length=frame_length)
    voiced = flag & (probability >= 0.5)
    # Judge the frames where the note sounds (within 40 dB of its peak), not the silence after.
    # Frame i is centred on sample hop * i (pyin pads by half a frame).
    padded = np.pad(np.abs(audio), (hop // 2, hop * len(voiced)))[: hop * len(voiced)]
    frames = np.flatnonzero(padded.reshape(-1, hop).max(axis=1) > 0.01 * np.abs(audio).max())
    considered = voiced[frames]
    if not considered.any():
        return float(np.mean(considered)), float("inf")
    cents = 1200 * np.log2(f0[frames][considered] / expected_hz)
    return float(np.mean(considered)), float(np.median(cents))
