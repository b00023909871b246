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


USER_SCENE = {
    "scene_description": "A beach at noon.",
    "mood_description": "bright; calm",
    "sound_sources": [
        {"name": "sea waves", "material": "salt water",
         "variants": [{"play_method": "waves breaking on the sand", "timbre": ["hissing"],
                       "mapping_to_music_instrument": "bass"}]},
        {"name": "gulls", "material": "seabirds",
         "variants": [{"play_method": "gull cries overhead", "timbre": ["shrill"],
                       "mapping_to_music_instrument": "guitar"}]},
    ],
}


def _stages(job: dict) -> dict[str, str]:
    return {s["name"]: s["status"] for s in job["stages"]}


def _mix_seconds(stack: str, job: dict) -> float:
    url = next(a["url"] for a in job["artifacts"] if a["name"] == "mix.wav")
    mix, rate = sf.read(io.BytesIO(httpx.get(f"{stack}{url}").content))
    return len(mix) / rate


def test_a_user_scene_a_length_remix_and_a_scene_remix_over_http(stack: str):
    import json

    # 1. A scene and no picture: describe is skipped, the rest runs on the given sources.
    response = httpx.post(f"{stack}/jobs", data={
        "scene": json.dumps(USER_SCENE), "options": '{"audio_length_in_s": 8, "seed": 3}'})
    assert response.status_code == 202, response.text
    first = wait_for(stack, response.json()["id"], timeout_s=180)
    assert first["status"] == "succeeded", first
    assert _stages(first)["describe"] == "skipped"
    assert all(status == "succeeded" for name, status in _stages(first).items()
               if name != "describe")
    sfx = [a["name"] for a in first["artifacts"] if a["name"].startswith("sfx/")
           and a["name"].endswith(".wav")]
    assert len(sfx) == 2

    # 2. Only a new length: five stages reused, arrangement and render run, seed kept.
    response = httpx.post(f"{stack}/jobs/{first['id']}/remix",
                          json={"options": {"audio_length_in_s": 14}})
    assert response.status_code == 202, response.text
    longer = wait_for(stack, response.json()["id"], timeout_s=180)
    assert longer["status"] == "succeeded", longer
    assert longer["parent"] == first["id"] and longer["options"]["seed"] == 3
    stages = _stages(longer)
    assert [n for n, s in stages.items() if s == "skipped"] == [
        "describe", "sfx", "roles", "timbre", "instruments"]
    assert stages["arrangement"] == stages["render"] == "succeeded"
    assert _mix_seconds(stack, longer) >= 14 > _mix_seconds(stack, first) - 0.5

    # 3. An edited scene: sounds made again from the new sources.
    edited = USER_SCENE | {"sound_sources": USER_SCENE["sound_sources"][:1] + [{
        "name": "church bells", "material": "bronze bells",
        "variants": [{"play_method": "bells ringing", "mapping_to_music_instrument": "keyboard"}],
    }]}
    response = httpx.post(f"{stack}/jobs/{first['id']}/remix", json={"scene": edited})
    assert response.status_code == 202, response.text
    remixed = wait_for(stack, response.json()["id"], timeout_s=180)
    assert remixed["status"] == "succeeded", remixed
    assert _stages(remixed)["describe"] == "skipped" and _stages(remixed)["sfx"] == "succeeded"
    names = {a["name"] for a in remixed["artifacts"]}
    assert any("church_bells" in n for n in names if n.startswith("sfx/")), names
