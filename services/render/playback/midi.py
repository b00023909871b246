"""Uploaded MIDI: parse with limits (`imagewave.midi_validation`, the gateway's validator too),
and decide which instrument role plays each track.

A "track" is an entry of `PrettyMIDI.instruments` (pretty_midi splits a file's tracks by channel
and program); `role_overrides` in job options are indexed the same way.
"""

from __future__ import annotations

import pretty_midi

from imagewave.contracts.scene import Role
from imagewave.errors import InvalidMidi
from imagewave.midi_validation import load_midi

__all__ = ["assign_track_roles", "load_midi", "role_for_program"]


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
