"""Preview phrases: a few seconds of MIDI per role, so people hear each new instrument alone.

The pipeline renders each phrase with just that role's instrument (the render service's usual
path) and keeps it as `instruments/<role>/preview.wav`. Phrases are in C major at 110 BPM and
span each role's natural register: chords and a run for keyboard, a root-fifth walk for bass,
strums and a lick for guitar, two bars of a backbeat for drums.
"""

from __future__ import annotations

import io

import pretty_midi

from imagewave.contracts.scene import Role

TEMPO_BPM = 110.0
BEAT_S = 60.0 / TEMPO_BPM
PREVIEW_PROGRAMS = {Role.keyboard: 0, Role.bass: 33, Role.guitar: 25}  # General MIDI

# (start beat, length in beats, MIDI pitches, velocity)
Phrase = list[tuple[float, float, tuple[int, ...], int]]

PHRASES: dict[Role, Phrase] = {
    Role.keyboard: [
        (0, 2, (60, 64, 67), 90), (2, 2, (57, 60, 65), 85),
        (4, 0.5, (67,), 80), (4.5, 0.5, (69,), 80), (5, 0.5, (71,), 85), (5.5, 2.5, (72,), 95),
    ],
    Role.bass: [
        (0, 1, (36,), 100), (1, 1, (43,), 90), (2, 1, (41,), 95), (3, 1, (45,), 90),
        (4, 1, (43,), 95), (5, 1, (38,), 90), (6, 2, (36,), 100),
    ],
    Role.guitar: [
        (0, 1.5, (52, 55, 60, 64), 90), (1.5, 0.5, (52, 55, 60, 64), 70),
        (2, 2, (53, 57, 60, 65), 90),
        (4, 0.5, (64,), 85), (4.5, 0.5, (67,), 85), (5, 0.5, (69,), 90), (5.5, 2.5, (72,), 95),
    ],
    Role.drums: [
        # kick 36, snare 38, closed hat 42: eighth-note hats over a backbeat, two bars
        *[(beat / 2, 0.25, (42,), 70 if beat % 2 else 90) for beat in range(16)],
        (0, 0.5, (36,), 110), (1, 0.5, (38,), 100), (2, 0.5, (36,), 110), (2.5, 0.5, (36,), 90),
        (3, 0.5, (38,), 100), (4, 0.5, (36,), 110), (5, 0.5, (38,), 100), (6, 0.5, (36,), 110),
        (7, 0.5, (38,), 105),
    ],
}


def preview_midi(role: Role) -> bytes:
    """A Standard MIDI File with one track playing `role`'s preview phrase."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=TEMPO_BPM)
    if role is Role.drums:
        track = pretty_midi.Instrument(program=0, is_drum=True, name="drums preview")
    else:
        track = pretty_midi.Instrument(program=PREVIEW_PROGRAMS[role], name=f"{role.value} preview")
    for start_beat, beats, pitches, velocity in PHRASES[role]:
        for pitch in pitches:
            track.notes.append(pretty_midi.Note(velocity=velocity, pitch=pitch,
                                                start=start_beat * BEAT_S,
                                                end=(start_beat + beats) * BEAT_S))
    midi.instruments.append(track)
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()
