"""A generated arrangement from the scene's mood: tempo, key, mode, chords, bass, melody, drums.

Valence picks the mode and the progression (bright major ... dark minor), arousal the tempo and
the rhythmic density. When the describer gave no numeric `mood`, both are read from the words of
`mood_description`. Everything random comes from one `numpy` generator seeded by `seed`, so the
same scene and seed give the same MIDI.
"""

from __future__ import annotations

import re

import numpy as np
import pretty_midi

from imagewave.contracts.scene import Role, Scene
from imagewave.errors import InvalidInput

NOTE_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
MODES: dict[str, tuple[int, ...]] = {
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "major": (0, 2, 4, 5, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "minor": (0, 2, 3, 5, 7, 8, 10),
}
# Progressions as scale degrees (0 = tonic), one chord per bar, per mode.
PROGRESSIONS: dict[str, tuple[tuple[int, ...], ...]] = {
    "lydian": ((0, 1, 0, 4), (0, 1, 5, 4), (0, 4, 1, 0)),
    "major": ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 5, 4), (0, 3, 4, 3)),
    "mixolydian": ((0, 6, 3, 0), (0, 3, 6, 3), (0, 6, 4, 3)),
    "dorian": ((0, 3, 0, 3), (0, 6, 3, 0), (0, 2, 3, 6)),
    "minor": ((0, 5, 2, 6), (0, 3, 6, 2), (0, 5, 3, 4), (0, 3, 5, 4)),
}
# Mood words → (valence, arousal) nudges; the describer writes free English.
MOOD_WORDS: dict[str, tuple[float, float]] = {
    "happy": (0.8, 0.4), "joy": (0.8, 0.5), "joyful": (0.8, 0.5), "cheerful": (0.8, 0.4),
    "bright": (0.6, 0.2), "sunny": (0.6, 0.2), "playful": (0.6, 0.5), "warm": (0.5, -0.1),
    "festive": (0.7, 0.7), "celebrat": (0.7, 0.7), "hopeful": (0.5, 0.1), "lively": (0.5, 0.7),
    "vibrant": (0.5, 0.7), "energetic": (0.3, 0.9), "busy": (0.1, 0.7), "bustling": (0.2, 0.8),
    "exciting": (0.4, 0.8), "chaotic": (-0.2, 0.9), "intense": (-0.2, 0.8), "tense": (-0.5, 0.6),
    "urgent": (-0.2, 0.8), "ominous": (-0.7, 0.3), "eerie": (-0.6, 0.1), "mysterious": (-0.3, 0.0),
    "dark": (-0.6, 0.0), "gloomy": (-0.7, -0.3), "sad": (-0.8, -0.4), "melanchol": (-0.7, -0.4),
    "lonely": (-0.6, -0.5), "somber": (-0.7, -0.4), "nostalgic": (-0.2, -0.4),
    "calm": (0.2, -0.8), "peaceful": (0.4, -0.8), "serene": (0.4, -0.8), "quiet": (0.0, -0.7),
    "tranquil": (0.3, -0.8), "relax": (0.3, -0.6), "gentle": (0.3, -0.5), "soft": (0.2, -0.5),
    "dreamy": (0.2, -0.5), "sleepy": (0.0, -0.9), "still": (0.0, -0.7), "cozy": (0.5, -0.5),
    "romantic": (0.5, -0.3), "majestic": (0.4, 0.3), "epic": (0.2, 0.7), "cold": (-0.3, -0.2),
}

GM_DRUMS = {"kick": 36, "snare": 38, "closed_hat": 42, "open_hat": 46, "crash": 49, "ride": 51,
            "low_tom": 45, "high_tom": 50}


def mood_from_scene(scene: Scene) -> tuple[float, float, str]:
    """(valence, arousal, source): the describer's numbers, else an average of mood words."""
    if scene.mood is not None:
        return scene.mood.valence, scene.mood.arousal, "mood"
    words = re.findall(r"[a-z]+", scene.mood_description.lower())
    hits = [value for word in words for stem, value in MOOD_WORDS.items()
            if word.startswith(stem)]
    if not hits:
        return 0.0, 0.0, "neutral"
    valence, arousal = np.mean(np.asarray(hits), axis=0)
    return float(valence), float(arousal), "words"


def _mode_for(valence: float, rng: np.random.Generator) -> str:
    if valence > 0.55:
        return str(rng.choice(["major", "major", "lydian"]))
    if valence > 0.15:
        return "major"
    if valence > -0.15:
        return str(rng.choice(["mixolydian", "dorian"]))
    return "minor" if valence < -0.4 or rng.random() < 0.6 else "dorian"


def _chord(mode: str, tonic: int, degree: int) -> list[int]:
    """Triad pitch classes (as offsets from C) on a scale degree."""
    scale = MODES[mode]
    return [tonic + scale[(degree + step) % 7] + 12 * ((degree + step) // 7)
            for step in (0, 2, 4)]


def _chord_name(pitches: list[int]) -> str:
    root = pitches[0] % 12
    third = (pitches[1] - pitches[0]) % 12
    fifth = (pitches[2] - pitches[0]) % 12
    quality = {(4, 7): "", (3, 7): "m", (3, 6): "dim", (4, 8): "aug"}.get((third, fifth), "")
    return NOTE_NAMES[root] + quality


def _add(track: pretty_midi.Instrument, pitch: int, start_s: float, end_s: float,
         velocity: int) -> None:
    if end_s - start_s > 1e-3:
        track.notes.append(pretty_midi.Note(velocity=int(np.clip(velocity, 1, 127)),
                                            pitch=int(np.clip(pitch, 0, 127)),
                                            start=float(start_s), end=float(end_s)))


def generate_arrangement(scene: Scene, *, length_s: float,
                         seed: int) -> tuple[pretty_midi.PrettyMIDI, dict]:
    """A four-track song (melody, chords, bass, drums) of about `length_s` seconds."""
    if not 1.0 <= length_s <= 3600.0:
        raise InvalidInput(f"length_s must be in 1..3600 seconds, got {length_s}",
                           field="audio_length_in_s")
    rng = np.random.default_rng(seed)
    valence, arousal, mood_source = mood_from_scene(scene)
    mode = _mode_for(valence, rng)
    tonic = int(rng.integers(12))
    progression = PROGRESSIONS[mode][int(rng.integers(len(PROGRESSIONS[mode])))]
    wanted_bpm = float(np.clip(96 + 40 * arousal + rng.uniform(-4, 4), 56, 150))
    # Whole bars of 4/4 that fill the length exactly: round the bar count, then fit the tempo.
    bars = max(1, round(length_s * wanted_bpm / 240.0))
    tempo_bpm = 240.0 * bars / length_s
    beat_s = 60.0 / tempo_bpm
    bar_s = 4 * beat_s

    midi = pretty_midi.PrettyMIDI(initial_tempo=tempo_bpm)
    melody_program = int(rng.choice([0, 4, 5] if valence >= 0 else [0, 4, 6]))
    chords_role = Role.guitar if arousal > -0.25 else Role.keyboard
    chords_program = int(rng.choice([24, 25]) if chords_role is Role.guitar else 4)
    bass_program = int(rng.choice([32, 33] if arousal < 0.4 else [33, 34]))
    melody = pretty_midi.Instrument(program=melody_program, name="melody")
    chords = pretty_midi.Instrument(program=chords_program, name="chords")
    bass = pretty_midi.Instrument(program=bass_program, name="bass")
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="drums")

    density = float(np.clip((arousal + 1) / 2, 0, 1))  # 0 calm .. 1 energetic
    base_velocity = int(70 + 30 * density)
    chord_names = []
    motif = _melody_motif(rng, density)
    for bar in range(bars):
        start = bar * bar_s
        last_bar = bar == bars - 1
        degree = 0 if last_bar else progression[bar % len(progression)]
        triad = _chord(mode, tonic, degree)
        chord_names.append(_chord_name(triad))
        voicing = [48 + ((p - 48) % 12) + (12 if (p % 12) < 5 else 0) for p in triad]
        voicing = sorted(voicing)
        # Chords: whole notes when calm, halves, then strummed eighths when energetic.
        hits = 1 if (last_bar or density < 0.35) else (2 if density < 0.65 else 8)
        for hit in range(hits):
            hit_start = start + hit * bar_s / hits
            hit_end = start + (hit + 1) * bar_s / hits - (0.0 if hits == 1 else 0.02)
            for offset, pitch in enumerate(voicing):
                strum = 0.012 * offset if chords_role is Role.guitar and hits > 1 else 0.0
                accent = 8 if hit % 2 == 0 else 0
                _add(chords, pitch, hit_start + strum, hit_end, base_velocity - 15 + accent)
        # Bass: the root, on beats (eighths when energetic), the fifth on the last beat.
        bass_root = 36 + (triad[0] % 12)
        if bass_root > 45:
            bass_root -= 12
        steps = 1 if last_bar else (2 if density < 0.35 else (4 if density < 0.7 else 8))
        for step in range(steps):
            pitch = bass_root + (7 if steps >= 4 and step == steps - 1 else 0)
            step_start = start + step * bar_s / steps
            _add(bass, pitch, step_start, step_start + bar_s / steps * 0.9, base_velocity - 5)
        # Melody: the motif, transposed onto this bar's chord, varied on odd phrases.
        if last_bar:
            _add(melody, 60 + (tonic % 12) + (12 if tonic % 12 < 5 else 0), start,
                 start + bar_s, base_velocity)
        else:
            _melody_bar(melody, rng, motif, mode, tonic, triad, start, beat_s,
                        vary=(bar // 2) % 2 == 1, velocity=base_velocity)
        _drum_bar(drums, rng, density, start, beat_s, first=bar == 0, last=last_bar,
                  velocity=base_velocity)

    midi.instruments = [melody, chords, bass, drums]
    summary = {
        "tempo_bpm": round(tempo_bpm, 3),
        "key": NOTE_NAMES[tonic],
        "mode": mode,
        "chords": chord_names,
        "progression_degrees": list(progression),
        "bars": bars,
        "length_s": round(bars * bar_s, 3),
        "valence": round(valence, 3),
        "arousal": round(arousal, 3),
        "mood_source": mood_source,
        "seed": seed,
        "tracks": [
            {"index": i, "name": t.name, "role": role.value, "program": t.program,
             "is_drum": t.is_drum, "notes": len(t.notes)}
            for i, (t, role) in enumerate(zip(midi.instruments,
                                              [Role.keyboard, chords_role, Role.bass, Role.drums],
                                              strict=True))
        ],
    }
    return midi, summary


def _melody_motif(rng: np.random.Generator, density: float) -> list[tuple[float, int]]:
    """A one-bar rhythm (onset in beats) with scale steps relative to the chord root."""
    patterns = [
        [0.0, 2.0],
        [0.0, 1.0, 2.0, 3.0],
        [0.0, 1.5, 2.0, 3.0],
        [0.0, 0.5, 1.0, 2.0, 2.5, 3.0],
        [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5],
    ]
    choice = int(np.clip(round(density * (len(patterns) - 1) + rng.uniform(-0.6, 0.6)), 0,
                         len(patterns) - 1))
    onsets = patterns[choice]
    steps = np.cumsum(rng.choice([-2, -1, -1, 0, 1, 1, 2], size=len(onsets)))
    steps[0] = int(rng.choice([0, 2, 4]))
    return [(onset, int(step)) for onset, step in zip(onsets, steps, strict=True)]


def _melody_bar(track: pretty_midi.Instrument, rng: np.random.Generator,
                motif: list[tuple[float, int]], mode: str, tonic: int, triad: list[int],
                start: float, beat_s: float, *, vary: bool, velocity: int) -> None:
    scale = MODES[mode]
    root_degree = scale.index((triad[0] - tonic) % 12) if (triad[0] - tonic) % 12 in scale else 0
    for index, (onset, step) in enumerate(motif):
        if vary and rng.random() < 0.35:
            step += int(rng.choice([-1, 1, 2]))
        degree = root_degree + step
        pitch = 60 + tonic % 12 + scale[degree % 7] + 12 * (degree // 7)
        while pitch > 84:
            pitch -= 12
        while pitch < 60:
            pitch += 12
        next_onset = motif[index + 1][0] if index + 1 < len(motif) else 4.0
        note_start = start + onset * beat_s
        note_end = start + next_onset * beat_s - 0.03
        accent = 10 if onset == int(onset) and int(onset) % 2 == 0 else 0
        _add(track, pitch, note_start, note_end, velocity - 8 + accent + int(rng.integers(-4, 5)))


def _drum_bar(track: pretty_midi.Instrument, rng: np.random.Generator, density: float,
              start: float, beat_s: float, *, first: bool, last: bool, velocity: int) -> None:
    hit_s = 0.1

    def hit(key: str, beat: float, vel: int) -> None:
        onset = start + beat * beat_s
        _add(track, GM_DRUMS[key], onset, onset + hit_s, vel + int(rng.integers(-5, 6)))

    if first or last:
        hit("crash", 0, velocity)
    if last:
        hit("kick", 0, velocity)
        return
    if density < 0.3:  # calm: a soft pulse
        hit("kick", 0, velocity - 20)
        for beat in range(4):
            hit("closed_hat", beat, velocity - 35)
        hit("snare", 3 if rng.random() < 0.5 else 2, velocity - 30)
        return
    kicks = [0, 2] if density < 0.65 else [0, 1.5, 2, 2.75]
    for beat in kicks:
        hit("kick", beat, velocity)
    for beat in (1, 3):
        hit("snare", beat, velocity - 5)
    subdivision = 0.5 if density < 0.75 else 0.25
    for beat in np.arange(0, 4, subdivision):
        if beat == 3.5 and rng.random() < 0.3:
            hit("open_hat", beat, velocity - 15)
        else:
            hit("closed_hat", float(beat), velocity - (20 if beat % 1 else 10))
    if rng.random() < 0.15:
        hit("high_tom", 3.5, velocity - 10)
        hit("low_tom", 3.75, velocity - 10)
