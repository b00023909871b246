"""bundle.zip is built once per succeeded job and served from the job's folder afterwards;
the cached zip is neither an artifact nor inside itself, and concurrent first requests share
one build."""

from __future__ import annotations

import concurrent.futures
import io
import zipfile
from pathlib import Path

import httpx
from redis import Redis

from gateway.app import create_app
from gateway.jobs import JobStore
from gateway.routes.bundle import BUNDLE_FILE
from gateway.settings import GatewaySettings
from imagewave.artifacts import LocalArtifactStore
from imagewave.contracts.jobs import JobOptions, JobStatus
from tests.conftest import serve_app

JOB = "bundlecache00001"


def test_the_bundle_is_built_once_and_cached(redis_url: str, tmp_path: Path):
    settings = GatewaySettings(redis_url=redis_url, artifact_dir=tmp_path / "artifacts")
    store = LocalArtifactStore(settings.artifact_root)
    store.put_bytes(JOB, "mix.wav", b"RIFF" + bytes(5000))
    store.put_bytes(JOB, "stems/drums.flac", bytes(3000))
    store.put_bytes(JOB, "input/image.jpg", b"\xff\xd8secret")
    jobs = JobStore(Redis.from_url(redis_url))
    jobs.create(JOB, JobOptions(), input_image="input/image.jpg")
    jobs.set_status(JOB, JobStatus.succeeded)
    cached = store.job_dir(JOB) / BUNDLE_FILE

    with serve_app(create_app(settings)) as url:
        def get() -> bytes:
            response = httpx.get(f"{url}/jobs/{JOB}/bundle.zip", timeout=30)
            assert response.status_code == 200, response.text
            return response.content

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            first = list(pool.map(lambda _: get(), range(4)))
        assert len(set(first)) == 1  # one build, served four times
        built_at = cached.stat().st_mtime_ns
        assert get() == first[0] and cached.stat().st_mtime_ns == built_at
        names = zipfile.ZipFile(io.BytesIO(first[0])).namelist()
        folder = f"imagewave-{JOB[:8]}"
        # The artifacts, plus what the bundle adds beside them (gateway/bundle_extras.py; the
        # stand-in mix.wav here is not audio, so no 44.1 kHz copy).
        assert sorted(names) == sorted([f"{folder}/mix.wav", f"{folder}/stems/drums.flac",
                                        f"{folder}/README.txt", f"{folder}/picture.jpg"])
        artifacts = httpx.get(f"{url}/jobs/{JOB}", timeout=10).json()["artifacts"]
        assert {a["name"] for a in artifacts} == {"mix.wav", "stems/drums.flac"}
    assert not list(store.job_dir(JOB).glob(".bundle.*.tmp"))
