"""A user's scene instead of describe, and remixes of finished jobs: the HTTP contract against a
real Redis (no workers: what is queued and which artifacts a new job starts with)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.jobs import JobStore
from gateway.settings import GatewaySettings
from imagewave.artifacts import LocalArtifactStore
from imagewave.contracts.jobs import JobStatus

SCENE = {
    "scene_description": "A beach at noon.",
    "mood_description": "bright; calm",
    "sound_sources": [
        {"name": "sea waves", "material": "salt water",
         "variants": [{"play_method": "waves breaking", "timbre": ["hissing"],
                       "mapping_to_music_instrument": "bass"}]},
        {"name": "gulls", "material": "seabirds",
         "variants": [{"play_method": "gull cries", "mapping_to_music_instrument": "guitar"}]},
    ],
}
# What a finished job leaves behind, one small file per stage (markers included).
FINISHED = {
    "input/image.jpg": b"\xff\xd8picture", "scene.json": json.dumps(SCENE).encode(),
    "sfx/0-sea-waves.wav": b"RIFF", "sfx/index.json": b"{}", "roles.json": b"{}",
    "timbre/keyboard.wav": b"RIFF", "timbre/index.json": b"{}",
    "instruments/bass/bass.sfz": b"<region>", "instruments/index.json": b"{}",
    "arrangement.mid": b"MThd", "arrangement.json": b"{}", "mix.wav": b"RIFF",
}


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> GatewaySettings:
    return GatewaySettings(redis_url=redis_url, data_dir=tmp_path, queue_name="test-remix",
                           max_upload_bytes=200_000)


@pytest.fixture
def client(settings: GatewaySettings):
    with TestClient(create_app(settings)) as client:
        yield client


def _store(client: TestClient) -> LocalArtifactStore:
    return client.app.state.gateway.store


def _finished_job(client: TestClient, photo: Path, options: dict | None = None) -> str:
    response = client.post("/jobs", files={"image": ("p.jpg", photo.read_bytes(), "image/jpeg")},
                           data={"options": json.dumps(options or {"audio_length_in_s": 20,
                                                                  "seed": 5})})
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    store = _store(client)
    for name, data in FINISHED.items():
        store.put_bytes(job_id, name, data)
    jobs: JobStore = client.app.state.gateway.jobs
    assert jobs.set_status(job_id, JobStatus.succeeded)
    return job_id


def test_a_job_with_a_scene_needs_no_image_and_keeps_the_scene(client):
    response = client.post("/jobs", data={"scene": json.dumps(SCENE)})
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    stored = json.loads(_store(client).get_bytes(job_id, "scene.json"))
    assert [s["name"] for s in stored["sound_sources"]] == ["sea waves", "gulls"]


def test_no_image_and_no_scene_is_a_422_naming_the_image(client):
    response = client.post("/jobs", data={"options": "{}"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "image"


def _with_sources(sources) -> str:
    return json.dumps(SCENE | {"sound_sources": sources})


@pytest.mark.parametrize(("scene", "status", "field"), [
    ("not json", 422, "scene"),
    (json.dumps(SCENE | {"sound_sources": "waves"}), 422, "scene.sound_sources"),
    (_with_sources([SCENE["sound_sources"][0]] * 200), 422, "scene.sound_sources"),
    (_with_sources([SCENE["sound_sources"][0] | {"name": "x" * 10_000}]), 422,
     "scene.sound_sources.0.name"),
    (_with_sources([SCENE["sound_sources"][0] | {"variants": [{"play_method": 7}]}]), 422,
     "scene.sound_sources.0.variants.0.play_method"),
    (_with_sources([SCENE["sound_sources"][0] | {"material": "y" * 70_000}]), 413, "scene"),
])
def test_bad_scenes_are_refused_naming_the_field(client, scene, status, field):
    response = client.post("/jobs", data={"scene": scene})
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field


def test_a_remix_with_a_new_length_reuses_five_stages_and_keeps_seed(client, photo):
    parent = _finished_job(client, photo)
    response = client.post(f"/jobs/{parent}/remix", json={"options": {"audio_length_in_s": 40}})
    assert response.status_code == 202, response.text
    remix = response.json()
    assert remix["parent"] == parent and remix["status"] == "queued"
    assert remix["options"]["audio_length_in_s"] == 40 and remix["options"]["seed"] == 5
    names = {a.name for a in _store(client).list(remix["id"])}
    assert {"input/image.jpg", "scene.json", "sfx/index.json", "roles.json",
            "timbre/index.json", "instruments/index.json"} <= names
    assert not {"arrangement.json", "arrangement.mid", "mix.wav"} & names
    assert client.get(f"/jobs/{remix['id']}").json()["parent"] == parent


def test_a_remix_with_an_edited_scene_runs_again_from_sfx(client, photo):
    parent = _finished_job(client, photo)
    edited = SCENE | {"sound_sources": [SCENE["sound_sources"][0] | {"name": "surf"}]}
    response = client.post(f"/jobs/{parent}/remix", json={"scene": edited})
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    names = {a.name for a in _store(client).list(job_id)}
    assert names == {"input/image.jpg", "scene.json"}
    scene = json.loads(_store(client).get_bytes(job_id, "scene.json"))
    assert [s["name"] for s in scene["sound_sources"]] == ["surf"]


def test_a_remix_of_an_unfinished_or_unknown_job_is_refused(client, photo):
    queued = client.post("/jobs", files={"image": ("p.jpg", photo.read_bytes(), "image/jpeg")})
    response = client.post(f"/jobs/{queued.json()['id']}/remix", json={})
    assert response.status_code == 409 and response.json()["error"]["code"] == "conflict"
    missing = client.post("/jobs/AAAAAAAAAAAAAAAAAAAAAA/remix", json={})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("body", "field"), [
    ({"options": {"audio_length_in_s": 1}}, "options.audio_length_in_s"),
    ({"options": {"colour": "red"}}, "options.colour"),
    ({"scene": {"scene_description": "x", "mood_description": "y", "sound_sources": []}},
     "scene.sound_sources"),
])
def test_a_bad_remix_names_the_field_and_creates_nothing(client, photo, body, field):
    parent = _finished_job(client, photo)
    before = set(Path(client.app.state.gateway.settings.data_dir).rglob("*"))
    response = client.post(f"/jobs/{parent}/remix", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert set(Path(client.app.state.gateway.settings.data_dir).rglob("*")) == before
