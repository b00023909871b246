"""A song from a picture: character → form → parts → a humanised performance → MIDI.

1. `character.read_character`: style, key, mode, tempo, meter, register and figures from the
   scene's mood, words, sound sources and pixel statistics.
2. `form.plan_form`: intro, sections, ending for the requested length, a progression per
   section function, cadences at phrase ends, an energy arc.
3. `parts`: keyboard, bass and guitar first, the melody against what they hold (chord tones on
   strong beats, never a semitone against a held note), then the guitar's answers in the
   melody's rests, and the drums with fills into the section changes.
4. The performance: swing on the style's offbeats, a few milliseconds of human timing, a
   ritardando over the ending; all in seconds in a Standard MIDI File.

Every random choice comes from one generator seeded by the seed *and* a fingerprint of the
scene: the same scene and seed give the same song, and the picture, not the seed, decides
everything it has an opinion about (see `character`).
"""

from __future__ import annotations

import json
import math
import zlib

import numpy as np
import pretty_midi

from imagewave.contracts.music import Character as CharacterSummary
from imagewave.contracts.music import SectionSummary, Style
from imagewave.contracts.scene import Role, Scene
from imagewave.contracts.stages import ArrangementSummary, ArrangementTrack
from imagewave.errors import InvalidInput
from services.render.arrangement.character import Character, read_character
from services.render.arrangement.form import PHRASE_BARS, Section, plan_form
from services.render.arrangement.harmony import NOTE_NAMES
from services.render.arrangement.parts import (
    Accompaniment,
    Part,
    Song,
    write_bass,
    write_drums,
    write_guitar,
    write_keys,
    write_melody,
)
from services.render.playback.midi import role_for_program

RITARDANDO = 0.2  # the last bars slow to 80 % of the tempo
DRUM_HIT_S = 0.1
MAX_TIMING_S = 0.025


def scene_fingerprint(scene: Scene) -> int:
    """A stable 32-bit digest of the scene document (the same in every process)."""
    document = json.dumps(scene.model_dump(mode="json"), sort_keys=True)
    return zlib.crc32(document.encode())


class TimeMap:
    """Beats → seconds at a steady tempo, slowing linearly over the last `rit_beats`."""

    def __init__(self, beat_s: float, total_beats: float, rit_beats: float) -> None:
        self.beat_s = beat_s
        self.rit_from = total_beats - rit_beats
        self.rit_beats = rit_beats

    def seconds(self, beat):
        """Seconds at `beat` (a float or an array of beats)."""
        beat = np.asarray(beat, dtype=np.float64)
        if self.rit_beats <= 0:
            return beat * self.beat_s if beat.ndim else float(beat * self.beat_s)
        x = np.clip((beat - self.rit_from) / self.rit_beats, 0.0, 1.0)
        stretched = -np.log(1 - RITARDANDO * x) / RITARDANDO
        slowed = (self.rit_from + self.rit_beats * stretched) * self.beat_s
        result = np.where(beat <= self.rit_from, beat * self.beat_s, slowed)
        return result if result.ndim else float(result)

    @staticmethod
    def stretch() -> float:
        """How many steady beats the ritardando's beats last, per beat."""
        return -math.log(1 - RITARDANDO) / RITARDANDO


def _swing(beats: np.ndarray, ratio: float, unit: float) -> np.ndarray:
    """Delay offbeats of `unit` so each pair splits ratio : 1 - ratio."""
    if ratio <= 0.5:
        return beats
    pair = 2 * unit
    position = np.mod(beats, pair)
    base = beats - position
    # [0, unit] stretches onto [0, ratio * pair], [unit, pair] onto the rest.
    return np.where(position <= unit, base + position * 2 * ratio,
                    base + ratio * pair + (position - unit) * 2 * (1 - ratio))


def _perform(part: Part, time_map: TimeMap, character: Character,
             rng: np.random.Generator, end_s: float) -> pretty_midi.Instrument:
    profile = character.profile
    track = pretty_midi.Instrument(program=part.program, is_drum=part.is_drum, name=part.name)
    notes = sorted(part.notes, key=lambda n: (n.start, n.pitch))
    if not notes:
        return track
    onsets = np.array([n.start for n in notes])
    ends = onsets + np.array([n.length for n in notes])
    spread_s = profile.timing_ms / 1000.0 * (0.6 if part.is_drum else 1.0)
    lay_back_s = 0.004 if part.name == "melody" else 0.0
    jitter = np.clip(rng.normal(lay_back_s, spread_s, size=len(notes)), -MAX_TIMING_S,
                     MAX_TIMING_S)
    jitter[onsets <= 0] = 0.0  # the song starts on time
    start_s = np.maximum(0.0, time_map.seconds(_swing(onsets, profile.swing, profile.swing_unit))
                         + jitter + np.array([n.delay_s for n in notes]))
    if part.is_drum:
        end_s_all = start_s + DRUM_HIT_S
    else:
        end_s_all = time_map.seconds(_swing(ends, profile.swing, profile.swing_unit))
    end_s_all = np.minimum(np.maximum(end_s_all, start_s + 0.03), end_s)
    velocities = np.clip(np.round([n.velocity for n in notes]), 1, 127).astype(int)
    pitches = np.clip([n.pitch for n in notes], 0, 127).astype(int)
    keep = end_s_all - start_s >= 0.02
    track.notes = [pretty_midi.Note(velocity=v, pitch=p, start=a, end=b)
                   for v, p, a, b, k in zip(velocities.tolist(), pitches.tolist(),
                                            start_s.tolist(), end_s_all.tolist(), keep.tolist(),
                                            strict=True) if k]
    return track


def generate_arrangement(scene: Scene, *, length_s: float, seed: int,
                         style: Style | None = None
                         ) -> tuple[pretty_midi.PrettyMIDI, ArrangementSummary]:
    """A song of about `length_s` seconds for the scene: five tracks on four roles."""
    if not 1.0 <= length_s <= 3600.0:
        raise InvalidInput(f"length_s must be in 1..3600 seconds, got {length_s}",
                           field="audio_length_in_s")
    style = Style(style) if style is not None else None
    rng = np.random.default_rng([seed, scene_fingerprint(scene)])
    character = read_character(scene, style, rng)
    beats = character.beats_per_bar
    bars = max(1, round(length_s * character.tempo_bpm / 60.0 / beats))
    sections = plan_form(character, bars, rng)
    rit_beats = sections[-1].bars * beats if sections[-1].kind == "ending" else 0
    total_beats = bars * beats
    beat_s = length_s / (total_beats - rit_beats + rit_beats * TimeMap.stretch())
    time_map = TimeMap(beat_s, total_beats, rit_beats)

    song = Song(character=character, sections=sections, beats_per_bar=beats, rng=rng)
    programs = character.profile.programs
    melody = Part("melody", programs["melody"])
    keys = Part("keys", programs["keys"])
    guitar = Part("guitar", programs["guitar"])
    bass = Part("bass", programs["bass"])
    drums = Part("drums", 0, is_drum=True)
    write_keys(song, keys)
    write_bass(song, bass)
    write_guitar(song, guitar, [], answers_only=False)
    rests = write_melody(song, melody, Accompaniment([keys, bass, guitar]))
    write_guitar(song, guitar, rests, answers_only=True)
    write_drums(song, drums)

    parts = [melody, keys, guitar, bass, drums]
    midi = pretty_midi.PrettyMIDI(initial_tempo=60.0 / beat_s)
    midi.time_signature_changes = [pretty_midi.TimeSignature(beats, 4, 0.0)]
    if character.mode in ("major", "minor"):
        key_number = character.tonic + (12 if character.mode == "minor" else 0)
        midi.key_signature_changes = [pretty_midi.KeySignature(key_number, 0.0)]
    midi.instruments = [_perform(part, time_map, character, rng, length_s) for part in parts]
    return midi, _summary(midi, parts, sections, character, time_map, bars, beats, seed,
                          length_s)


def _summary(midi: pretty_midi.PrettyMIDI, parts: list[Part], sections: list[Section],
             character: Character, time_map: TimeMap, bars: int, beats: int, seed: int,
             length_s: float) -> ArrangementSummary:
    roles = [role_for_program(part.program, part.is_drum) for part in parts]
    chords, degrees = [], []
    section_summaries = []
    for index, section in enumerate(sections):
        names = [bar[0].name for bar in section.chords]
        chords += names
        degrees += [bar[0].degree for bar in section.chords]
        plays: dict[Role, list[str]] = {}
        for part, role in zip(parts, roles, strict=True):
            if index in part.plays:
                label = part.plays[index] if part.name != "melody" else \
                    f"melody: {part.plays[index]}"
                plays.setdefault(role, []).append(label)
        phrase_ends = [round(time_map.seconds((section.start_bar + bar) * beats), 3)
                       for bar in range(PHRASE_BARS, section.bars, PHRASE_BARS)]
        phrase_ends.append(round(time_map.seconds(section.end_bar * beats), 3))
        section_summaries.append(SectionSummary(
            name=section.name, kind=section.kind, start_bar=section.start_bar,
            bars=section.bars, start_s=round(time_map.seconds(section.start_bar * beats), 3),
            end_s=round(time_map.seconds(section.end_bar * beats), 3),
            energy=round(section.energy, 3), chords=names, phrase_end_s=phrase_ends,
            parts={role: ", ".join(labels) for role, labels in plays.items()}))
    visual = character.visual
    return ArrangementSummary(
        tempo_bpm=round(60.0 / time_map.beat_s, 3), key=NOTE_NAMES[character.tonic],
        mode=character.mode, meter=f"{beats}/4", beats_per_bar=beats, style=character.style,
        chords=chords, progression_degrees=degrees, bars=bars, length_s=round(length_s, 3),
        valence=round(character.valence, 3), arousal=round(character.arousal, 3),
        mood_source=character.mood_source, seed=seed, sections=section_summaries,
        character=CharacterSummary(
            valence=round(character.valence, 3), arousal=round(character.arousal, 3),
            brightness=visual.brightness, warmth=visual.warmth, busyness=visual.busyness,
            figures=character.figures, reasons=character.reasons),
        tracks=[ArrangementTrack(index=i, name=track.name, role=role, program=track.program,
                                 is_drum=track.is_drum, notes=len(track.notes))
                for i, (track, role) in enumerate(zip(midi.instruments, roles, strict=True))])
