"""The form: intro, sections, transitions and an ending, planned for the requested length.

Bars are grouped in four-bar phrases. Songs in a song style (pop, lo-fi, folk, electronic) run
verse / chorus with a bridge before the last choruses; the others (ambient, cinematic) run
A / B / A' with a contrasting C. Each section gets its own progression, its energy (the
arc: quiet intro, building verses, loud choruses, a drop at the bridge, a release at the end)
and the chords of every bar, with cadences closing its phrases.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imagewave.contracts.music import Style
from services.render.arrangement.character import Character
from services.render.arrangement.harmony import CADENCE_DEGREE, PROGRESSIONS, Chord, build_chord

PHRASE_BARS = 4
SONG_STYLES = (Style.pop, Style.lofi, Style.folk, Style.electronic)
# kind → planned energy before the style's range is applied
ENERGY = {"intro": 0.25, "verse": 0.5, "chorus": 0.9, "bridge": 0.35, "ending": 0.3}


@dataclass
class Section:
    kind: str  # intro, verse, chorus, bridge, ending
    name: str  # label shown to people: verse 1, chorus 2, A', ...
    start_bar: int
    bars: int
    energy: float
    occurrence: int  # how many sections of this kind came before
    chords: list[list[Chord]] = field(default_factory=list)  # per bar, one or two chords
    transpose: int = 0  # semitones (a lifted last chorus)
    builds: bool = False  # its last bar builds into a louder section

    @property
    def end_bar(self) -> int:
        return self.start_bar + self.bars


MAX_SECTIONS = 7
# Body forms by section count: song styles, and the others' letter forms (A / B / A' / C).
SONG_FORMS = {1: "V", 2: "VC", 3: "VCC", 4: "VCVC", 5: "VCVBC", 6: "VCVCBC", 7: "VCVCBCC"}
LETTER_FORMS = {1: "V", 2: "VC", 3: "VCV", 4: "VCVC", 5: "VCVBC", 6: "VCVBCV", 7: "VCVCBCC"}
KIND_OF = {"V": "verse", "C": "chorus", "B": "bridge"}


def _section_lengths(body_bars: int) -> list[int]:
    """At most seven sections of whole phrases (8 bars, 4 in short songs; long songs get
    longer sections); leftover bars join the last section."""
    if body_bars <= 0:
        return []
    unit = 8 if body_bars >= 24 else 4
    count = int(np.clip(body_bars // unit, 1, MAX_SECTIONS))
    size = max(unit, (body_bars // count) // 4 * 4)
    lengths = [size] * count
    spare = body_bars - sum(lengths)
    index = count - 1
    while spare >= 4:  # extra phrases go to the later sections first (the climax grows)
        lengths[index] += 4
        spare -= 4
        index = index - 1 if index > 0 else count - 1
    lengths[-1] += spare
    return lengths


def _kinds(count: int, style: Style) -> list[tuple[str, str]]:
    """(kind, label) of each body section."""
    if style in SONG_STYLES:
        kinds = [KIND_OF[c] for c in SONG_FORMS[count]]
        counts: dict[str, int] = {}
        labels = []
        for kind in kinds:
            counts[kind] = counts.get(kind, 0) + 1
            labels.append(f"{kind} {counts[kind]}" if kind != "bridge" else kind)
        if count == 1:
            labels = ["A"]
        return list(zip(kinds, labels, strict=True))
    letters = {"verse": "A", "chorus": "B", "bridge": "C"}
    seen: dict[str, int] = {}
    result = []
    for code in LETTER_FORMS[count]:
        kind = KIND_OF[code]
        result.append((kind, letters[kind] + "'" * seen.get(kind, 0)))
        seen[kind] = seen.get(kind, 0) + 1
    return result


def _progressions(character: Character, rng: np.random.Generator) -> dict[str, tuple[int, ...]]:
    """One progression per section function, all different."""
    pools = PROGRESSIONS[character.mode]
    chosen: dict[str, tuple[int, ...]] = {}
    for kind in ("verse", "chorus", "bridge"):
        options = [p for p in pools[kind] if p not in chosen.values()]
        chosen[kind] = options[int(rng.integers(len(options)))]
    chosen["intro"] = chosen["verse"]
    chosen["ending"] = chosen["chorus"]
    return chosen


def plan_form(character: Character, bars: int, rng: np.random.Generator) -> list[Section]:
    """Sections covering exactly `bars` bars, with chords."""
    style = character.style
    slow_start = style in (Style.ambient, Style.cinematic)
    intro = 0 if bars < 6 else (4 if bars >= 28 or (slow_start and bars >= 16) else 2)
    ending = 0 if bars < 5 else (2 if bars >= 20 else 1)
    body = bars - intro - ending
    plan: list[tuple[str, str, int]] = []
    if intro:
        plan.append(("intro", "intro", intro))
    for (kind, label), length in zip(_kinds(len(_section_lengths(body)), style),
                                     _section_lengths(body), strict=True):
        plan.append((kind, label, length))
    if ending:
        plan.append(("ending", "ending", ending))

    low, high = character.profile.energy
    progressions = _progressions(character, rng)
    sections: list[Section] = []
    start, seen = 0, {}
    chorus_count = sum(kind == "chorus" for kind, _, _ in plan)
    for kind, label, length in plan:
        occurrence = seen.get(kind, 0)
        seen[kind] = occurrence + 1
        planned = ENERGY[kind] + 0.06 * occurrence  # returns grow
        if kind == "chorus" and occurrence == chorus_count - 1:
            planned = 1.0  # the last chorus is the peak
        energy = float(np.clip(low + (high - low) * planned + rng.uniform(-0.03, 0.03), 0, 1))
        section = Section(kind=kind, name=label, start_bar=start, bars=length, energy=energy,
                          occurrence=occurrence)
        if (kind == "chorus" and occurrence == chorus_count - 1 and chorus_count >= 3
                and character.profile.lift_last_chorus):
            section.transpose = 2 if character.mode in ("major", "lydian") else 1
        sections.append(section)
        start += length
    for index, section in enumerate(sections[:-1]):
        section.builds = sections[index + 1].energy > section.energy + 0.15
    for section in sections:
        section.chords = _section_chords(character, section, progressions[section.kind], rng)
    return sections


def _section_chords(character: Character, section: Section, progression: tuple[int, ...],
                    rng: np.random.Generator) -> list[list[Chord]]:
    """Each bar's chords: the progression, varied on repeats, cadences at phrase ends."""
    mode, tonic = character.mode, (character.tonic + section.transpose) % 12
    sevenths = character.profile.sevenths
    minor_like = mode in ("minor", "dorian", "phrygian")
    dramatic = character.style in (Style.cinematic, Style.pop, Style.folk)
    cadence = CADENCE_DEGREE[mode]
    bars: list[list[Chord]] = []

    def chord(degree: int) -> Chord:
        return build_chord(tonic, mode, degree, seventh=sevenths and degree != cadence,
                           major_dominant=minor_like and dramatic)

    if section.kind == "ending":
        closing = [[chord(cadence)], [chord(0)]] if section.bars >= 2 else [[chord(0)]]
        return [[chord(progression[i % 4])] for i in range(section.bars - len(closing))] + closing
    for bar in range(section.bars):
        in_phrase = bar % PHRASE_BARS
        degree = progression[in_phrase]
        # Repeats of a section vary its second phrase's third bar: same road, other view.
        if section.occurrence and bar >= PHRASE_BARS and in_phrase == 2 and rng.random() < 0.6:
            degree = (degree + int(rng.choice([2, 5]))) % 7
        last_of_phrase = in_phrase == PHRASE_BARS - 1 or bar == section.bars - 1
        if last_of_phrase:
            phrase = bar // PHRASE_BARS
            final = bar == section.bars - 1
            if final or phrase % 2 == 1:
                # Authentic cadence: the bar moves to the dominant on its second half.
                first = degree if degree != cadence else (cadence + 6) % 7
                bars.append([chord(first), chord(cadence)])
                continue
            degree = cadence  # half cadence: the first phrase asks
        bars.append([chord(degree)])
    return bars
