"""Uploaded MIDI: parse with limits, and decide which instrument role plays each track.

A "track" is an entry of `PrettyMIDI.instruments` (pretty_midi splits a file's tracks by channel
and program); `role_overrides` in job options are indexed the same way.
"""

from __future__ import annotations

import io

import pretty_midi

from imagewave.contracts.scene import Role
from imagewave.errors import InvalidMidi


def load_midi(data: bytes, *, max_notes: int, max_seconds: float) -> pretty_midi.PrettyMIDI:
    """Parse a Standard MIDI File; InvalidMidi (field "midi") when it is broken or too big."""
    if not data:
        raise InvalidMidi("midi is empty", field="midi")
    if not data.startswith(b"MThd"):
        raise InvalidMidi(f"midi is not a Standard MIDI File (starts with {data[:4]!r}, "
                          "expected b'MThd')", field="midi")
    try:
        midi = pretty_midi.PrettyMIDI(io.BytesIO(data))
    except Exception as exc:  # mido/pretty_midi raise many types for broken files
        raise InvalidMidi(f"midi could not be parsed: {type(exc).__name__}: {exc}",
                          field="midi") from exc
    notes = sum(len(track.notes) for track in midi.instruments)
    if notes == 0:
        raise InvalidMidi("midi has no notes", field="midi")
    if notes > max_notes:
        raise InvalidMidi(f"midi has {notes} notes, more than the limit of {max_notes}",
                          field="midi")
    end_s = midi.get_end_time()
    if end_s > max_seconds:
        raise InvalidMidi(f"midi lasts {end_s:.1f} s, longer than the limit of {max_seconds:g} s",
                          field="midi")
    return midi


def role_for_program(program: int, is_drum: bool) -> Role:
    """General MIDI families: drums on channel 10, guitars 24-31, basses 32-39, else keyboard."""
    if is_drum:
        return Role.drums
    if 24 <= program <= 31:
        return Role.guitar
    if 32 <= program <= 39:
        return Role.bass
    return Role.keyboard


def assign_track_roles(midi: pretty_midi.PrettyMIDI,
                       overrides: dict[int, Role] | None = None) -> dict[int, Role]:
    """Role per track index; `overrides` (track index → role) win over the GM program map."""
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(range(len(midi.instruments))))
    if unknown:
        raise InvalidMidi(f"role_overrides names track(s) {unknown}, but the midi has "
                          f"{len(midi.instruments)} track(s) (0..{len(midi.instruments) - 1})",
                          field="role_overrides")
    roles = {index: role_for_program(track.program, track.is_drum)
             for index, track in enumerate(midi.instruments)}
    roles.update({index: Role(role) for index, role in overrides.items()})
    return roles
