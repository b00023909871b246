"""API keys (hashed, owner checks on every job path), per-key limits, backpressure,
Idempotency-Key and retention, against the gateway app and a real Redis."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import redis
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.auth import KEYS_KEY, create_key
from gateway.jobs import JobStore
from gateway.retention import sweep_expired
from gateway.settings import GatewaySettings
from imagewave.artifacts import LocalArtifactStore
from imagewave.contracts.jobs import JobOptions
from tests.conftest import make_photo


def make_client(redis_url: str, tmp_path: Path, **overrides) -> TestClient:
    settings = GatewaySettings(redis_url=redis_url, data_dir=tmp_path, queue_name="test-access",
                               **overrides)
    return TestClient(create_app(settings))


def submit(client: TestClient, image: bytes, key: str | None = None, **kwargs):
    headers = kwargs.pop("headers", {})
    if key:
        headers["X-API-Key"] = key
    return client.post("/jobs", files={"image": ("p.jpg", image, "image/jpeg")},
                       headers=headers, **kwargs)


def test_keys_are_stored_hashed_and_required_when_configured(redis_url, tmp_path, photo):
    db = redis.Redis.from_url(redis_url)
    secret, key = create_key(db, "app one")
    stored = db.hgetall(KEYS_KEY)
    assert secret.encode() not in b"".join(list(stored) + list(stored.values()))
    assert json.loads(next(iter(stored.values())))["id"] == key.id

    with make_client(redis_url, tmp_path, api_keys_required=True) as client:
        missing = submit(client, photo.read_bytes())
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthorized"
        assert "www-authenticate" in missing.headers
        wrong = submit(client, photo.read_bytes(), key="iw_" + "x" * 32)
        assert wrong.status_code == 401
        assert submit(client, photo.read_bytes(), key=secret).status_code == 202
        bearer = submit(client, photo.read_bytes(), headers={"Authorization": f"Bearer {secret}"})
        assert bearer.status_code == 202
        assert client.get("/healthz").status_code == 200  # health needs no key


def test_a_key_sees_only_its_own_jobs(redis_url, tmp_path, photo):
    db = redis.Redis.from_url(redis_url)
    alice, _ = create_key(db, "alice")
    bob, _ = create_key(db, "bob")
    with make_client(redis_url, tmp_path) as client:
        job_id = submit(client, photo.read_bytes(), key=alice).json()["id"]
        (tmp_path / "artifacts" / job_id / "mix.wav").write_bytes(b"RIFF")
        for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/artifacts/mix.wav",
                     f"/jobs/{job_id}/events"):
            for other in (bob, None):
                response = client.get(path, headers={"X-API-Key": other} if other else {})
                assert response.status_code == 404, (path, other)
                assert response.json()["error"]["code"] == "not_found"
        assert client.delete(f"/jobs/{job_id}", headers={"X-API-Key": bob}).status_code == 404
        assert client.get(f"/jobs/{job_id}").status_code == 404
        mine = client.get(f"/jobs/{job_id}", headers={"X-API-Key": alice})
        assert mine.status_code == 200 and mine.json()["status"] == "queued"
        # An anonymous job is not visible to a key either.
        anonymous = submit(client, photo.read_bytes()).json()["id"]
        assert client.get(f"/jobs/{anonymous}", headers={"X-API-Key": alice}).status_code == 404
        assert client.get(f"/jobs/{anonymous}").status_code == 200


def test_per_key_rate_and_concurrency_limits_answer_429_with_retry_after(redis_url, tmp_path,
                                                                         photo):
    db = redis.Redis.from_url(redis_url)
    fast, _ = create_key(db, "fast")
    busy, _ = create_key(db, "busy")
    with make_client(redis_url, tmp_path, key_rate_per_minute=4,
                     key_max_active_jobs=2) as client:
        # Rate: the 5th submission of the minute is refused (cancel keeps the active count low).
        if time.time() % 60 > 50:  # windows are calendar minutes: stay inside one
            time.sleep(61 - time.time() % 60)
        for _ in range(4):
            job_id = submit(client, photo.read_bytes(), key=fast).json()["id"]
            client.delete(f"/jobs/{job_id}", headers={"X-API-Key": fast})
        limited = submit(client, photo.read_bytes(), key=fast)
        assert limited.status_code == 429, limited.text
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert "per minute" in limited.json()["error"]["message"]
        # Concurrency: 2 queued jobs at once, then 429 until one ends.
        first = submit(client, photo.read_bytes(), key=busy).json()["id"]
        assert submit(client, photo.read_bytes(), key=busy).status_code == 202
        crowded = submit(client, photo.read_bytes(), key=busy)
        assert crowded.status_code == 429 and int(crowded.headers["retry-after"]) >= 1
        client.delete(f"/jobs/{first}", headers={"X-API-Key": busy})
        assert submit(client, photo.read_bytes(), key=busy).status_code == 202


def test_backpressure_refuses_work_above_the_queue_depth(redis_url, tmp_path, photo):
    with make_client(redis_url, tmp_path, max_queue_depth=2) as client:
        ids = [submit(client, photo.read_bytes()).json()["id"] for _ in range(2)]
        full = submit(client, photo.read_bytes())
        assert full.status_code == 429
        assert int(full.headers["retry-after"]) >= 1
        assert full.json()["error"]["code"] == "too_many_requests"
        client.delete(f"/jobs/{ids[0]}")
        assert submit(client, photo.read_bytes()).status_code == 202


def test_idempotency_key_returns_the_same_job_and_rejects_a_different_body(redis_url, tmp_path,
                                                                           photo):
    other_photo = make_photo(photo.with_name("other.png"), seed=9)
    with make_client(redis_url, tmp_path) as client:
        headers = {"Idempotency-Key": "order-42"}
        first = submit(client, photo.read_bytes(), headers=dict(headers),
                       data={"options": '{"seed": 1}'})
        again = submit(client, photo.read_bytes(), headers=dict(headers),
                       data={"options": '{"seed": 1}'})
        assert first.status_code == again.status_code == 202
        assert first.json()["id"] == again.json()["id"]
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers["location"] == f"/jobs/{first.json()['id']}"

        changed = submit(client, other_photo.read_bytes(), headers=dict(headers),
                         data={"options": '{"seed": 1}'})
        assert changed.status_code == 422
        assert changed.json()["error"]["field"] == "Idempotency-Key"
        options_changed = submit(client, photo.read_bytes(), headers=dict(headers),
                                 data={"options": '{"seed": 2}'})
        assert options_changed.status_code == 422

        # A request refused for its content does not use up the key.
        fresh = {"Idempotency-Key": "order-43"}
        assert submit(client, b"not an image", headers=dict(fresh)).status_code == 422
        assert submit(client, photo.read_bytes(), headers=dict(fresh)).status_code == 202
        assert submit(client, photo.read_bytes(),
                      headers={"Idempotency-Key": "x" * 300}).status_code == 422


def test_retention_removes_expired_jobs_files_only(redis_url, tmp_path):
    db = redis.Redis.from_url(redis_url)
    jobs = JobStore(db, ttl_s=60)
    store = LocalArtifactStore(tmp_path / "artifacts")
    for job_id in ("expiredjob0001", "livejob0000001", "youngorphan001"):
        store.put_bytes(job_id, "mix.wav", b"RIFF")
    jobs.create("livejob0000001", JobOptions(), input_image="input/image.jpg")
    old = time.time() - 7200
    for job_id in ("expiredjob0001", "livejob0000001"):
        os.utime(store.job_dir(job_id), (old, old))

    removed = sweep_expired(jobs, store)

    assert removed == ["expiredjob0001"]
    assert not store.job_dir("expiredjob0001").exists()
    assert store.exists("livejob0000001", "mix.wav")
    assert store.exists("youngorphan001", "mix.wav")  # inside the grace period


def test_an_oversized_body_is_refused_before_it_is_read(redis_url, tmp_path, photo):
    with make_client(redis_url, tmp_path, max_upload_bytes=100_000,
                     max_midi_bytes=100_000) as client:
        declared = submit(client, b"\xff\xd8" + b"\x00" * 3_000_000)
        assert declared.status_code == 413
        assert declared.json()["error"]["code"] == "payload_too_large"

        def chunks():
            for _ in range(40):
                yield b"\x00" * 100_000

        streamed = client.post("/jobs", content=chunks(),
                               headers={"content-type": "multipart/form-data; boundary=x"})
        assert 400 <= streamed.status_code < 500
        assert submit(client, photo.read_bytes()).status_code == 202
