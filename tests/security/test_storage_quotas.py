"""Storage has a bound: DELETE ?purge=true removes a job and its files at once, and each key
(and all anonymous callers together) may keep only so many bytes, canceled jobs included."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import redis

from gateway.app import create_app
from gateway.auth import create_key
from gateway.quotas import used_bytes
from gateway.settings import GatewaySettings
from imagewave.artifacts import LocalArtifactStore
from tests.conftest import serve_app


def make_settings(redis_url: str, tmp_path: Path, **limits) -> GatewaySettings:
    return GatewaySettings(redis_url=redis_url, artifact_dir=tmp_path / "artifacts",
                           queue_name="test-quotas", **limits)


def post(client: httpx.Client, image: bytes) -> httpx.Response:
    return client.post("/jobs", files={"image": ("p.jpg", image)})


def test_purge_deletes_the_job_and_its_files(redis_url, tmp_path, photo):
    settings = make_settings(redis_url, tmp_path)
    r = redis.Redis.from_url(redis_url)
    with serve_app(create_app(settings)) as url, httpx.Client(base_url=url, timeout=10) as c:
        job_id = post(c, photo.read_bytes()).json()["id"]
        job_dir = LocalArtifactStore(settings.artifact_root).job_dir(job_id)
        assert job_dir.is_dir() and used_bytes(r, None) == photo.stat().st_size
        response = c.delete(f"/jobs/{job_id}", params={"purge": "true"})
        assert response.status_code == 200 and response.json()["status"] == "canceled"
        assert c.get(f"/jobs/{job_id}").status_code == 404
        assert c.delete(f"/jobs/{job_id}").status_code == 404
    assert not job_dir.exists() and used_bytes(r, None) == 0


@pytest.mark.parametrize("keyed", [True, False], ids=["per key", "anonymous"])
def test_canceled_jobs_count_against_the_storage_quota_until_purged(redis_url, tmp_path, photo,
                                                                    keyed):
    image = photo.read_bytes()
    quota = int(len(image) * 2.5)
    limits = ({"key_max_storage_bytes": quota} if keyed
              else {"anonymous_max_storage_bytes": quota})
    settings = make_settings(redis_url, tmp_path, **limits)
    headers = {}
    if keyed:
        secret, _ = create_key(redis.Redis.from_url(redis_url), "uploader")
        headers = {"X-API-Key": secret}
    with serve_app(create_app(settings)) as url, httpx.Client(base_url=url, timeout=10,
                                                              headers=headers) as c:
        first, second = (post(c, image).json()["id"] for _ in range(2))
        for job_id in (first, second):
            assert c.delete(f"/jobs/{job_id}").json()["status"] == "canceled"
        # Canceled, not purged: their uploads are still on disk and still count.
        refused = post(c, image)
        assert refused.status_code == 429, refused.text
        error = refused.json()["error"]
        assert error["code"] == "storage_quota_exceeded" and "purge=true" in error["message"]
        assert c.delete(f"/jobs/{first}", params={"purge": "true"}).status_code == 200
        assert post(c, image).status_code == 202
