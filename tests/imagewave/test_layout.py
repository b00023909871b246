"""The job layout contract: names the stages agree on, index files that read back as written."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from imagewave.contracts import layout
from imagewave.contracts.jobs import StageName
from imagewave.contracts.scene import Role
from imagewave.contracts.stages import ArrangementSummary, ArrangementTrack

SUMMARY = ArrangementSummary(
    tempo_bpm=96.0, key="D", mode="minor", chords=["Dm", "Bb"], progression_degrees=[0, 5],
    bars=8, length_s=20.0, valence=-0.2, arousal=0.4, mood_source="scene", seed=3,
    tracks=[ArrangementTrack(index=0, name="melody", role=Role.keyboard, program=0,
                             is_drum=False, notes=12)])


def test_every_stage_has_a_marker_among_the_outputs_a_fresh_run_clears() -> None:
    assert set(layout.STAGE_MARKERS) == set(StageName)
    for marker in layout.STAGE_MARKERS.values():
        assert marker.split("/")[0] in layout.STAGE_OUTPUTS, marker


def test_arrangement_json_is_one_flat_object_that_reads_back() -> None:
    generated = layout.ArrangementIndex(source="generated", summary=SUMMARY)
    on_disk = json.loads(generated.model_dump_json())
    assert on_disk["source"] == "generated" and on_disk["tempo_bpm"] == 96.0
    assert "summary" not in on_disk  # the page reads summary fields beside `source`
    assert layout.ArrangementIndex.model_validate(on_disk) == generated

    uploaded = layout.ArrangementIndex.model_validate({"source": "uploaded"})
    assert uploaded.summary is None
    assert json.loads(uploaded.model_dump_json()) == {"source": "uploaded"}


def test_an_index_file_with_a_wrong_field_is_refused() -> None:
    with pytest.raises(ValidationError, match="tempo_bpm"):
        layout.ArrangementIndex.model_validate({"source": "generated", "tempo_bpm": "fast"})
    with pytest.raises(ValidationError):
        layout.InstrumentsIndex.model_validate({"trumpet": ["trumpet.sfz"]})  # not a role


def test_artifact_names() -> None:
    assert layout.sfx_file(3, "Wine glasses, clinking!") == "sfx/03_wine_glasses_clinking.wav"
    assert layout.sfx_file(0, "???") == "sfx/00_source.wav"
    assert layout.instrument_preview(Role.bass) == "instruments/bass/preview.wav"
    assert layout.stem_file(Role.drums) == "stems/drums.flac"
    assert layout.is_input(layout.input_image("png")) and layout.is_input(layout.INPUT_MIDI)
    assert not layout.is_input(layout.MIX_WAV)
