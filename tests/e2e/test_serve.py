"""End to end: `imagewave serve` (embedded Redis, four services, gateway, RQ workers as real
processes); a client uploads a picture like curl would and downloads a song."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.conftest import free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> str:
    data_dir = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env |= {"IMAGEWAVE_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    for name in ("vlm", "t2a", "timbre", "render"):
        env[f"IMAGEWAVE_{name.upper()}_URL"] = f"http://127.0.0.1:{free_port()}"
    log = open(data_dir / "serve.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "imagewave.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            log.close()
            raise RuntimeError((data_dir / "serve.log").read_text()[-3000:])
        time.sleep(0.3)
    yield url
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    log.close()


def wait_for(url: str, job_id: str, timeout_s: float = 90) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "canceled"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout_s}s: {job}")


def test_picture_in_song_out_over_http(stack: str, example_image: Path):
    with example_image.open("rb") as image:
        response = httpx.post(f"{stack}/jobs", files={"image": image},
                              data={"options": '{"audio_length_in_s": 12}'})
    assert response.status_code == 202, response.text
    job = wait_for(stack, response.json()["id"])

    assert job["status"] == "succeeded", job
    assert all(s["status"] == "succeeded" for s in job["stages"])
    artifacts = {a["name"]: a for a in job["artifacts"]}
    assert {"scene.json", "mix.wav", "arrangement.mid", "instruments/drums/drums.sfz"} <= set(
        artifacts)
    mix_response = httpx.get(f"{stack}{artifacts['mix.wav']['url']}")
    assert mix_response.status_code == 200
    assert mix_response.headers["content-type"].startswith("audio/")
    mix, rate = sf.read(io.BytesIO(mix_response.content))
    assert len(mix) / rate >= 12
    assert np.isfinite(mix).all() and 0.01 < np.abs(mix).max() <= 1.0


def test_a_non_image_fails_fast_and_the_stack_stays_up(stack: str, photo: Path):
    started = time.monotonic()
    response = httpx.post(f"{stack}/jobs", files={"image": ("x.jpg", b"GIF89a-not-really")})
    assert response.status_code == 422 and time.monotonic() - started < 2
    assert response.json()["error"]["field"] == "image"
    assert httpx.get(f"{stack}/healthz").status_code == 200

    with photo.open("rb") as image:
        job_id = httpx.post(f"{stack}/jobs", files={"image": image},
                            data={"options": '{"audio_length_in_s": 5}'}).json()["id"]
    assert wait_for(stack, job_id)["status"] == "succeeded"
