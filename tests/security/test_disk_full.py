"""Disk full: a write that fails leaves no partial file, POST /jobs answers 507 in the one error
shape (and leaves no half-stored upload), and /healthz reports not-ready while space is short.

The failing writes are real: a child process whose file size limit (RLIMIT_FSIZE) is smaller
than the upload gets EFBIG from the kernel, as a full disk gives ENOSPC."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time

import httpx

from gateway.app import create_app
from gateway.settings import GatewaySettings
from tests.conftest import free_port, serve_app


def test_below_the_free_space_floor_post_is_507_and_healthz_is_503(redis_url, tmp_path, photo):
    settings = GatewaySettings(redis_url=redis_url, artifact_dir=tmp_path / "artifacts",
                               min_free_disk_bytes=10**18)  # more than any disk has
    with serve_app(create_app(settings)) as url:
        response = httpx.post(f"{url}/jobs", files={"image": ("p.jpg", photo.read_bytes())})
        assert response.status_code == 507, response.text
        assert response.json()["error"]["code"] == "insufficient_storage"
        health = httpx.get(f"{url}/healthz", timeout=5)
        assert health.status_code == 503 and "bytes free" in health.json()["disk"]
    assert not any((tmp_path / "artifacts").iterdir())


def _small_files() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a killed process
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def test_a_write_that_runs_out_of_space_leaves_nothing_and_answers_507(redis_url, tmp_path,
                                                                        photo):
    assert photo.stat().st_size > 4096
    artifacts = tmp_path / "artifacts"
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "IMAGEWAVE_ARTIFACT_DIR": str(artifacts),
           "IMAGEWAVE_MIN_FREE_DISK_BYTES": "0", "IMAGEWAVE_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen([sys.executable, "-m", "gateway.http_server", "--port", str(port)],
                              env=env, preexec_fn=_small_files)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and server.poll() is None
            time.sleep(0.2)
        response = httpx.post(f"{url}/jobs", files={"image": ("p.jpg", photo.read_bytes())},
                              timeout=10)
        assert response.status_code == 507, response.text
        error = response.json()["error"]
        assert error["code"] == "insufficient_storage" and "input/image.jpg" in error["message"]
    finally:
        server.terminate()
        server.wait(timeout=20)
    leftovers = [p for p in artifacts.rglob("*")] if artifacts.exists() else []
    assert leftovers == [], leftovers  # neither the .tmp nor the job's folder
