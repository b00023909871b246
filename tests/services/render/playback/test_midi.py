"""Uploaded MIDI: limits with clear errors, and roles from channel 10 / GM program families."""

from __future__ import annotations

import pretty_midi
import pytest

from imagewave.contracts.scene import Role
from imagewave.errors import InvalidMidi
from services.render.playback.midi import assign_track_roles, load_midi
from tests.services.render.conftest import midi_bytes, single_notes_midi


def band() -> pretty_midi.PrettyMIDI:
    midi = pretty_midi.PrettyMIDI()
    for program, is_drum in ((0, False), (25, False), (33, False), (0, True), (48, False)):
        track = pretty_midi.Instrument(program=program, is_drum=is_drum)
        track.notes.append(pretty_midi.Note(velocity=90, pitch=60, start=0.0, end=0.5))
        midi.instruments.append(track)
    return midi


def test_roles_from_gm_programs_and_drum_channel():
    roles = assign_track_roles(load_midi(midi_bytes(band()), max_notes=100, max_seconds=60), {})
    assert roles == {0: Role.keyboard, 1: Role.guitar, 2: Role.bass, 3: Role.drums,
                     4: Role.keyboard}


def test_overrides_win_and_bad_indices_are_named():
    midi = load_midi(midi_bytes(band()), max_notes=100, max_seconds=60)
    assert assign_track_roles(midi, {4: Role.guitar, 0: Role.bass})[4] is Role.guitar
    with pytest.raises(InvalidMidi, match=r"track\(s\) \[7\]") as error:
        assign_track_roles(midi, {7: Role.bass})
    assert error.value.field == "role_overrides"


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"RIFF0000WAVE", "not a Standard MIDI File"),
    (b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01", "could not be parsed"),
])
def test_broken_files_get_clear_errors(data, message):
    with pytest.raises(InvalidMidi, match=message) as error:
        load_midi(data, max_notes=100, max_seconds=60)
    assert error.value.field == "midi"


def test_limits_on_notes_and_length():
    notes = [(60 + i % 12, i * 0.1, i * 0.1 + 0.1) for i in range(50)]
    data = midi_bytes(single_notes_midi(notes))
    assert len(load_midi(data, max_notes=50, max_seconds=10).instruments[0].notes) == 50
    with pytest.raises(InvalidMidi, match="50 notes, more than the limit of 49"):
        load_midi(data, max_notes=49, max_seconds=10)
    with pytest.raises(InvalidMidi, match="longer than the limit of 4 s"):
        load_midi(data, max_notes=50, max_seconds=4)


def test_no_notes_is_an_error():
    empty = pretty_midi.PrettyMIDI()
    empty.instruments.append(pretty_midi.Instrument(program=0))
    with pytest.raises(InvalidMidi, match="no notes"):
        load_midi(midi_bytes(empty), max_notes=10, max_seconds=10)
