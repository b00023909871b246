"""The render service over real HTTP: instrument files out, the same files back in for a song."""

from __future__ import annotations

import base64
import io

import httpx
import numpy as np
import pretty_midi
import soundfile as sf

from imagewave.contracts import layout
from imagewave.contracts.audio import AudioPayload
from imagewave.contracts.stages import ArrangementResponse, InstrumentResponse, RenderResponse
from services.render.app import create_app
from services.render.settings import RenderSettings
from tests.conftest import serve_app
from tests.services.render.conftest import SOURCE_RATE, knocks, midi_bytes, wind

SCENE = {"scene_description": "a windy pier", "mood_description": "calm and dreamy",
         "sound_sources": [{"name": "wind", "variants": [{"play_method": "gusting"}]}]}


def test_instruments_arrangement_and_render_over_http():
    with serve_app(create_app()) as url, httpx.Client(base_url=url, timeout=120) as client:
        instruments = {}
        for role, source in (("keyboard", wind()), ("drums", knocks())):
            response = client.post("/v1/instruments", json={
                "audio": AudioPayload.from_array(source, SOURCE_RATE).model_dump(),
                "role": role})
            assert response.status_code == 200, response.text
            built = InstrumentResponse.model_validate_json(response.content)
            names = {f.name for f in built.files}
            own = {f"{role}.sfz", f"{role}.sf2", f"{role}.json"}
            assert own <= names
            assert all(n.startswith("samples/") for n in names - own)
            instruments[role] = [f.model_dump() for f in built.files]

        response = client.post("/v1/arrangement", json={"scene": SCENE, "audio_length_in_s": 6,
                                                        "seed": 4})
        assert response.status_code == 200, response.text
        arrangement = ArrangementResponse.model_validate_json(response.content)
        assert arrangement.midi.name == "arrangement.mid" and arrangement.summary.bars >= 1

        response = client.post("/v1/render", json={"midi": arrangement.midi.model_dump(),
                                                   "instruments": instruments})
        assert response.status_code == 200, response.text
        song = RenderResponse.model_validate_json(response.content)
        mix = song.mix.to_array()
        assert song.mix.sample_rate == 48_000 and mix.shape[1] == 2
        assert song.duration_s >= 6.0 and abs(song.loudness_lufs - -14.0) < 1.0
        files = {f.name: f for f in song.files}
        assert "mix.flac" in files and "stems/drums.flac" in files
        stem, rate = sf.read(io.BytesIO(files["stems/drums.flac"].data()))
        assert rate == 48_000 and np.abs(stem).max() > 0.01
        # The whole set in one GM-mapped soundfont, next to each instrument's own.
        assert files[layout.INSTRUMENT_SET_FONT].data()[8:12] == b"sfbk"

        # The scene's effects join as the ambience bed and events, each in its own stem.
        effects = [{"name": "wind.wav", "data_base64": base64.b64encode(
            AudioPayload.from_array(wind(), SOURCE_RATE).wav_bytes()).decode()}]
        response = client.post("/v1/render", json={"midi": arrangement.midi.model_dump(),
                                                   "instruments": instruments,
                                                   "effects": effects, "cues_s": [2.0, 4.0]})
        assert response.status_code == 200, response.text
        files = {f.name: f for f in RenderResponse.model_validate_json(response.content).files}
        for name in ("stems/ambience.flac", "stems/effects.flac"):
            stem, rate = sf.read(io.BytesIO(files[name].data()))
            assert rate == 48_000 and np.abs(stem).max() > 0.001, name
        bad_effect = [{"name": "wind.wav", "data_base64": base64.b64encode(b"RIFFnope").decode()}]
        response = client.post("/v1/render", json={"midi": arrangement.midi.model_dump(),
                                                   "instruments": instruments,
                                                   "effects": bad_effect})
        assert response.status_code == 422 and response.json()["error"]["field"] == "effects"

        broken = {"name": "song.mid", "data_base64": base64.b64encode(b"MThd-broken").decode()}
        response = client.post("/v1/render", json={"midi": broken, "instruments": instruments})
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_midi"
        assert response.json()["error"]["field"] == "midi"


def test_file_names_that_leave_the_request_directory_are_refused_before_anything_is_written():
    import tempfile
    import uuid
    from pathlib import Path

    marker = f"escaped-{uuid.uuid4().hex}.txt"
    data = base64.b64encode(b"owned").decode()
    midi = {"name": "song.mid", "data_base64": base64.b64encode(b"MThd").decode()}
    hostile = [f"../../{marker}", f"../{marker}", f"/tmp/{marker}", f"samples/../../{marker}",
               f"./{marker}", f"a//{marker}", f"a\\..\\{marker}", f"a\x00{marker}", "..", "."]
    with serve_app(create_app()) as url, httpx.Client(base_url=url, timeout=30) as client:
        for name in hostile:
            response = client.post("/v1/render", json={
                "midi": midi, "instruments": {"keyboard": [{"name": name, "data_base64": data}]}})
            assert response.status_code == 422, (name, response.text)
            error = response.json()["error"]
            assert error["field"].endswith("name"), (name, error)
        # The same check guards every file payload, the midi's name too.
        response = client.post("/v1/render", json={"midi": midi | {"name": "../x.mid"},
                                                   "instruments": {}})
        assert response.status_code == 422 and response.json()["error"]["field"] == "midi.name"
    tmp = Path(tempfile.gettempdir())
    assert not (tmp / marker).exists()
    assert not (tmp.parent / marker).exists() and not Path("/" + marker).exists()


def test_a_midi_that_needs_more_memory_than_allowed_is_refused_naming_midi():
    """430 bytes of MIDI can hold 64 keys for 300 s; the render refuses what would not fit in
    its memory budget before allocating anything, with a 4xx naming `midi`."""
    held = pretty_midi.PrettyMIDI(initial_tempo=120)
    track = pretty_midi.Instrument(program=0)
    track.notes = [pretty_midi.Note(velocity=100, pitch=36 + i, start=0.0, end=300.0)
                   for i in range(64)]
    held.instruments.append(track)
    settings = RenderSettings(max_render_memory_mb=480)
    with serve_app(create_app(settings)) as url, httpx.Client(base_url=url, timeout=120) as client:
        built = client.post("/v1/instruments", json={
            "audio": AudioPayload.from_array(wind(), SOURCE_RATE).model_dump(),
            "role": "keyboard"})
        instruments = {"keyboard": built.json()["files"]}
        data = midi_bytes(held)
        assert len(data) < 1000
        response = client.post("/v1/render", json={
            "midi": {"name": "held.mid", "data_base64": base64.b64encode(data).decode()},
            "instruments": instruments})
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["field"] == "midi" and "MB" in error["message"]
