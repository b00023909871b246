"""Music metrics on pieces built here, whose answers follow from how they were built."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from imagewave.music_metrics import audio_metrics, loudness_spread_lu, symbolic_metrics

BEAT_S = 0.5  # 120 bpm


def piece(bars: int, *, melody_bar, chord_bar, drum_bar) -> pretty_midi.PrettyMIDI:
    midi = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    melody = pretty_midi.Instrument(program=0, name="melody")
    chords = pretty_midi.Instrument(program=0, name="keys")
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    for bar in range(bars):
        top = bar * 4 * BEAT_S
        for pitch, beat, beats, velocity in melody_bar(bar):
            melody.notes.append(pretty_midi.Note(velocity, pitch, top + beat * BEAT_S,
                                                 top + (beat + beats) * BEAT_S))
        for pitch in chord_bar(bar):
            chords.notes.append(pretty_midi.Note(70, pitch, top, top + 4 * BEAT_S))
        for key, sixteenth in drum_bar(bar):
            onset = top + sixteenth * BEAT_S / 4
            drums.notes.append(pretty_midi.Note(90, key, onset, onset + 0.1))
    midi.instruments = [melody, chords, drums]
    return midi


C, F, G, A_MINOR = (48, 52, 55), (53, 57, 60), (55, 59, 62), (57, 60, 64)


def test_a_loop_and_a_song_differ_where_they_should():
    loop = symbolic_metrics(piece(
        16, melody_bar=lambda b: [(72, beat, 1, 90) for beat in range(4)],
        chord_bar=lambda b: C, drum_bar=lambda b: [(36, 0), (38, 4), (36, 8), (38, 12)]))
    progression = [C, A_MINOR, F, G]
    song = symbolic_metrics(piece(
        16,
        melody_bar=lambda b: [(72 + b % 5, 0, 1.5, 60 + 3 * b), (74, 1.5, 0.5, 80)]
        + ([] if b % 2 else [(76, 2, 2, 100)]),
        chord_bar=lambda b: progression[b % 4] if b < 8 else progression[(b + 1) % 4],
        drum_bar=lambda b: [(36, 0), (38, 4), (36, 8 + b % 3), (38, 12)] + (
            [(45, s) for s in range(12, 16)] if b % 4 == 3 else [])))
    assert loop.bars == song.bars == 16
    assert loop.distinct_harmony_bars == 1 and song.distinct_harmony_bars >= 4
    assert loop.distinct_drum_bars == 1 and song.distinct_drum_bars_ratio > 0.2
    assert loop.velocity_std < song.velocity_std
    assert loop.melody_rest_bar_ratio == 0.0 and song.melody_rest_bar_ratio == pytest.approx(0.5)
    assert loop.pitch_class_entropy < song.pitch_class_entropy


def test_clashes_are_minor_seconds_against_held_notes():
    # C major held; the melody plays B (a semitone under C) on odd bars, E (a chord tone) else.
    metrics = symbolic_metrics(piece(
        8, melody_bar=lambda b: [(71 if b % 2 else 76, 0, 2, 90)], chord_bar=lambda b: C,
        drum_bar=lambda b: [(36, 0)]))
    assert metrics.melody_clash_ratio == pytest.approx(0.5)


def test_short_term_loudness_spread_and_stems():
    rate = 16_000
    t = np.arange(rate * 12) / rate
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    steady = 0.1 * tone
    terraced = steady * np.where(t < 6, 1.0, 0.25).astype(np.float32)  # -12 dB halfway
    assert loudness_spread_lu(steady, rate) < 0.5
    assert 10 < loudness_spread_lu(terraced, rate) < 13
    result = audio_metrics(np.stack([terraced, terraced], 1), rate,
                           {"quiet": np.stack([0.1 * terraced] * 2, 1)})
    assert result["stem_vs_mix_lu"]["quiet"] == pytest.approx(-20, abs=0.1)
