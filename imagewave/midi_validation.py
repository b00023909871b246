"""The one MIDI validator: the gateway checks an upload with it, the render service parses with it.

The judge is pretty_midi, the parser the renderer plays from, so a file the gateway accepts is a
file the renderer can play, and both refuse the same files with the same messages.
"""

from __future__ import annotations

import io
import struct

import mido
import pretty_midi

from imagewave.errors import InvalidMidi

# Shared default limits; the gateway's and the render service's settings start from these.
MAX_MIDI_NOTES = 50_000
MAX_MIDI_SECONDS = 900.0
# Events of every kind (notes on and off, controllers, meta): bounds the full parse's cost, which
# is a few microseconds of Python per event, before it starts.
MAX_MIDI_EVENTS = 200_000


def _vlq(data: bytes, i: int, end: int) -> tuple[int, int]:
    value = 0
    while i < end:
        byte = data[i]
        i += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, i
    raise InvalidMidi("midi is truncated inside a variable-length number", field="midi")


def prescan(data: bytes, *, max_notes: int = MAX_MIDI_NOTES,
            max_events: int = MAX_MIDI_EVENTS) -> None:
    """A cheap walk over the raw bytes before any parser builds objects: the time division,
    tempo values, and counts of note-ons and events, stopping at the first limit passed (a
    hostile 2 MB file of 340k notes is refused after reading its first 50k). Reads running
    status as mido does (meta and sysex events leave it unchanged)."""
    if len(data) < 14:
        raise InvalidMidi("midi could not be parsed: its header is truncated", field="midi")
    header_length = int.from_bytes(data[4:8], "big")
    _, _, division = struct.unpack(">HHH", data[8:14])
    if division & 0x8000:
        raise InvalidMidi("midi uses SMPTE time division, which is not supported; save it with "
                          "ticks per quarter note", field="midi")
    if division == 0:
        raise InvalidMidi("midi has 0 ticks per quarter note", field="midi")
    pos, note_ons, events = 8 + header_length, 0, 0
    while pos + 8 <= len(data):
        chunk, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "big")
        pos += 8
        end = min(pos + size, len(data))
        if chunk == b"MTrk":
            i, status = pos, 0
            while i < end:
                _, i = _vlq(data, i, end)  # delta time
                if i >= end:
                    break
                kind = data[i]
                if kind & 0x80:
                    i += 1
                    if kind < 0xF0:
                        status = kind
                elif status:
                    kind = status
                else:
                    raise InvalidMidi("midi has a data byte where an event should start",
                                      field="midi")
                events += 1
                if events > max_events:
                    raise InvalidMidi(f"midi has more than {max_events} events", field="midi")
                if kind == 0xFF:  # meta: type, length, data
                    meta_type = data[i] if i < end else 0
                    length, i = _vlq(data, i + 1, end)
                    if meta_type == 0x51 and length == 3 and data[i:i + 3] == b"\0\0\0":
                        raise InvalidMidi("midi sets a tempo of 0 microseconds per beat",
                                          field="midi")
                    i += length
                elif kind in (0xF0, 0xF7):  # sysex: length, data
                    length, i = _vlq(data, i, end)
                    i += length
                else:
                    if kind & 0xF0 == 0x90 and i + 1 < end and data[i + 1] > 0:
                        note_ons += 1
                        if note_ons > max_notes:
                            raise InvalidMidi(f"midi has at least {note_ons} notes, more than "
                                              f"the limit of {max_notes}", field="midi")
                    i += 1 if kind & 0xF0 in (0xC0, 0xD0) else 2
        pos += size


def load_midi(data: bytes, *, max_notes: int = MAX_MIDI_NOTES,
              max_seconds: float = MAX_MIDI_SECONDS) -> pretty_midi.PrettyMIDI:
    """Parse a Standard MIDI File; InvalidMidi (field "midi") when it is broken or too big."""
    if not data:
        raise InvalidMidi("midi is empty", field="midi")
    if not data.startswith(b"MThd"):
        raise InvalidMidi(f"midi is not a Standard MIDI File (starts with {data[:4]!r}, "
                          "expected b'MThd')", field="midi")
    prescan(data, max_notes=max_notes)
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
