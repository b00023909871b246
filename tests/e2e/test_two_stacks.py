"""Two `imagewave serve` stacks side by side (issue 16): each with its own data directory and
port, its services on their own ports, each passing a job; a third on a taken port fails at
once, loudly, naming --port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.slow


def start_serve(port: int, data_dir: Path, log_path: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items()
           if k != "REDIS_URL" and not k.endswith(("_URL", "_DATA_DIR", "_ARTIFACT_DIR"))
           or k.startswith("IMAGEWAVE_TEST")}
    env["PYTHONUNBUFFERED"] = "1"
    return subprocess.Popen(
        [sys.executable, "-m", "imagewave.cli", "serve", "--port", str(port), "--workers", "1",
         "--data-dir", str(data_dir)],
        env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def wait_serving(process: subprocess.Popen, log_path: Path, timeout_s: float = 180) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = log_path.read_text()
        if "page:" in text and "redis:" in text:
            return text
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}:\n{text}")
        time.sleep(0.3)
    raise AssertionError(f"serve not up after {timeout_s} s:\n{log_path.read_text()}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)


def test_two_stacks_with_their_own_data_dirs_pass_a_job_each(tmp_path, photo):
    stacks = []
    try:
        for name in ("one", "two"):
            port = free_port()
            data_dir = tmp_path / name
            log_path = tmp_path / f"{name}.log"
            stacks.append((port, data_dir, log_path, start_serve(port, data_dir, log_path)))
        service_lines = []
        for port, data_dir, log_path, process in stacks:
            banner = wait_serving(process, log_path)
            # The start banner says where everything is.
            assert f"page:     http://127.0.0.1:{port}/" in banner, banner
            assert f"data:     {data_dir}" in banner, banner
            assert f"redis:    unix://{data_dir}/redis/redis.sock" in banner, banner
            service_lines.append(next(line for line in banner.splitlines()
                                      if "services:" in line))
        assert service_lines[0] != service_lines[1]  # no stack borrows the other's services

        job_ids = []
        for port, *_ in stacks:
            with photo.open("rb") as image:
                response = httpx.post(f"http://127.0.0.1:{port}/jobs", files={"image": image},
                                      data={"options": '{"audio_length_in_s": 5, '
                                                       '"sfx_length_in_s": 1}'})
            assert response.status_code == 202, response.text
            job_ids.append(response.json()["id"])
        for (port, data_dir, *_), job_id in zip(stacks, job_ids, strict=True):
            deadline = time.monotonic() + 240
            while True:
                job = httpx.get(f"http://127.0.0.1:{port}/jobs/{job_id}").json()
                if job["status"] in ("succeeded", "failed", "canceled") or \
                        time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert job["status"] == "succeeded", job
            # The job's files are in this stack's data directory, and only there.
            assert (data_dir / "artifacts" / job_id / "mix.wav").is_file()
        other = stacks[1][0]
        assert httpx.get(f"http://127.0.0.1:{other}/jobs/{job_ids[0]}").status_code == 404

        # A third stack on a taken port: exit 2 at once, one clear line, nothing left running.
        started = time.monotonic()
        taken = subprocess.run(
            [sys.executable, "-m", "imagewave.cli", "serve", "--port", str(stacks[0][0]),
             "--data-dir", str(tmp_path / "three")], capture_output=True, text=True, timeout=60)
        assert taken.returncode == 2 and time.monotonic() - started < 30, taken
        assert "--port" in taken.stderr and "in use" in taken.stderr, taken.stderr
    finally:
        for *_, process in stacks:
            stop(process)
