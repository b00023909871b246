"""The render service over real HTTP: instrument files out, the same files back in for a song."""

from __future__ import annotations

import base64
import io

import httpx
import numpy as np
import soundfile as sf

from imagewave.contracts import layout
from imagewave.contracts.audio import AudioPayload
from imagewave.contracts.stages import ArrangementResponse, InstrumentResponse, RenderResponse
from services.render.app import create_app
from tests.conftest import serve_app
from tests.services.render.conftest import SOURCE_RATE, knocks, wind

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
