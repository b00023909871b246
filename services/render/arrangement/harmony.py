"""Scales, chords and progressions: the harmonic vocabulary of the composer.

Progressions are written in scale degrees (0 = tonic), four bars each, in pools per section
function: a verse wanders, a chorus leans on the strong chords, a bridge starts away from home.
A phrase ends on a cadence: the half cadence (ending on V) asks, the authentic one (V → I)
answers.
"""

from __future__ import annotations

from dataclasses import dataclass

NOTE_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
MODES: dict[str, tuple[int, ...]] = {
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "major": (0, 2, 4, 5, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
}
# Brightest to darkest: the mode a picture's light and mood land on.
MODES_BY_BRIGHTNESS = ("lydian", "major", "mixolydian", "dorian", "minor", "phrygian")

Progression = tuple[int, int, int, int]
# Per mode and section function, four-bar progressions (one chord per bar).
PROGRESSIONS: dict[str, dict[str, tuple[Progression, ...]]] = {
    "major": {
        "verse": ((0, 5, 3, 4), (0, 3, 0, 4), (0, 4, 5, 3), (0, 5, 1, 4), (0, 2, 3, 4)),
        "chorus": ((3, 4, 0, 5), (0, 4, 5, 3), (3, 0, 4, 5), (5, 3, 0, 4), (0, 3, 5, 4)),
        "bridge": ((5, 3, 5, 4), (1, 4, 2, 5), (3, 5, 1, 4), (2, 5, 3, 4)),
    },
    "lydian": {
        "verse": ((0, 1, 0, 4), (0, 1, 5, 4), (0, 4, 1, 0)),
        "chorus": ((0, 1, 4, 5), (5, 1, 0, 4), (0, 2, 1, 4)),
        "bridge": ((5, 4, 1, 1), (2, 1, 5, 4), (3, 1, 2, 4)),
    },
    "mixolydian": {
        "verse": ((0, 6, 3, 0), (0, 3, 6, 3), (0, 4, 6, 3)),
        "chorus": ((6, 3, 0, 0), (3, 6, 0, 4), (0, 6, 3, 4)),
        "bridge": ((5, 6, 3, 4), (1, 3, 6, 4), (3, 4, 6, 6)),
    },
    "dorian": {
        "verse": ((0, 3, 0, 3), (0, 6, 3, 0), (0, 2, 3, 6)),
        "chorus": ((2, 3, 0, 6), (3, 6, 0, 4), (5, 3, 0, 6)),
        "bridge": ((6, 3, 4, 4), (1, 2, 3, 4), (5, 6, 3, 4)),
    },
    "minor": {
        "verse": ((0, 5, 2, 6), (0, 3, 0, 4), (0, 6, 5, 6), (0, 5, 3, 4)),
        "chorus": ((5, 2, 6, 0), (3, 6, 2, 5), (5, 6, 0, 4), (2, 6, 5, 4)),
        "bridge": ((3, 4, 5, 4), (5, 3, 2, 6), (1, 4, 0, 4), (3, 2, 1, 4)),
    },
    "phrygian": {
        "verse": ((0, 1, 0, 6), (0, 1, 2, 1), (0, 6, 5, 1)),
        "chorus": ((5, 1, 0, 0), (2, 1, 6, 0), (5, 6, 1, 0)),
        "bridge": ((3, 2, 1, 1), (5, 4, 3, 1), (2, 3, 1, 6)),
    },
}
# The chord degree that closes a phrase: V where the mode has one worth leaning on.
CADENCE_DEGREE = {"major": 4, "lydian": 1, "mixolydian": 6, "dorian": 3, "minor": 4,
                  "phrygian": 1}


@dataclass(frozen=True)
class Chord:
    """A chord as pitch classes; `tones` root first, then third, fifth and any extension."""

    degree: int
    root: int  # pitch class
    tones: tuple[int, ...]  # pitch classes, root first
    name: str

    @property
    def pitch_classes(self) -> frozenset[int]:
        return frozenset(self.tones)

    @property
    def triad(self) -> tuple[int, ...]:
        return self.tones[:3]


def scale_pitch_classes(tonic: int, mode: str) -> tuple[int, ...]:
    return tuple((tonic + step) % 12 for step in MODES[mode])


def build_chord(tonic: int, mode: str, degree: int, *, seventh: bool = False,
                major_dominant: bool = False) -> Chord:
    """The diatonic chord on `degree`; `major_dominant` raises V's third in minor modes
    (the leading tone that makes a cadence land)."""
    scale = MODES[mode]
    steps = (0, 2, 4, 6) if seventh else (0, 2, 4)
    tones = [(tonic + scale[(degree + step) % 7]) % 12 for step in steps]
    if major_dominant and degree == 4 and (tones[1] - tones[0]) % 12 == 3:
        tones[1] = (tones[1] + 1) % 12
    return Chord(degree=degree % 7, root=tones[0], tones=tuple(tones), name=chord_name(tones))


def chord_name(tones: list[int] | tuple[int, ...]) -> str:
    root = tones[0] % 12
    third = (tones[1] - root) % 12
    fifth = (tones[2] - root) % 12
    quality = {(4, 7): "", (3, 7): "m", (3, 6): "dim", (4, 8): "aug"}.get((third, fifth), "")
    if len(tones) > 3:
        seventh = (tones[3] - root) % 12
        quality = {("", 11): "maj7", ("", 10): "7", ("m", 10): "m7", ("m", 11): "mMaj7",
                   ("dim", 10): "m7b5", ("dim", 9): "dim7"}.get((quality, seventh),
                                                                quality + "7")
    return NOTE_NAMES[root] + quality


def nearest_pitch(pitch_class: int, target: int, low: int, high: int) -> int:
    """The pitch of `pitch_class` closest to `target` inside [low, high]."""
    below = target - (target - pitch_class) % 12
    candidates = [p for p in (below - 12, below, below + 12, below + 24) if low <= p <= high]
    if not candidates:  # the window is narrower than an octave and misses the class
        return min(range(low, high + 1), key=lambda p: (abs(p % 12 - pitch_class), p))
    return min(candidates, key=lambda p: (abs(p - target), p))


def voice_chord(chord: Chord, previous: list[int] | None, *, low: int, high: int,
                size: int) -> list[int]:
    """A close voicing of `size` notes in [low, high], moving as little as possible from
    `previous` (voice leading): each voice takes the nearest chord tone, the set stays spread."""
    tones = list(chord.tones) + list(chord.tones)
    tones = tones[:size]
    if previous is None or len(previous) != size:
        centre = (low + high) // 2 - 4
        pitches, floor = [], centre - 6
        for tone in tones:
            pitch = nearest_pitch(tone, floor + 3, floor, high)
            pitches.append(pitch)
            floor = pitch + 1
        return sorted(pitches)
    best, best_cost = None, None
    for rotation in range(len(chord.tones)):
        order = tones[rotation:] + tones[:rotation]
        candidate = sorted(nearest_pitch(tone, target, low, high)
                           for tone, target in zip(order, previous, strict=True))
        cost = sum(abs(a - b) for a, b in zip(candidate, previous, strict=True))
        cost += 6 * (len(set(candidate)) < size)  # doubled notes sound thin
        if best_cost is None or cost < best_cost:
            best, best_cost = candidate, cost
    return best
