"""The players: keyboard, bass, guitar, drums and the melody, each writing its part per section.

Times are in beats from the top of the song; the composer swings, humanises and turns them into
seconds afterwards. Every writer works bar by bar over a section and reads the chord under each
event from the section's bars, so a bar with two chords is handled the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imagewave.contracts.music import Style
from services.render.arrangement.character import Character
from services.render.arrangement.form import PHRASE_BARS, Section
from services.render.arrangement.harmony import (
    MODES,
    Chord,
    nearest_pitch,
    voice_chord,
)

GM_DRUMS = {"kick": 36, "side_stick": 37, "snare": 38, "clap": 39, "floor_tom": 41,
            "closed_hat": 42, "low_tom": 45, "open_hat": 46, "mid_tom": 47, "crash": 49,
            "high_tom": 50, "ride": 51, "tambourine": 54, "shaker": 70}


@dataclass
class NoteEvent:
    pitch: int
    start: float  # beats
    length: float  # beats
    velocity: float
    delay_s: float = 0.0  # a strum's string-by-string spread, added after humanising


@dataclass
class Part:
    name: str
    program: int
    is_drum: bool = False
    notes: list[NoteEvent] = field(default_factory=list)
    plays: dict[int, str] = field(default_factory=dict)  # section index → what it plays

    def add(self, pitch: int, start: float, length: float, velocity: float,
            delay_s: float = 0.0) -> None:
        if length > 1e-3:
            self.notes.append(NoteEvent(int(pitch), float(start), float(length),
                                        float(velocity), delay_s))


def base_velocity(energy: float) -> float:
    """Section loudness: a quiet intro plays near 50, a peak chorus near 118."""
    return 38.0 + 80.0 * energy


@dataclass
class Song:
    """Shared context of the writers."""

    character: Character
    sections: list[Section]
    beats_per_bar: int
    rng: np.random.Generator

    def chord_segments(self, section: Section, bar: int) -> list[tuple[float, float, Chord]]:
        """(start, end, chord) in beats from the song's top for bar `bar` of the section."""
        chords = section.chords[bar]
        top = (section.start_bar + bar) * self.beats_per_bar
        if len(chords) == 1:
            return [(top, top + self.beats_per_bar, chords[0])]
        split = top + (self.beats_per_bar + 1) // 2
        return [(top, split, chords[0]), (split, top + self.beats_per_bar, chords[1])]

    def chord_at(self, section: Section, bar: int, beat_in_bar: float) -> tuple[float, float,
                                                                              Chord]:
        top = (section.start_bar + bar) * self.beats_per_bar
        for segment in self.chord_segments(section, bar):
            if segment[0] <= top + beat_in_bar < segment[1]:
                return segment
        return self.chord_segments(section, bar)[-1]

    def next_root(self, section_index: int, bar: int) -> int:
        """Root pitch class of the chord after `bar` (across the section boundary)."""
        section = self.sections[section_index]
        if bar + 1 < section.bars:
            return section.chords[bar + 1][0].root
        if section_index + 1 < len(self.sections):
            return self.sections[section_index + 1].chords[0][0].root
        return section.chords[bar][-1].root

    def scale(self, section: Section) -> list[int]:
        tonic = (self.character.tonic + section.transpose) % 12
        return [(tonic + step) % 12 for step in MODES[self.character.mode]]


def _pattern_events(song: Song, section: Section, bar: int,
                    pattern: list[tuple[float, float, float]]):
    """Yield (start, length, accent, chord) for a one-bar rhythm, trimmed at chord changes."""
    top = (section.start_bar + bar) * song.beats_per_bar
    for onset, length, accent in pattern:
        if onset >= song.beats_per_bar:
            continue
        start, end, chord = song.chord_at(section, bar, onset)
        begin = top + onset
        yield begin, min(length, end - begin), accent, chord


# -- keyboard ------------------------------------------------------------------------------

def _keys_pattern(kind: str, beats: int, rng: np.random.Generator, style: Style):
    if kind == "pad":
        return [(0.0, float(beats), 0.0)]
    if kind == "stabs":
        return [(b + 0.5, 0.3, 4.0 * (b % 2)) for b in range(beats)]
    if kind == "comp":
        if beats == 3:
            return [(0.0, 1.0, 6.0), (1.0, 0.8, 0.0), (2.0, 0.8, 0.0)]
        options = [
            [(0.0, 1.5, 6.0), (1.5, 1.0, 0.0), (3.0, 0.8, 2.0)],
            [(0.0, 0.9, 6.0), (1.0, 0.9, 0.0), (2.0, 0.9, 4.0), (3.0, 0.9, 0.0)],
            [(0.0, 2.5, 6.0), (2.5, 1.5, 2.0)],
            [(0.0, 0.5, 6.0), (0.75, 1.25, 0.0), (2.5, 1.5, 3.0)],
        ]
        if style is Style.lofi:
            options = options[2:]
        return options[int(rng.integers(len(options)))]
    raise ValueError(kind)


def write_keys(song: Song, part: Part) -> None:
    character, rng, beats = song.character, song.rng, song.beats_per_bar
    previous: list[int] | None = None
    for index, section in enumerate(song.sections):
        texture = character.profile.keys[section.kind]
        if section.kind == "verse" and section.occurrence == 0 and "flow" in character.figures:
            texture = "arp"  # water and rain ripple under the first verse
        if section.kind == "chorus" and "ring" in character.figures[:2]:
            texture = "arp"  # bells and glass ring out the chorus
        part.plays[index] = texture
        velocity = base_velocity(section.energy) - (16 if texture == "pad" else 10)
        pattern = None if texture == "arp" else _keys_pattern(texture, beats, rng,
                                                              character.style)
        subdivision = 0.25 if (section.energy > 0.7 and "flow" in character.figures) else 0.5
        for bar in range(section.bars):
            last_bar = section.kind == "ending" and bar == section.bars - 1
            if texture == "arp" and not last_bar:
                for start, end, chord in song.chord_segments(section, bar):
                    voicing = voice_chord(chord, previous, low=48, high=76, size=4)
                    previous = voicing
                    order = voicing + [voicing[1] + 12, voicing[2] + 12]
                    if int(rng.integers(2)):
                        order = order[:4] + order[4:][::-1]
                    steps = int(round((end - start) / subdivision))
                    for step in range(steps):
                        pitch = order[step % len(order)] if (step // len(order)) % 2 == 0 \
                            else order[::-1][step % len(order)]
                        accent = 6.0 if step % (2 / subdivision) == 0 else 0.0
                        length = min(1.0, end - (start + step * subdivision))
                        part.add(pitch, start + step * subdivision, length,
                                 velocity - 8 + accent + rng.normal(0, 3))
                continue
            bar_pattern = [(0.0, float(beats), 0.0)] if last_bar else pattern
            for start, length, accent, chord in _pattern_events(song, section, bar,
                                                                bar_pattern):
                voicing = voice_chord(chord, previous, low=48, high=76, size=4)
                previous = voicing
                for pitch in voicing:
                    part.add(pitch, start, length - 0.04, velocity + accent + rng.normal(0, 3))
            # A pad re-strikes when the chord changes inside the bar.
            if texture == "pad" and len(section.chords[bar]) == 2 and not last_bar:
                start, end, chord = song.chord_segments(section, bar)[1]
                for note in part.notes[-4:]:
                    note.length = min(note.length, start - note.start - 0.04)
                voicing = voice_chord(chord, previous, low=48, high=76, size=4)
                previous = voicing
                for pitch in voicing:
                    part.add(pitch, start, end - start - 0.04, velocity + rng.normal(0, 3))


# -- bass -----------------------------------------------------------------------------------

def _bass_pitch(pitch_class: int, near: int = 38) -> int:
    return nearest_pitch(pitch_class, near, 28, 50)


def _approach(song: Song, section: Section, target_root: int, current: int) -> int:
    """A note leading into the next root: a semitone below or above, or the scale step."""
    target = _bass_pitch(target_root, current)
    choices = [target - 1, target + 1, target - 2 if (target - 2) % 12 in song.scale(section)
               else target + 2]
    return int(song.rng.choice(choices))


def write_bass(song: Song, part: Part) -> None:
    character, rng, beats = song.character, song.rng, song.beats_per_bar
    for index, section in enumerate(song.sections):
        style = character.profile.bass[section.kind]
        if "pulse" in character.figures[:2] and section.kind in ("verse", "chorus"):
            style = "pulse"  # machines and traffic drive eighths
        part.plays[index] = {"root": "roots", "pedal": "pedal", "pulse": "eighths",
                             "synco": "syncopated", "walk": "walking"}[style]
        velocity = base_velocity(section.energy) - 4
        tonic = (character.tonic + section.transpose) % 12
        for bar in range(section.bars):
            top = (section.start_bar + bar) * beats
            last_bar = section.kind == "ending" and bar == section.bars - 1
            segments = song.chord_segments(section, bar)
            if last_bar:
                part.add(_bass_pitch(segments[-1][2].root), top, beats - 0.05, velocity + 4)
                continue
            next_root = song.next_root(index, bar)
            if style == "pedal":
                part.add(_bass_pitch(tonic), top, beats - 0.05, velocity)
                continue
            for number, (start, end, chord) in enumerate(segments):
                root = _bass_pitch(chord.root)
                fifth = _bass_pitch(chord.tones[2], root + 7)
                last_segment = number == len(segments) - 1
                span = end - start
                if style == "root" or span < 2:
                    if span >= 3 and last_segment:
                        part.add(root, start, span - 1.05, velocity + 6)
                        part.add(fifth if rng.random() < 0.5 else root + 12 if root < 40
                                 else fifth, end - 1, 0.9, velocity - 4)
                    else:
                        part.add(root, start, span - 0.05, velocity + 6)
                    continue
                if style == "pulse":
                    steps = int(span * 2)
                    for step in range(steps):
                        pitch = root + 12 if step % 4 == 3 and root + 12 <= 50 else root
                        if last_segment and step == steps - 1 and next_root != chord.root:
                            pitch = _approach(song, section, next_root, root)
                        part.add(pitch, start + step * 0.5, 0.42,
                                 velocity + (6 if step % 2 == 0 else -6))
                    continue
                if style == "synco":
                    rhythm = [(0.0, 1.4), (1.5, 0.45), (2.0, 0.9), (3.0, 0.45), (3.5, 0.45)]
                    rhythm = [(o, d) for o, d in rhythm if o < span]
                    for position, (onset, length) in enumerate(rhythm):
                        pitch = root if position < 3 else fifth
                        if last_segment and position == len(rhythm) - 1:
                            pitch = _approach(song, section, next_root, root)
                        part.add(pitch, start + onset, min(length, span - onset),
                                 velocity + (6 if onset == int(onset) else -4))
                    continue
                # walking: root, a chord or scale tone, a passing tone, an approach
                scale = song.scale(section)
                steps = int(span)
                line = [root]
                for step in range(1, steps):
                    if step == steps - 1 and last_segment:
                        line.append(_approach(song, section, next_root, line[-1]))
                        continue
                    options = [p for p in range(line[-1] - 4, line[-1] + 5)
                               if p % 12 in scale and 28 <= p <= 50 and p != line[-1]]
                    chord_tones = [p for p in options if p % 12 in chord.pitch_classes]
                    pool = chord_tones if (step % 2 == 0 and chord_tones) else options
                    line.append(int(rng.choice(pool)) if pool else root)
                for step, pitch in enumerate(line):
                    part.add(pitch, start + step, 0.9, velocity + (6 if step == 0 else 0))


# -- guitar ---------------------------------------------------------------------------------

def guitar_voicing(chord: Chord) -> list[int]:
    """An open-position-like shape: root low, then fifth, octave, third and fifth above."""
    root = nearest_pitch(chord.root, 45, 40, 52)
    third = (chord.tones[1] - chord.root) % 12
    fifth = (chord.tones[2] - chord.root) % 12
    return [root, root + fifth, root + 12, root + 12 + third, root + 12 + fifth]


STRUMS = {
    4: [[(0.0, "D"), (1.0, "D"), (1.5, "U"), (2.5, "U"), (3.0, "D"), (3.5, "U")],
        [(0.0, "D"), (1.0, "D"), (2.0, "D"), (2.5, "U"), (3.5, "U")],
        [(0.0, "D"), (0.75, "U"), (1.5, "D"), (2.5, "D"), (3.0, "U"), (3.5, "D")]],
    3: [[(0.0, "D"), (1.0, "D"), (1.5, "U"), (2.0, "D"), (2.5, "U")],
        [(0.0, "D"), (1.0, "U"), (2.0, "U")]],
}


def write_guitar(song: Song, part: Part, melody_rests: list[tuple[float, float]],
                 *, answers_only: bool) -> None:
    """Strums, picking, chugs and swells; with `answers_only`, the replies in the melody's
    rests (written after the melody, which is written after the other parts)."""
    character, rng, beats = song.character, song.rng, song.beats_per_bar
    for index, section in enumerate(song.sections):
        texture = character.profile.guitar[section.kind]
        if section.kind == "intro" and texture == "answer":
            texture = "swell"
        top = section.start_bar * beats
        rests = [r for r in melody_rests if top <= r[0] < top + section.bars * beats]
        if texture == "answer" and not rests:
            texture = "pick"
        if answers_only != (texture == "answer"):
            continue
        part.plays[index] = {"strum": "strums", "pick": "arpeggios", "answer": "answers",
                             "chug": "muted eighths", "swell": "swells"}[texture]
        velocity = base_velocity(section.energy) - 8
        if texture == "answer":
            _answers(song, section, part, rests, velocity)
            continue
        strum = STRUMS[beats][int(rng.integers(len(STRUMS[beats])))]
        for bar in range(section.bars):
            bar_top = (section.start_bar + bar) * beats
            last_bar = section.kind == "ending" and bar == section.bars - 1
            if last_bar:
                chord = section.chords[bar][-1]
                for string, pitch in enumerate(guitar_voicing(chord)):
                    part.add(pitch, bar_top, beats - 0.05, velocity, delay_s=0.03 * string)
                continue
            if texture == "strum":
                events = [(o, 0.5, 8.0 if d == "D" else -4.0) for o, d in strum]
                for i, (start, _length, accent, chord) in enumerate(
                        _pattern_events(song, section, bar, events)):
                    down = strum[i][1] == "D"
                    nxt = strum[i + 1][0] if i + 1 < len(strum) else beats
                    shape = guitar_voicing(chord)
                    shape = shape if down else shape[2:][::-1]
                    end = min(bar_top + nxt - 0.05,
                              song.chord_at(section, bar, strum[i][0])[1] - 0.02)
                    for string, pitch in enumerate(shape):
                        part.add(pitch, start, end - start, velocity + accent
                                 - 2 * string * (not down), delay_s=0.011 * string)
            elif texture == "chug":
                for start, end, chord in song.chord_segments(section, bar):
                    root = nearest_pitch(chord.root, 45, 40, 52)
                    for step in range(int((end - start) * 2)):
                        accent = 8.0 if step % 2 == 0 else -6.0
                        for pitch in (root, root + 7, root + 12):
                            part.add(pitch, start + step * 0.5, 0.22, velocity + accent)
            elif texture == "pick":
                for start, end, chord in song.chord_segments(section, bar):
                    shape = guitar_voicing(chord)
                    treble = shape[2:]
                    for step in range(int((end - start) * 2)):
                        onset = start + step * 0.5
                        if step % 2 == 0:  # thumb: root and fifth alternate on the beats
                            pitch = shape[0] if (step // 2) % 2 == 0 else shape[1]
                        else:
                            pitch = treble[int(rng.integers(len(treble)))]
                        part.add(pitch, onset, min(1.0, end - onset) - 0.02,
                                 velocity + (4 if step % 2 == 0 else -3) + rng.normal(0, 3))
            else:  # swell: two chord tones ringing long, soft
                for start, end, chord in song.chord_segments(section, bar):
                    shape = guitar_voicing(chord)
                    part.add(shape[3], start, end - start - 0.05, velocity - 10)
                    if end - start >= 2:
                        part.add(shape[4], start + 1.0, end - start - 1.05, velocity - 14)


def _answers(song: Song, section: Section, part: Part, rests: list[tuple[float, float]],
             velocity: float) -> None:
    """Call and response: a short lick of chord tones in each melody rest of a beat or more."""
    rng = song.rng
    beats = song.beats_per_bar
    for rest_start, rest_end in rests:
        span = rest_end - rest_start
        if span < 1.0:
            continue
        bar = int(rest_start // beats) - section.start_bar
        if not 0 <= bar < section.bars:
            continue
        begin = np.ceil(rest_start * 2) / 2 + 0.0
        count = int(min(4, (rest_end - begin - 0.25) // 0.5))
        if count < 2:
            continue
        direction = int(rng.choice([-1, 1]))
        anchor = 62 + int(rng.integers(-2, 4))
        for step in range(count):
            onset = begin + 0.5 * step
            _, _, chord = song.chord_at(section, bar, onset - (section.start_bar + bar) * beats)
            target = anchor + direction * 3 * step
            pitch = nearest_pitch(chord.tones[step % 3], target, 52, 72)
            length = min(0.5 if step < count - 1 else 1.0, rest_end - onset - 0.1)
            part.add(pitch, onset, length, velocity + 4 - 3 * step)


# -- melody ---------------------------------------------------------------------------------

@dataclass
class Motif:
    rhythm: list[tuple[float, float]]  # (onset, length) in beats within one bar
    steps: list[int]  # scale-degree offsets from the phrase anchor


def _rhythm(rng: np.random.Generator, beats: int, density: float, breath: bool) -> list[
        tuple[float, float]]:
    """A one-bar rhythm on an eighth grid; `breath` keeps the last beat (or more) free."""
    slots = beats * 2 - (2 if breath else 0)
    count = int(np.clip(round(1 + density * 5 + rng.normal(0, 0.7)), 1, slots))
    weights = np.array([2.5 if slot % 2 == 0 else 1.0 for slot in range(1, slots)])
    chosen = rng.choice(np.arange(1, slots), size=count - 1, replace=False,
                        p=weights / weights.sum()) if count > 1 else []
    onsets = [0] + sorted(int(c) for c in chosen)
    rhythm = []
    for i, slot in enumerate(onsets):
        end_slot = onsets[i + 1] if i + 1 < len(onsets) else slots
        rhythm.append((slot / 2.0, (end_slot - slot) / 2.0))
    return rhythm


def make_motif(rng: np.random.Generator, beats: int, density: float) -> Motif:
    rhythm = _rhythm(rng, beats, density, breath=False)
    steps, position = [], 0
    for _ in rhythm:
        steps.append(position)
        position += int(rng.choice([-2, -1, -1, 1, 1, 2, 3], p=[.1, .2, .15, .2, .15, .12, .08]))
    return Motif(rhythm=rhythm, steps=steps)


class Accompaniment:
    """Which pitch classes the other parts hold at a moment: the melody avoids a semitone
    against them."""

    def __init__(self, parts: list[Part]) -> None:
        self.buckets: dict[int, list[NoteEvent]] = {}
        for part in parts:
            for note in part.notes:
                for beat in range(int(note.start), int(note.start + note.length) + 1):
                    self.buckets.setdefault(beat, []).append(note)

    def sounding(self, beat: float, look_ahead: float = 0.12) -> set[int]:
        moment = beat + look_ahead
        return {n.pitch % 12 for n in self.buckets.get(int(moment), [])
                if n.start <= moment < n.start + n.length}


def _clashes(pitch_class: int, sounding: set[int]) -> bool:
    return any((pitch_class - other) % 12 in (1, 11) for other in sounding)


def write_melody(song: Song, part: Part, accompaniment: Accompaniment) -> list[
        tuple[float, float]]:
    """Phrases of developed motifs; returns the melody's rests of a beat or more."""
    character, rng, beats = song.character, song.rng, song.beats_per_bar
    motifs: dict[str, Motif] = {}
    density_of = {"verse": 0.85, "chorus": 1.0, "bridge": 0.55, "intro": 0.4, "ending": 0.5}
    lift = {"verse": 0, "chorus": 2, "bridge": -1, "intro": 0, "ending": 0}
    for index, section in enumerate(song.sections):
        if section.kind == "intro" and character.style not in (Style.ambient,
                                                               Style.cinematic):
            part.plays[index] = "rests"
            continue
        density = float(np.clip(character.profile.melody_density * 0.6 + character.density * 0.4,
                                0.05, 1.0)) * density_of[section.kind]
        key = section.kind if section.kind != "intro" else "chorus"
        if key not in motifs:
            motifs[key] = make_motif(rng, beats, density)
        motif = motifs[key]
        if section.occurrence:  # a return: same idea, rhythm loosened
            motif = _vary(motif, rng, beats)
        part.plays[index] = {"intro": "a hint of the theme", "verse": "theme",
                             "chorus": "chorus theme", "bridge": "new idea",
                             "ending": "last phrase"}[section.kind]
        tonic = (character.tonic + section.transpose) % 12
        home = nearest_pitch(tonic, 66 + character.register, 60, 71)  # above the band
        _section_melody(song, section, part, motif, home, lift[section.kind], accompaniment)
    return _rests(part, song)


def _vary(motif: Motif, rng: np.random.Generator, beats: int) -> Motif:
    rhythm = list(motif.rhythm)
    if len(rhythm) >= 2 and rng.random() < 0.5:  # split or join one note
        i = int(rng.integers(len(rhythm)))
        onset, length = rhythm[i]
        if length >= 1.0:
            rhythm[i:i + 1] = [(onset, length / 2), (onset + length / 2, length / 2)]
    steps = list(motif.steps) + [motif.steps[-1] + 1] * (len(rhythm) - len(motif.steps))
    steps = steps[:len(rhythm)]
    return Motif(rhythm=rhythm, steps=steps)


def _section_melody(song: Song, section: Section, part: Part, motif: Motif, home: int,
                    lift: int, accompaniment: Accompaniment) -> None:
    character, rng, beats = song.character, song.rng, song.beats_per_bar
    scale_steps = MODES[character.mode]
    velocity = base_velocity(section.energy) + 4
    previous = home
    sequence = int(rng.choice([1, 2, -1]))  # how the answer transposes the call
    peak_bar = min(section.bars - 1, max(1, int(round(section.bars * 0.6))))
    strong = {0.0, 2.0} if beats == 4 else {0.0}

    def degree_pitch(degree: int) -> int:
        return home + scale_steps[degree % 7] + 12 * (degree // 7)

    for bar in range(section.bars):
        top = (section.start_bar + bar) * beats
        in_phrase = bar % PHRASE_BARS
        phrase = bar // PHRASE_BARS
        final_bar = bar == section.bars - 1
        if section.kind == "intro" and bar < section.bars // 2:
            continue
        if section.kind == "ending" and final_bar:
            chord = section.chords[bar][-1]
            pitch = nearest_pitch(chord.root, previous, home - 5, home + 12)
            part.add(pitch, top, beats - 0.1, velocity - 6)
            continue
        # The arch: rise toward the section's peak bar, settle toward the cadence.
        arc = int(round(3 * (1 - abs(bar - peak_bar) / max(peak_bar, section.bars - peak_bar))))
        anchor = lift + arc + (phrase % 2) * (1 if section.kind == "chorus" else 0)
        if in_phrase == PHRASE_BARS - 1 or final_bar:
            rhythm = _cadence_rhythm(rng, beats)
            steps = [0, -1][:len(rhythm)] if len(rhythm) > 1 else [0]
            if len(rhythm) > 1:
                steps = [1, 0]
        elif in_phrase == 1:  # the answer: the call moved, a breath at its end
            rhythm = [(o, min(d, beats - 1 - o)) for o, d in motif.rhythm if o < beats - 1]
            if not rhythm:
                rhythm = [(0.0, beats - 1.0)]
            steps = [s + sequence for s in motif.steps][:len(rhythm)]
        elif in_phrase == 2:  # development: the call inverted or in a new rhythm
            if rng.random() < 0.5:
                rhythm = motif.rhythm
                steps = [-s for s in motif.steps]
            else:
                rhythm = _rhythm(rng, beats, min(1.0, len(motif.rhythm) / 6 + 0.1), False)
                steps = [motif.steps[i % len(motif.steps)] for i in range(len(rhythm))]
        else:
            rhythm, steps = motif.rhythm, motif.steps
        for (onset, length), step in zip(rhythm, steps, strict=False):
            start = top + onset
            _, chord_end, chord = song.chord_at(section, bar, onset)
            pitch = degree_pitch(anchor + step)
            while pitch - previous > 9:
                pitch -= 12
            while previous - pitch > 9:
                pitch += 12
            pitch = int(np.clip(pitch, home - 7, home + 19))
            sounding = accompaniment.sounding(start) | set(chord.triad)
            on_strong = onset in strong or length >= 1.5
            pitch = _fit(pitch, chord, sounding, on_strong, song.scale(section))
            length = min(length, chord_end - start) - 0.06
            accent = 6.0 if onset in strong else (2.0 if onset == int(onset) else -2.0)
            contour = 0.5 * (pitch - home)
            if "chirp" in character.figures and length >= 1.0 and onset > 0 and \
                    rng.random() < 0.4:
                grace = _fit(pitch + 2, chord, accompaniment.sounding(start - 0.125), False,
                             song.scale(section))
                part.add(grace, start - 0.125, 0.1, velocity - 10)
            part.add(pitch, start, length, velocity + accent + contour + rng.normal(0, 3))
            previous = pitch


def _cadence_rhythm(rng: np.random.Generator, beats: int) -> list[tuple[float, float]]:
    """The phrase's last bar: a pickup or not, then a long note, then at least a beat of rest."""
    if beats == 3:
        return [(0.0, 2.0)]
    options = [[(0.0, 2.5)], [(0.0, 1.0), (1.0, 2.0)], [(0.0, 0.5), (0.5, 2.0)]]
    return options[int(rng.integers(len(options)))]


def _fit(pitch: int, chord: Chord, sounding: set[int], on_strong: bool,
         scale: list[int]) -> int:
    """Move a pitch to the nearest acceptable note: a chord tone on strong beats, any scale
    tone elsewhere, never a semitone against what the other parts hold."""
    def acceptable(candidate: int) -> bool:
        pitch_class = candidate % 12
        if _clashes(pitch_class, sounding):
            return False
        if on_strong:
            return pitch_class in chord.pitch_classes
        return pitch_class in scale
    for distance in range(0, 7):
        for candidate in (pitch - distance, pitch + distance):
            if acceptable(candidate):
                return candidate
    return nearest_pitch(chord.root, pitch, pitch - 6, pitch + 6)


def _rests(part: Part, song: Song) -> list[tuple[float, float]]:
    """Gaps of a beat or more between melody notes (and before its first note of a section)."""
    notes = sorted(part.notes, key=lambda n: n.start)
    rests = []
    for current, following in zip(notes, notes[1:], strict=False):
        gap_start = current.start + current.length
        if following.start - gap_start >= 1.0:
            rests.append((gap_start, following.start))
    return rests


# -- drums ----------------------------------------------------------------------------------

# Per family: the backbeat voice, the time-keeper, and kick patterns (16th steps) per level.
DRUM_FAMILIES = {
    "backbeat": {"back": "snare", "time": "closed_hat", "light_back": "side_stick",
                 "kicks": [[[0, 8]], [[0, 8, 10], [0, 6, 8], [0, 8, 11]],
                           [[0, 6, 8, 10], [0, 3, 8, 10], [0, 8, 10, 14]]]},
    "boombap": {"back": "snare", "time": "closed_hat", "light_back": "side_stick",
                "kicks": [[[0, 10]], [[0, 7, 10], [0, 3, 10], [0, 7, 9]],
                          [[0, 7, 10, 11], [0, 3, 7, 10], [0, 6, 10, 13]]]},
    "four": {"back": "clap", "time": "closed_hat", "light_back": "clap",
             "kicks": [[[0, 8]], [[0, 4, 8, 12]], [[0, 4, 8, 12], [0, 4, 8, 12, 14]]]},
    "folk": {"back": "side_stick", "time": "tambourine", "light_back": "side_stick",
             "kicks": [[[0]], [[0, 8], [0, 6, 8]], [[0, 8, 10], [0, 6, 8, 14]]]},
    "pulse": {"back": "side_stick", "time": "shaker", "light_back": "side_stick",
              "kicks": [[[0]], [[0, 10], [0, 8]], [[0, 8, 10], [0, 6, 10]]]},
    "cinematic": {"back": "snare", "time": "ride", "light_back": "floor_tom",
                  "kicks": [[[0]], [[0, 6], [0, 3, 8]], [[0, 3, 6, 8, 11], [0, 6, 8, 11, 14]]]},
}
LEVEL = {"intro": 0, "verse": 1, "chorus": 2, "bridge": 0, "ending": 1}


def write_drums(song: Song, part: Part) -> None:
    character, rng, beats = song.character, song.rng, song.beats_per_bar
    family = DRUM_FAMILIES[character.profile.drum_family]
    steps = beats * 4
    for index, section in enumerate(song.sections):
        level = LEVEL[section.kind]
        if section.kind == "verse" and section.occurrence and level < 2 and \
                section.energy > 0.6:
            level = 2
        part.plays[index] = {0: "light", 1: "groove", 2: "full groove"}[level]
        if section.kind == "intro" and character.style in (Style.ambient, Style.cinematic):
            part.plays[index] = "swells"
        # Soft styles keep the kit behind the band (brushes, not sticks).
        velocity = base_velocity(section.energy) - {"pulse": 12, "folk": 8}.get(
            character.profile.drum_family, 0)
        kick_options = family["kicks"][level]
        kicks = kick_options[int(rng.integers(len(kick_options)))]
        variant = kick_options[int(rng.integers(len(kick_options)))]
        following = song.sections[index + 1] if index + 1 < len(song.sections) else None
        # Ghost notes: soft snare touches, a pattern per section (denser in a busy picture),
        # one more at the end of each phrase.
        ghost_chance = 0.08 + 0.15 * character.density
        ghosts = [step for step in range(1, steps, 2) if rng.random() < ghost_chance]
        phrase_ghost = int(rng.choice(range(9, steps, 2)))
        for bar in range(section.bars):
            top = (section.start_bar + bar) * beats
            in_phrase = bar % PHRASE_BARS
            last_bar = bar == section.bars - 1

            def hit(name: str, step: float, vel: float, top: float = top) -> None:
                part.add(GM_DRUMS[name], top + step / 4.0, 0.25, vel + rng.normal(0, 4))

            if section.kind == "ending" and last_bar:
                hit("crash", 0, velocity + 8)
                hit("kick", 0, velocity + 6)
                continue
            if bar == 0 and (section.kind != "intro" or level > 0) and index > 0:
                hit("crash", 0, velocity + 6)
            if part.plays[index] == "swells":  # a cymbal breathing in, nothing else
                if in_phrase == PHRASE_BARS - 1:
                    for step in range(0, steps, 2):
                        hit("ride", step, velocity - 30 + 2.5 * step)
                continue
            if section.kind == "intro" and bar < section.bars // 2:
                for step in range(0, steps, 4):
                    hit(family["time"], step, velocity - 22)
                continue
            bar_kicks = [k for k in (variant if in_phrase == PHRASE_BARS - 1 else kicks)
                         if k < steps]
            if beats == 3:
                bar_kicks = [0] + ([6] if level >= 1 else [])
            fill_beats = 0
            if last_bar and following is not None:
                fill_beats = 2 if section.builds else (1 if section.bars >= 4 else 0)
            fill_from = steps - 4 * fill_beats
            for step in bar_kicks:
                if step < fill_from:
                    hit("kick", step, velocity + 4 - (4 if step % 4 else 0))
            half_time = section.kind == "bridge"
            back = family["back"] if level >= 1 else family["light_back"]
            back_steps = ([8] if half_time else [4, 12]) if beats == 4 else [4, 8]
            for step in back_steps:
                if step < fill_from:
                    hit(back, step, velocity - (2 if level else 10))
            # Time-keeper: eighths (sixteenths in a full electronic or rainy groove).
            sixteenths = level == 2 and (character.profile.drum_family == "four"
                                         or "flow" in character.figures[:1])
            spacing = 1 if sixteenths else 2
            time_voice = family["time"]
            if level == 2 and character.profile.drum_family in ("backbeat", "cinematic"):
                time_voice = "ride" if section.occurrence % 2 else time_voice
            for step in range(0, fill_from, spacing):
                on_beat = step % 4 == 0
                open_now = (level >= 1 and in_phrase == PHRASE_BARS - 1
                            and step == steps - 2 and fill_beats == 0)
                voice = "open_hat" if open_now else time_voice
                if character.profile.drum_family == "four" and step % 4 == 2 and level >= 1:
                    voice = "open_hat"
                hit(voice, step, velocity - (14 if on_beat else 24))
            if level >= 1 and family["back"] == "snare":
                extra = [phrase_ghost] if in_phrase == PHRASE_BARS - 1 else []
                for step in ghosts + extra:
                    if step < fill_from:
                        hit("snare", step, 30)
            if "chatter" in character.figures and level == 2 and beats == 4:
                for step in (6, 14):
                    if step < fill_from:
                        hit("tambourine" if family["time"] != "tambourine" else "clap",
                            step, velocity - 16)
            if fill_beats:
                _fill(section, following, hit, fill_from, steps, velocity, rng,
                      character.profile.drum_family)


def _fill(section: Section, following: Section, hit, fill_from: int, steps: int,
          velocity: float, rng: np.random.Generator, family: str) -> None:
    """The last beat or two before a new section: a build on the snare, a roll round the toms."""
    toms = ["high_tom", "mid_tom", "low_tom", "floor_tom"]
    length = steps - fill_from
    if section.builds and family in ("backbeat", "four", "boombap"):
        for i, step in enumerate(range(fill_from, steps)):
            if i % 2 == 0 or i >= length // 2:
                hit("snare", step, velocity - 12 + 22 * i / max(1, length - 1))
        hit("kick", fill_from, velocity)
        return
    pattern = int(rng.integers(3))
    for i, step in enumerate(range(fill_from, steps)):
        if pattern == 0:
            voice = toms[min(3, i * 4 // length)]
        elif pattern == 1:
            voice = "snare" if i % 2 == 0 else toms[(i // 2) % 4]
        else:
            voice = toms[min(3, i * 4 // length)] if i % 3 else "snare"
        if pattern == 1 and i % 4 == 3:
            continue
        hit(voice, step, velocity - 10 + 16 * i / max(1, length - 1))
    if following.energy < section.energy - 0.2:  # into a drop: a last kick, then air
        hit("kick", steps - 2, velocity - 6)
