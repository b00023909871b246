"""The one MIDI validator: the gateway checks an upload with it, the render service parses with it.

The judge is pretty_midi, the parser the renderer plays from, so a file the gateway accepts is a
file the renderer can play, and both refuse the same files with the same messages.
"""

from __future__ import annotations

import io

import mido
import pretty_midi

from imagewave.errors import InvalidMidi

# Shared default limits; the gateway's and the render service's settings start from these.
MAX_MIDI_NOTES = 50_000
MAX_MIDI_SECONDS = 900.0


def load_midi(data: bytes, *, max_notes: int = MAX_MIDI_NOTES,
              max_seconds: float = MAX_MIDI_SECONDS) -> pretty_midi.PrettyMIDI:
    """Parse a Standard MIDI File; InvalidMidi (field "midi") when it is broken or too big."""
    if not data:
        raise InvalidMidi("midi is empty", field="midi")
    if not data.startswith(b"MThd"):
        raise InvalidMidi(f"midi is not a Standard MIDI File (starts with {data[:4]!r}, "
                          "expected b'MThd')", field="midi")
    try:
        events = mido.MidiFile(file=io.BytesIO(data))
        # Counted on the raw events first: building pretty_midi's notes for a hostile file
        # with millions of them would take seconds; a note needs a note-on, so this bounds it.
        note_ons = sum(1 for track in events.tracks for message in track
                       if message.type == "note_on" and message.velocity > 0)
        if note_ons > max_notes:
            raise InvalidMidi(f"midi has {note_ons} notes, more than the limit of {max_notes}",
                              field="midi")
        midi = pretty_midi.PrettyMIDI(mido_object=events)
    except InvalidMidi:
        raise
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
