"""Generated arrangements: the mood drives tempo, mode and density; a seed fixes everything."""

from __future__ import annotations

import json

import numpy as np
import pytest

from imagewave.contracts.scene import Mood, Role, Scene
from imagewave.errors import InvalidInput
from services.render.arrangement.composer import generate_arrangement, mood_from_scene
from services.render.playback.midi import assign_track_roles
from tests.services.render.conftest import midi_bytes


def scene(mood_description: str, mood: Mood | None = None) -> Scene:
    return Scene(scene_description="a harbour at dusk", mood_description=mood_description,
                 sound_sources=[{"name": "waves", "variants": [{"play_method": "lapping"}]}],
                 mood=mood)


def test_same_seed_same_song_other_seed_other_song():
    first, summary = generate_arrangement(scene("calm"), length_s=20, seed=7)
    again, summary_again = generate_arrangement(scene("calm"), length_s=20, seed=7)
    other, _ = generate_arrangement(scene("calm"), length_s=20, seed=8)
    assert midi_bytes(first) == midi_bytes(again) and summary == summary_again
    assert midi_bytes(first) != midi_bytes(other)


@pytest.mark.parametrize("length_s", [8.0, 30.0, 95.0])
def test_tracks_roles_and_length(length_s):
    midi, summary = generate_arrangement(scene("lively market"), length_s=length_s, seed=1)
    roles = assign_track_roles(midi, {})
    assert sorted(r.value for r in roles.values()) == sorted(
        [Role.keyboard.value, summary["tracks"][1]["role"], Role.bass.value, Role.drums.value])
    melody, chords, bass, drums = midi.instruments
    assert 0 <= melody.program <= 7
    assert 24 <= chords.program <= 31 or 0 <= chords.program <= 7
    assert 32 <= bass.program <= 39
    assert drums.is_drum
    assert all(track.notes for track in midi.instruments)
    assert abs(midi.get_end_time() - length_s) < 0.05 * length_s
    assert min(n.start for t in midi.instruments for n in t.notes) == 0.0
    json.dumps(summary)  # JSON-serialisable as is
    assert {"tempo_bpm", "key", "mode", "chords", "bars"} <= set(summary)
    assert len(summary["chords"]) == summary["bars"]


def test_mood_words_and_numbers_steer_the_music():
    sad, _, source = mood_from_scene(scene("a lonely, melancholic and quiet evening"))
    assert source == "words" and sad < -0.3
    happy, energetic, _ = mood_from_scene(scene("joyful, lively festival"))
    assert happy > 0.3 and energetic > 0.3
    tempos, modes, densities = {}, {}, {}
    for name, mood in (("calm-dark", Mood(valence=-0.8, arousal=-0.8)),
                       ("energetic-bright", Mood(valence=0.8, arousal=0.9))):
        midi, summary = generate_arrangement(scene("ignored", mood), length_s=30, seed=3)
        tempos[name], modes[name] = summary["tempo_bpm"], summary["mode"]
        densities[name] = sum(len(t.notes) for t in midi.instruments) / 30
        assert summary["mood_source"] == "mood"
    assert tempos["energetic-bright"] > tempos["calm-dark"] + 30
    assert modes["calm-dark"] in ("minor", "dorian")
    assert modes["energetic-bright"] in ("major", "lydian")
    assert densities["energetic-bright"] > 2 * densities["calm-dark"]


def test_notes_fit_the_key():
    midi, summary = generate_arrangement(scene("bright sunny"), length_s=30, seed=5)
    from services.render.arrangement.composer import MODES, NOTE_NAMES

    tonic = NOTE_NAMES.index(summary["key"])
    scale = {(tonic + step) % 12 for step in MODES[summary["mode"]]}
    pitched = [n.pitch % 12 for t in midi.instruments if not t.is_drum for n in t.notes]
    assert np.mean([p in scale for p in pitched]) > 0.9


def test_length_is_checked():
    with pytest.raises(InvalidInput, match="length_s"):
        generate_arrangement(scene("calm"), length_s=0.1, seed=0)
