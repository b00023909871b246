"""The gateway's HTTP contract against a real Redis: submit, read, download, cancel, errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pretty_midi
import pytest
import redis
from fastapi.testclient import TestClient
from rq import Queue
from rq.serializers import JSONSerializer

from gateway.app import create_app
from gateway.settings import GatewaySettings


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> GatewaySettings:
    return GatewaySettings(redis_url=redis_url, data_dir=tmp_path, queue_name="test-api",
                           max_upload_bytes=200_000)


@pytest.fixture
def client(settings: GatewaySettings):
    with TestClient(create_app(settings)) as client:
        yield client


def submit(client: TestClient, image: bytes, **extra):
    files = {"image": ("photo.jpg", image, "image/jpeg")}
    if "midi" in extra:
        files["midi"] = ("song.mid", extra.pop("midi"), "audio/midi")
    return client.post("/jobs", files=files, **extra)


def test_submit_queues_a_job_and_answers_202_with_location(client, photo, settings, redis_url):
    response = submit(client, photo.read_bytes(), data={"options": '{"seed": 7}'})

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "queued"
    assert body["options"]["seed"] == 7
    assert response.headers["location"] == f"/jobs/{body['id']}"
    assert [s["name"] for s in body["stages"]] == [
        "describe", "sfx", "roles", "timbre", "instruments", "arrangement", "render"]
    queue = Queue(settings.queue_name, connection=redis.Redis.from_url(redis_url),
                  serializer=JSONSerializer)
    assert queue.job_ids == [body["id"]]
    job = queue.fetch_job(body["id"])
    assert job.func_name == "gateway.worker.run_job" and job.args == [body["id"]]

    polled = client.get(f"/jobs/{body['id']}")
    assert polled.status_code == 200 and polled.json()["id"] == body["id"]


def test_job_ids_are_long_and_random(client, photo):
    ids = {submit(client, photo.read_bytes()).json()["id"] for _ in range(3)}
    assert len(ids) == 3 and all(len(i) >= 22 for i in ids)


@pytest.mark.parametrize("payload", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\nbroken",
                                     b"<svg xmlns='http://www.w3.org/2000/svg'/>"])
def test_a_non_image_is_a_422_naming_the_image_field(client, payload):
    response = submit(client, payload)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_image" and error["field"] == "image"
    assert error["message"]


def test_an_upload_over_the_limit_is_a_413(client):
    response = submit(client, b"\xff\xd8" + b"0" * 300_000)
    assert response.status_code == 413
    assert response.json()["error"]["field"] == "image"


@pytest.mark.parametrize(("options", "field"), [
    ('{"seed": -1}', "options.seed"),
    ('{"audio_length_in_s": 1}', "options.audio_length_in_s"),
    ('{"engines": {"describe": "gpt"}}', "options.engines.describe"),
    ('{"colour": "blue"}', "options.colour"),
    ("{not json", "options"),
])
def test_bad_options_name_the_field(client, photo, options, field):
    response = submit(client, photo.read_bytes(), data={"options": options})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


def test_an_unknown_style_is_named_with_the_choices(client, photo):
    response = submit(client, photo.read_bytes(), data={"options": '{"style": "polka"}'})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "options.style"
    from imagewave.contracts.music import Style

    assert all(f"'{style.value}'" in error["message"] for style in Style), error["message"]


def test_a_broken_midi_is_rejected_and_a_good_one_is_kept(client, photo):
    bad = submit(client, photo.read_bytes(), midi=b"MThd garbage")
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "midi"

    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    piano.notes.append(pretty_midi.Note(velocity=90, pitch=60, start=0.0, end=1.0))
    midi.instruments.append(piano)
    buffer = io.BytesIO()
    midi.write(buffer)
    good = submit(client, photo.read_bytes(), midi=buffer.getvalue())
    assert good.status_code == 202


def test_unknown_job_and_artifact_are_404_in_the_error_shape(client, photo):
    assert client.get("/jobs/doesnotexist0000").json()["error"]["code"] == "not_found"
    job_id = submit(client, photo.read_bytes()).json()["id"]
    for name in ("mix.wav", "../../etc/passwd", "input/image.jpg", "%2e%2e/x"):
        response = client.get(f"/jobs/{job_id}/artifacts/{name}")
        assert response.status_code == 404, name
        assert set(response.json()["error"]) == {"code", "message", "field"}


def test_cancel_a_queued_job_takes_it_off_the_queue(client, photo, settings, redis_url):
    job_id = submit(client, photo.read_bytes()).json()["id"]
    response = client.delete(f"/jobs/{job_id}")
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    queue = Queue(settings.queue_name, connection=redis.Redis.from_url(redis_url),
                  serializer=JSONSerializer)
    assert job_id not in queue.job_ids
    # Canceling again is harmless and keeps the final state.
    assert client.delete(f"/jobs/{job_id}").json()["status"] == "canceled"


def test_healthz_and_openapi(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    spec = client.get("/openapi.json").json()
    assert {"/jobs", "/jobs/{job_id}", "/jobs/{job_id}/artifacts/{name}"} <= set(spec["paths"])
    json.dumps(spec)
