"""One MIDI validator: the gateway's upload check and the render service's parse give the same
verdict, with the same message, on the same bytes."""

from __future__ import annotations

import io

import pretty_midi
import pytest

from gateway.settings import GatewaySettings
from gateway.uploads import check_midi
from imagewave.errors import InvalidMidi
from imagewave.midi_validation import MAX_MIDI_NOTES, MAX_MIDI_SECONDS
from services.render.playback.midi import load_midi
from services.render.settings import RenderSettings


def midi_bytes(notes: int, step_s: float = 0.5) -> bytes:
    midi = pretty_midi.PrettyMIDI()
    track = pretty_midi.Instrument(program=0)
    track.notes = [pretty_midi.Note(velocity=90, pitch=60, start=i * step_s,
                                    end=i * step_s + 0.4) for i in range(notes)]
    midi.instruments.append(track)
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("data", [
    b"", b"RIFF....", b"MThd garbage", b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01",
    midi_bytes(0), midi_bytes(30), midi_bytes(4, step_s=5.0),
])
def test_gateway_and_renderer_agree(data: bytes) -> None:
    limits = {"max_notes": 20, "max_seconds": 12.0}
    verdicts = []
    for judge in (check_midi, load_midi):
        try:
            judge(data, **limits)
            verdicts.append("ok")
        except InvalidMidi as exc:
            assert exc.field == "midi"
            verdicts.append(exc.message)
    assert verdicts[0] == verdicts[1]


def test_a_good_file_passes_both() -> None:
    check_midi(midi_bytes(8))
    assert len(load_midi(midi_bytes(8), max_notes=8, max_seconds=60).instruments[0].notes) == 8


def test_the_limits_are_shared() -> None:
    for settings in (GatewaySettings(), RenderSettings()):
        assert (settings.max_midi_notes, settings.max_midi_seconds) == (MAX_MIDI_NOTES,
                                                                        MAX_MIDI_SECONDS)
