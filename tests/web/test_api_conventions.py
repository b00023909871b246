"""What integrators expect of the API (issue 16): GET /jobs, job and stage times, `Prefer: wait`,
typed SSE events, the X-API-Key scheme in OpenAPI, a CORS allow-list, 413s in MB naming the
field. Over real HTTP: the gateway alone on the test Redis (job state written as a worker
would) and the session's real `imagewave serve` for whole jobs."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from redis import Redis

from gateway.app import create_app
from gateway.auth import create_key
from gateway.jobs import JobStore
from gateway.settings import GatewaySettings
from imagewave.contracts.jobs import JobStatus, StageName, StageStatus
from tests.conftest import Served, serve_app
from tests.web.conftest import FAST_OPTIONS


def post_job(url: str, image: bytes, key: str | None = None, **kwargs) -> httpx.Response:
    headers = kwargs.pop("headers", {}) | ({"X-API-Key": key} if key else {})
    return httpx.post(f"{url}/jobs", files={"image": ("p.jpg", image, "image/jpeg")},
                      headers=headers, timeout=120, **kwargs)


def test_get_jobs_lists_the_callers_jobs_newest_first_paged_and_filtered(gateway, photo,
                                                                         redis_url):
    url, jobs = gateway
    db = Redis.from_url(redis_url)
    alice, _ = create_key(db, "alice")
    bob, _ = create_key(db, "bob")
    made = [post_job(url, photo.read_bytes(), alice).json()["id"] for _ in range(5)]
    theirs = post_job(url, photo.read_bytes(), bob).json()["id"]
    jobs.set_status(made[1], JobStatus.canceled)

    first = httpx.get(f"{url}/jobs", params={"limit": 3}, headers={"X-API-Key": alice})
    assert first.status_code == 200, first.text
    page = first.json()
    assert [j["id"] for j in page["jobs"]] == made[::-1][:3]
    second = httpx.get(f"{url}{page['next']}", headers={"X-API-Key": alice}).json()
    assert [j["id"] for j in second["jobs"]] == made[::-1][3:] and second["next"] is None
    canceled = httpx.get(f"{url}/jobs", params={"status": "canceled"},
                         headers={"X-API-Key": alice}).json()
    assert [j["id"] for j in canceled["jobs"]] == [made[1]]
    assert [j["id"] for j in httpx.get(f"{url}/jobs", headers={"X-API-Key": bob}).json()[
        "jobs"]] == [theirs]
    # No key, no caller: job ids are capabilities, so nobody gets a list of them.
    anonymous = httpx.get(f"{url}/jobs")
    assert anonymous.status_code == 401 and "X-API-Key" in anonymous.json()["error"]["message"]
    bad = httpx.get(f"{url}/jobs", params={"status": "sleeping"}, headers={"X-API-Key": alice})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "status"


def test_prefer_wait_answers_the_finished_job_or_202_when_it_takes_longer(gateway, photo):
    url, jobs = gateway
    started = time.monotonic()
    slow = post_job(url, photo.read_bytes(), headers={"Prefer": "wait=1"})
    assert slow.status_code == 202 and slow.headers["Preference-Applied"] == "wait=1"
    assert 0.9 < time.monotonic() - started < 5
    assert post_job(url, photo.read_bytes()).headers.get("Preference-Applied") is None

    def worker(job_id: str) -> None:  # what a worker writes, 0.5 s after the submit
        time.sleep(0.5)
        jobs.set_status(job_id, JobStatus.running)
        for stage in StageName:
            jobs.set_stage(job_id, stage, StageStatus.running, 0.0)
            jobs.set_stage(job_id, stage, StageStatus.succeeded, 1.0)
        jobs.set_status(job_id, JobStatus.succeeded)

    watcher = threading.Thread(target=lambda: worker(_next_job_id(jobs)), daemon=True)
    watcher.start()
    started = time.monotonic()
    fast = post_job(url, photo.read_bytes(), headers={"Prefer": "respond-async, wait=20"})
    took = time.monotonic() - started
    watcher.join(5)
    assert fast.status_code == 200, fast.text
    assert fast.headers["Preference-Applied"] == "wait=20" and took < 10
    assert fast.json()["status"] == "succeeded"


def _next_job_id(jobs: JobStore, timeout_s: float = 10) -> str:
    """The id of the next job the gateway queues (it is made inside the POST)."""
    from gateway.jobs import ACTIVE_KEY

    seen = {i.decode() for i in jobs.redis.zrange(ACTIVE_KEY, 0, -1)}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for job_id in (i.decode() for i in jobs.redis.zrange(ACTIVE_KEY, 0, -1)):
            if job_id not in seen:
                return job_id
        time.sleep(0.02)
    raise AssertionError("no job was queued")


def test_a_real_job_has_times_per_job_and_stage_and_typed_events(served: Served, photo):
    response = post_job(served.url, photo.read_bytes(), headers={"Prefer": "wait=50"},
                        data={"options": json.dumps(FAST_OPTIONS)})
    assert response.status_code in (200, 202), response.text
    job_id = response.json()["id"]
    with httpx.stream("GET", f"{served.url}/jobs/{job_id}/events", timeout=120) as stream:
        blocks = "".join(stream.iter_text()).split("\n\n")
    events = [b for b in blocks if "data:" in b]
    for block in events:
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        data = json.loads(fields["data"])
        assert fields["event"] == ("job" if data["stage"] is None else "stage"), block
    job = httpx.get(f"{served.url}/jobs/{job_id}").json()
    assert job["status"] == "succeeded", job
    assert job["created_at"] <= job["started_at"] < job["finished_at"]
    assert job["duration_s"] == pytest.approx(job["finished_at"] - job["started_at"], abs=0.01)
    ran = [s for s in job["stages"] if s["status"] == "succeeded"]
    assert len(ran) >= 4
    for stage in ran:
        assert job["started_at"] <= stage["started_at"] <= stage["finished_at"] \
            <= job["finished_at"] + 0.01, stage
        assert stage["duration_s"] == pytest.approx(stage["finished_at"] - stage["started_at"],
                                                    abs=0.01)
    assert sum(s["duration_s"] for s in ran) <= job["duration_s"] + 0.05


def test_a_canceled_job_shows_no_stage_running(gateway, photo):
    url, jobs = gateway
    job_id = post_job(url, photo.read_bytes()).json()["id"]
    jobs.set_status(job_id, JobStatus.running)
    jobs.set_stage(job_id, StageName.describe, StageStatus.succeeded, 1.0)
    jobs.set_stage(job_id, StageName.sfx, StageStatus.running, 0.4)
    canceled = httpx.delete(f"{url}/jobs/{job_id}").json()
    assert canceled["status"] == "canceled"
    stages = {s["name"]: s for s in canceled["stages"]}
    assert "running" not in {s["status"] for s in stages.values()}
    assert stages["sfx"]["status"] == "canceled" and stages["sfx"]["finished_at"]
    assert stages["describe"]["status"] == "succeeded"


def test_openapi_declares_the_api_key_and_docs_need_no_cdn(gateway):
    url, _ = gateway
    schema = httpx.get(f"{url}/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {**schemes["ApiKey"], "type": "apiKey", "in": "header",
                                 "name": "X-API-Key"}
    assert {"ApiKey": []} in schema["security"]
    assert "/jobs" in schema["paths"] and "get" in schema["paths"]["/jobs"]
    docs = httpx.get(f"{url}/docs").text
    assert "cdn" not in docs.lower() and "https://" not in docs
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        path = next(part.split('"')[0] for part in docs.split('"/') if asset in part)
        assert httpx.get(f"{url}/{path}").status_code == 200, path


def test_cors_is_off_by_default_and_follows_the_allow_list(redis_url, tmp_path):
    origin = "http://127.0.0.1:5173"
    preflight = {"Origin": origin, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "x-api-key"}
    for allowed, expected in (([], None), ([origin], origin)):
        settings = GatewaySettings(redis_url=redis_url, artifact_dir=tmp_path / "a",
                                   cors_allow_origins=allowed)
        with serve_app(create_app(settings)) as url:
            answer = httpx.options(f"{url}/jobs", headers=preflight)
            assert answer.headers.get("access-control-allow-origin") == expected
            other = httpx.get(f"{url}/healthz", headers={"Origin": "http://127.0.0.2"})
            assert "access-control-allow-origin" not in other.headers


def test_too_large_uploads_say_megabytes_and_name_the_field(gateway):
    url, _ = gateway
    big = b"\xff\xd8" + b"0" * (21 * 2**20)
    answer = httpx.post(f"{url}/jobs", files={"image": ("big.jpg", big, "image/jpeg")},
                        timeout=60)
    assert answer.status_code == 413
    error = answer.json()["error"]
    assert "MB" in error["message"] and "bytes" not in error["message"], error
    assert "image" in error["message"] and error["field"] in ("image", "midi"), error
