"""bundle.zip is something a producer can use without the API (issue 16): the picture, a README
(files, tempo and key, how to load the instruments), stems, a 44.1 kHz 16-bit WAV of the mix,
and for an uploaded MIDI the track → role map in arrangement.json. Over the session's real
`imagewave serve`."""

from __future__ import annotations

import io
import json
import time
import zipfile

import httpx
import numpy as np
import pretty_midi
import soundfile as sf

from tests.conftest import Served
from tests.web.conftest import FAST_OPTIONS


def finished_bundle(url: str, files: dict) -> tuple[dict, zipfile.ZipFile]:
    response = httpx.post(f"{url}/jobs", files=files, data={"options": json.dumps(FAST_OPTIONS)},
                          headers={"Prefer": "wait=60"}, timeout=120)
    assert response.status_code in (200, 202), response.text
    job_id = response.json()["id"]
    deadline = time.monotonic() + 180
    while (job := httpx.get(f"{url}/jobs/{job_id}").json())["status"] not in (
            "succeeded", "failed", "canceled") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert job["status"] == "succeeded", job
    answer = httpx.get(f"{url}/jobs/{job_id}/bundle.zip", timeout=60)
    assert answer.status_code == 200
    return job, zipfile.ZipFile(io.BytesIO(answer.content))


def test_a_generated_songs_bundle_has_picture_readme_stems_and_a_cd_wav(served: Served, photo):
    picture = photo.read_bytes()
    job, bundle = finished_bundle(served.url, {"image": ("photo.jpg", picture, "image/jpeg")})
    folder = bundle.namelist()[0].split("/")[0]
    names = {n.removeprefix(folder + "/") for n in bundle.namelist()}
    assert bundle.read(f"{folder}/picture.jpg") == picture
    assert {"stems/drums.flac", "stems/bass.flac", "README.txt", "mix-44k1-16bit.wav"} <= names

    share = sf.info(io.BytesIO(bundle.read(f"{folder}/mix-44k1-16bit.wav")))
    master, master_rate = sf.read(io.BytesIO(bundle.read(f"{folder}/mix.wav")))
    assert share.samplerate == 44_100 and share.subtype == "PCM_16"
    assert abs(share.duration - len(master) / master_rate) < 0.01
    shared, _ = sf.read(io.BytesIO(bundle.read(f"{folder}/mix-44k1-16bit.wav")))
    assert 0.5 < np.abs(shared).max() / np.abs(master).max() < 1.01  # the same song, not silence

    readme = bundle.read(f"{folder}/README.txt").decode()
    summary = json.loads(bundle.read(f"{folder}/arrangement.json"))
    assert f"Tempo {summary['tempo_bpm']:g} BPM" in readme and summary["key"] in readme
    for piece in ("sfizz", "Decent Sampler", ".sf2", "arrangement.mid", "stems/", "picture.jpg",
                  "mix-44k1-16bit.wav"):
        assert piece in readme, piece
    assert job["id"] in readme


def test_an_uploaded_midi_records_which_role_played_each_track(served: Served, photo):
    midi = pretty_midi.PrettyMIDI(initial_tempo=100)
    lead = pretty_midi.Instrument(program=25, name="lead line")  # GM guitar
    low = pretty_midi.Instrument(program=33, name="low end")  # GM bass
    for i in range(8):
        lead.notes.append(pretty_midi.Note(90, 64 + i % 4, i * 0.5, i * 0.5 + 0.4))
        low.notes.append(pretty_midi.Note(90, 40, i * 0.5, i * 0.5 + 0.4))
    midi.instruments += [lead, low]
    buffer = io.BytesIO()
    midi.write(buffer)
    _, bundle = finished_bundle(served.url, {
        "image": ("photo.jpg", photo.read_bytes(), "image/jpeg"),
        "midi": ("song.mid", buffer.getvalue(), "audio/midi")})
    folder = bundle.namelist()[0].split("/")[0]
    index = json.loads(bundle.read(f"{folder}/arrangement.json"))
    assert index["source"] == "uploaded"
    assert [(t["index"], t["name"], t["role"]) for t in index["tracks"]] == [
        (0, "lead line", "guitar"), (1, "low end", "bass")]
    readme = bundle.read(f"{folder}/README.txt").decode()
    assert "track 0 (lead line) → guitar" in readme
