"""End to end: `imagewave serve` (embedded Redis, four services, gateway, RQ workers as real
processes); a client uploads a picture like curl would and downloads a song."""

from __future__ import annotations

import io
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.conftest import Served

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(served: Served) -> str:
    return served.url


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
