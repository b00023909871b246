"""The small ones of the hardening issue, each over real HTTP on a real Redis: no 500 for a job
path that names its event stream, an absurd Last-Event-ID replays instead of aborting, an
oversized chunked body is a 413, /healthz answers 503 fast while Redis hangs, Range errors come
in the one error shape, the Idempotency-Key fingerprint ignores JSON spacing, BMP/TIFF are
refused as the messages say, a killed render leaves no temp dir, 16-bit PNGs decode reduced."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from redis import Redis

from gateway.app import create_app
from gateway.jobs import JobStore
from gateway.settings import GatewaySettings
from imagewave.artifacts import LocalArtifactStore
from imagewave.contracts.jobs import JobOptions, JobStatus
from imagewave.images import open_image
from tests.conftest import serve_app
from tests.reliability.harness import RedisServer


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> GatewaySettings:
    return GatewaySettings(redis_url=redis_url, artifact_dir=tmp_path / "artifacts",
                           queue_name="test-small-hardening", max_upload_bytes=64 * 1024,
                           max_midi_bytes=16 * 1024)


@pytest.fixture
def gateway(settings) -> Iterator[httpx.Client]:
    with serve_app(create_app(settings)) as url, httpx.Client(base_url=url, timeout=10) as c:
        yield c


def submit(client: httpx.Client, photo: Path, **kwargs) -> httpx.Response:
    return client.post("/jobs", files={"image": ("p.jpg", photo.read_bytes())}, **kwargs)


def assert_error_shape(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"]
    return error


def test_a_job_path_naming_its_event_stream_is_a_404_not_a_wrongtype_500(gateway, photo):
    job_id = submit(gateway, photo).json()["id"]
    for path in (f"/jobs/{job_id}:events", f"/jobs/{job_id}:events/events",
                 f"/jobs/{job_id}:webhook"):
        assert_error_shape(gateway.get(path), 404)


def test_an_absurd_last_event_id_replays_the_stream(gateway, photo):
    job_id = submit(gateway, photo).json()["id"]
    gateway.delete(f"/jobs/{job_id}")
    for last_id in ("99999999999999999999-99999999999999999999", "18446744073709551616-0",
                    "-1", "0-0" + "0" * 100):
        response = gateway.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": last_id})
        assert response.status_code == 200, (last_id, response.text)
        assert '"status": "queued"' in response.text and '"status": "canceled"' in response.text


def test_an_oversized_chunked_body_is_a_413_in_the_one_error_shape(gateway, settings):
    limit = settings.max_upload_bytes + settings.max_midi_bytes + 256 * 1024

    def chunks():  # no Content-Length: httpx sends it chunked
        boundary = b"--x\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\""
        yield boundary + b"\r\n\r\n"
        for _ in range(limit // 65536 + 4):
            yield b"\0" * 65536

    response = gateway.post("/jobs", content=chunks(),
                            headers={"content-type": "multipart/form-data; boundary=x"})
    error = assert_error_shape(response, 413)
    assert error["code"] == "payload_too_large" and str(limit) in error["message"]


def test_healthz_answers_503_within_two_seconds_while_redis_hangs(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    settings = GatewaySettings(redis_url=server.url, artifact_dir=tmp_path / "artifacts")
    try:
        with serve_app(create_app(settings)) as url:
            assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
            os.kill(server.process.pid, signal.SIGSTOP)  # hangs: accepts, never answers
            try:
                started = time.monotonic()
                response = httpx.get(f"{url}/healthz", timeout=10)
                elapsed = time.monotonic() - started
            finally:
                os.kill(server.process.pid, signal.SIGCONT)
            assert response.status_code == 503 and elapsed < 2.5, (response.text, elapsed)
            server.stop()  # refused outright
            started = time.monotonic()
            response = httpx.get(f"{url}/healthz", timeout=10)
            assert response.status_code == 503 and time.monotonic() - started < 2.5
    finally:
        server.stop()


def test_range_errors_use_the_one_error_shape(gateway, settings):
    redis = Redis.from_url(settings.redis_url)
    jobs = JobStore(redis)
    jobs.create("rangejob000001", JobOptions(), input_image="input/image.jpg")
    jobs.set_status("rangejob000001", JobStatus.succeeded)
    LocalArtifactStore(settings.artifact_root).put_bytes("rangejob000001", "mix.wav",
                                                         bytes(range(100)))
    url = "/jobs/rangejob000001/artifacts/mix.wav"
    response = gateway.get(url, headers={"Range": "bytes=10-19"})
    assert response.status_code == 206 and response.content == bytes(range(10, 20))
    error = assert_error_shape(gateway.get(url, headers={"Range": "bytes=500-600"}), 416)
    assert error["code"] == "range_not_satisfiable" and error["field"] == "Range"
    for bad in ("bytes=abc", "lines=1-2", "bytes=9-3"):
        error = assert_error_shape(gateway.get(url, headers={"Range": bad}), 400)
        assert error["code"] == "invalid_range", bad


def test_idempotency_fingerprint_is_of_the_parsed_options(gateway, photo):
    key = {"Idempotency-Key": "spacing-test-1"}
    first = submit(gateway, photo, data={"options": '{"seed": 3, "sfx_length_in_s": 2}'},
                   headers=key)
    again = submit(gateway, photo, data={"options": '{ "sfx_length_in_s" : 2.0 ,"seed":3 }'},
                   headers=key)
    assert first.status_code == again.status_code == 202, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = submit(gateway, photo, data={"options": '{"seed": 4}'}, headers=key)
    assert assert_error_shape(other, 422)["code"] == "idempotency_key_reused"


@pytest.mark.parametrize("image_format", ["BMP", "TIFF"])
def test_bmp_and_tiff_are_refused_as_every_message_says(gateway, image_format):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(buffer, image_format)
    response = gateway.post("/jobs", files={"image": ("p.img", buffer.getvalue())})
    error = assert_error_shape(response, 422)
    assert error["field"] == "image" and "JPEG, PNG, WebP or GIF" in error["message"]


RENDER_CHILD = """
import sys, time
from services.render.serving import RenderServing
from services.render.settings import RenderSettings
serving = RenderServing(RenderSettings())
with serving._work_dir("render-") as tmp:
    open(tmp + "/partial.wav", "wb").write(b"x" * 1000)
    print(serving.work_root, flush=True)
    time.sleep(60)
"""


def test_a_killed_render_process_leaves_no_temp_dir_behind(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    child = subprocess.Popen([sys.executable, "-c", RENDER_CHILD], env=env,
                             stdout=subprocess.PIPE, text=True)
    work_root = Path(child.stdout.readline().strip())
    assert list(work_root.glob("render-*/partial.wav"))
    child.kill()  # no cleanup runs
    child.wait()
    assert work_root.exists()
    next_process = subprocess.run(
        [sys.executable, "-c", "from services.render.serving import RenderServing; "
         "from services.render.settings import RenderSettings; "
         "print(RenderServing(RenderSettings()).work_root)"],
        env=env, capture_output=True, text=True, check=True)
    assert not work_root.exists()
    assert Path(next_process.stdout.strip()).exists()  # its own, alive


def test_a_16_bit_png_is_decoded_reduced_to_the_size_the_describer_needs():
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((4000, 3000)).convert("I").convert("I;16").save(
        buffer, "PNG")
    image = open_image(buffer.getvalue(), max_side_px=768)
    assert image.mode == "RGB" and 768 <= max(image.size) < 2 * 768
    assert open_image(buffer.getvalue()).size == (4000, 3000)
