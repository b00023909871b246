"""Generated songs: form, phrases, four roles, dynamics, and a character from the picture.

The properties are measured on the MIDI with `imagewave.music_metrics`, the same module the
benchmark uses, over scenes of different kinds (no expected notes anywhere).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from imagewave.contracts.music import Style
from imagewave.contracts.scene import Mood, Role, Scene, VisualFeatures
from imagewave.errors import InvalidInput
from imagewave.music_metrics import melody_track, symbolic_metrics
from services.render.arrangement.character import mood_from_scene
from services.render.arrangement.composer import generate_arrangement
from services.render.arrangement.harmony import MODES, NOTE_NAMES
from services.render.playback.midi import assign_track_roles
from tests.services.render.conftest import midi_bytes

SOURCES = {
    "harbour": ["waves", "gulls"], "street": ["traffic", "crowd"], "forest": ["birds", "wind"],
    "cafe": ["rain", "voices"], "camp": ["fire", "leaves"], "square": ["bells", "market"],
}


def scene(mood_description: str = "calm", mood: Mood | None = None, *,
          place: str = "harbour", visual: VisualFeatures | None = None) -> Scene:
    return Scene(scene_description=f"a {place} at dusk", mood_description=mood_description,
                 sound_sources=[{"name": name, "variants": [{"play_method": "sounding"}]}
                                for name in SOURCES[place]],
                 mood=mood, visual=visual)


def looks(brightness: float, hue_deg: float, *, saturation: float = 0.5, warmth: float = 0.0,
          contrast: float = 0.4, busyness: float = 0.3) -> VisualFeatures:
    return VisualFeatures(brightness=brightness, warmth=warmth, saturation=saturation,
                          contrast=contrast, busyness=busyness, hue_deg=hue_deg)


# A spread of pictures: light and dark, calm and busy, every colour.
PICTURES = [
    scene("serene", Mood(valence=0.5, arousal=-0.7), place="harbour", visual=looks(0.7, 200)),
    scene("bustling", Mood(valence=0.2, arousal=0.8), place="street",
          visual=looks(0.3, 30, busyness=0.6)),
    scene("gentle", Mood(valence=0.6, arousal=-0.2), place="forest",
          visual=looks(0.55, 110, warmth=0.1)),
    scene("melancholic", Mood(valence=-0.6, arousal=-0.4), place="cafe",
          visual=looks(0.25, 230, saturation=0.2, warmth=-0.1)),
    scene("cozy", Mood(valence=0.5, arousal=-0.5), place="camp",
          visual=looks(0.35, 20, warmth=0.3)),
    scene("festive", Mood(valence=0.8, arousal=0.7), place="square",
          visual=looks(0.65, 50, saturation=0.7, contrast=0.7)),
]


def test_same_scene_and_seed_same_song_other_seed_other_notes():
    first, summary = generate_arrangement(PICTURES[0], length_s=40, seed=7)
    again, summary_again = generate_arrangement(PICTURES[0], length_s=40, seed=7)
    other, _ = generate_arrangement(PICTURES[0], length_s=40, seed=8)
    assert midi_bytes(first) == midi_bytes(again) and summary == summary_again
    assert midi_bytes(first) != midi_bytes(other)


@pytest.mark.parametrize("length_s", [8.0, 30.0, 95.0])
def test_four_roles_play_and_the_song_fills_its_length(length_s):
    for picture in PICTURES[:3]:
        midi, summary = generate_arrangement(picture, length_s=length_s, seed=1)
        roles = assign_track_roles(midi, {})
        for role in Role:  # every role has notes, every song
            assert any(midi.instruments[i].notes for i, r in roles.items() if r is role), role
        assert [t.role for t in summary.tracks] == [roles[i] for i in range(len(roles))]
        assert abs(midi.get_end_time() - length_s) < 0.05 * length_s
        assert min(n.start for t in midi.instruments for n in t.notes) == 0.0
        json.dumps(summary.model_dump(mode="json"))
        assert len(summary.chords) == summary.bars == len(summary.progression_degrees)


def test_the_form_has_sections_phrases_and_an_ending():
    for picture in PICTURES:
        _, summary = generate_arrangement(picture, length_s=120, seed=0)
        sections = summary.sections
        assert sections[0].kind == "intro" and sections[-1].kind == "ending"
        bar = 0
        for section in sections:  # contiguous, covering every bar, times increasing
            assert section.start_bar == bar and section.start_s < section.end_s
            assert section.phrase_end_s == sorted(section.phrase_end_s)
            assert section.start_s < section.phrase_end_s[0]
            assert abs(section.phrase_end_s[-1] - section.end_s) < 1e-3
            assert set(section.parts) == set(Role) or section.kind in ("intro", "ending")
            bar += section.bars
        assert bar == summary.bars
        body = [s for s in sections if s.kind not in ("intro", "ending")]
        assert len(body) >= 3 and len({s.kind for s in body}) >= 2
        # More than one progression, and the louder sections are planned louder.
        by_kind = {s.kind: tuple(s.chords[:4]) for s in body}
        assert len(set(by_kind.values())) >= 2
        assert max(s.energy for s in body) - min(s.energy for s in sections) >= 0.25
        assert sections[-1].chords[-1].startswith(summary.key)  # home at the end


def _section_notes(midi, summary, section, track_name=None):
    return [n for t in midi.instruments if track_name in (None, t.name)
            for n in t.notes if section.start_s <= n.start < section.end_s]


def test_sections_differ_in_dynamics_density_and_register():
    for picture in PICTURES:
        midi, summary = generate_arrangement(picture, length_s=120, seed=0)
        body = [s for s in summary.sections if s.kind in ("verse", "chorus")]
        verse = next(s for s in body if s.kind == "verse")
        chorus = next(s for s in body if s.kind == "chorus")
        loud = np.mean([n.velocity for n in _section_notes(midi, summary, chorus)])
        soft = np.mean([n.velocity for n in _section_notes(midi, summary, verse)])
        assert loud > soft + 5, (summary.style, loud, soft)
        high = np.mean([n.pitch for n in _section_notes(midi, summary, chorus, "melody")])
        low = np.mean([n.pitch for n in _section_notes(midi, summary, verse, "melody")])
        assert high > low, (summary.style, high, low)
        rates = [len(_section_notes(midi, summary, s)) / (s.end_s - s.start_s)
                 for s in summary.sections]
        assert max(rates) > 1.5 * min(rates)


def test_songs_have_phrases_rests_grooves_and_no_clashes():
    """The issue's medians, on every picture: harmony, drums, dynamics, rests, clashes."""
    metrics = [symbolic_metrics(generate_arrangement(p, length_s=120, seed=0)[0])
               for p in PICTURES]
    assert np.median([m.distinct_harmony_bars for m in metrics]) >= 6
    assert np.median([m.distinct_drum_bars_ratio for m in metrics]) >= 0.25
    assert np.median([m.velocity_std for m in metrics]) >= 10
    assert np.median([m.melody_rest_bar_ratio for m in metrics]) >= 0.15
    assert max(m.melody_clash_ratio for m in metrics) <= 0.10
    assert min(m.density_variation for m in metrics) > 0.2


def test_strong_beats_of_the_melody_sit_on_the_bars_chord():
    midi, summary = generate_arrangement(PICTURES[2], length_s=60, seed=3)
    melody = melody_track(midi)
    beat_s = 60.0 / summary.tempo_bpm
    bar_s = summary.beats_per_bar * beat_s
    on_chord = []
    for note in melody.notes:
        bar = int(round(note.start / bar_s, 3))
        near_downbeat = abs(note.start - bar * bar_s) < 0.04
        if near_downbeat and bar < summary.bars - 2:  # the ending slows down
            chord = summary.chords[bar]
            root = NOTE_NAMES.index(chord[:2] if chord[1:2] == "b" else chord[:1])
            on_chord.append(note.pitch % 12 in _chord_classes(root, chord))
    assert len(on_chord) >= 5 and np.mean(on_chord) >= 0.9


def _chord_classes(root: int, name: str) -> set[int]:
    quality = name[2:] if name[1:2] == "b" else name[1:]
    third = 3 if quality.startswith("m") and not quality.startswith("maj") else 4
    fifth = 6 if "dim" in quality or "b5" in quality else 7
    sevenths = {"maj7": 11, "7": 10, "m7": 10, "m7b5": 10, "mMaj7": 11}
    classes = {root, (root + third) % 12, (root + fifth) % 12}
    if quality in sevenths:
        classes.add((root + sevenths[quality]) % 12)
    return classes


def test_notes_fit_the_key():
    for picture in PICTURES:
        midi, summary = generate_arrangement(picture, length_s=30, seed=5)
        tonic = NOTE_NAMES.index(summary.key)
        scale = {(tonic + step) % 12 for step in MODES[summary.mode]}
        pitched = [n.pitch % 12 for t in midi.instruments if not t.is_drum for n in t.notes]
        # Leading tones of minor cadences and the bass's chromatic approaches stay few.
        assert np.mean([p in scale for p in pitched]) > 0.85, summary.mode


def test_the_picture_not_the_seed_sets_the_character():
    summaries = [generate_arrangement(p, length_s=60, seed=0)[1] for p in PICTURES]
    assert len({(s.key, s.mode) for s in summaries}) >= 4
    assert len({round(s.tempo_bpm) for s in summaries}) >= 5
    assert len({s.style for s in summaries}) >= 3
    calm, busy = summaries[0], summaries[1]
    assert busy.tempo_bpm > calm.tempo_bpm + 15
    # Other seeds of one picture keep its style and mode; tempo moves a little at most.
    for picture, first in zip(PICTURES[:3], summaries[:3], strict=True):
        for seed in (1, 2, 3):
            other = generate_arrangement(picture, length_s=60, seed=seed)[1]
            assert other.style == first.style and other.meter == first.meter
            assert abs(other.tempo_bpm - first.tempo_bpm) < 6
    dark = generate_arrangement(scene("gloomy", Mood(valence=-0.8, arousal=-0.3),
                                      visual=looks(0.15, 240, saturation=0.2, warmth=-0.2)),
                                length_s=30, seed=0)[1]
    bright = generate_arrangement(scene("joyful", Mood(valence=0.8, arousal=0.3),
                                        visual=looks(0.8, 50, warmth=0.2)),
                                  length_s=30, seed=0)[1]
    assert dark.mode in ("minor", "phrygian", "dorian")
    assert bright.mode in ("major", "lydian")


def test_a_requested_style_is_played():
    for style in Style:
        midi, summary = generate_arrangement(PICTURES[3], length_s=45, seed=2, style=style)
        assert summary.style is style
        assert summary.tempo_bpm > 50
    ambient = generate_arrangement(PICTURES[3], length_s=60, seed=2, style=Style.ambient)[0]
    electronic = generate_arrangement(PICTURES[3], length_s=60, seed=2,
                                      style=Style.electronic)[0]
    assert sum(len(t.notes) for t in electronic.instruments) > 1.5 * sum(
        len(t.notes) for t in ambient.instruments)


def test_mood_words_when_there_are_no_numbers():
    sad, _, source = mood_from_scene(scene("a lonely, melancholic and quiet evening"))
    assert source == "words" and sad < -0.3
    happy, energetic, _ = mood_from_scene(scene("joyful, lively festival"))
    assert happy > 0.3 and energetic > 0.3
    # Without pixel statistics, the words still make a song.
    midi, summary = generate_arrangement(scene("joyful, lively festival"), length_s=20, seed=0)
    assert summary.mood_source == "words" and all(t.notes for t in midi.instruments)


def test_length_is_checked():
    with pytest.raises(InvalidInput, match="length_s"):
        generate_arrangement(scene("calm"), length_s=0.1, seed=0)
