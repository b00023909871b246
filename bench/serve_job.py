"""Benchmark: one job through `imagewave serve` (no REDIS_URL → embedded Redis), the way a user
does it with curl: POST /jobs, poll GET /jobs/{id}, download mix.wav. Pictures from a small
JPEG to a ~20 MB one (the upload limit).

    .venv/bin/python bench/serve_job.py [--seconds 30]

Issue A's target: any ordinary photo up to 20 MB → song in under 90 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def big_photo(target_bytes: int) -> bytes:
    """The demo picture upscaled with fine grain until its JPEG is about `target_bytes`."""
    base = Image.open(REPO / "examples" / "seaside.jpg")
    side = 2000
    while True:
        image = base.resize((side * 3 // 2, side))
        grain = np.random.default_rng(0).normal(0, 18, (side, side * 3 // 2, 3))
        pixels = np.clip(np.asarray(image, dtype=np.float32) + grain, 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=97)
        if buffer.tell() >= target_bytes * 0.85 or side >= 6000:
            return buffer.getvalue()
        side = int(side * 1.25)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    print(f"# serve job benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"python {platform.python_version()}, song {args.seconds:.0f} s")
    pictures = {"seaside.jpg (89 KB)": (REPO / "examples" / "seaside.jpg").read_bytes()}
    big = big_photo(19_000_000)
    pictures[f"grainy photo ({len(big) / 1e6:.1f} MB, {Image.open(io.BytesIO(big)).size})"] = big

    with tempfile.TemporaryDirectory() as data_dir:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env |= {"IMAGEWAVE_DATA_DIR": data_dir}
        for name in ("vlm", "t2a", "timbre", "render"):
            env[f"IMAGEWAVE_{name.upper()}_URL"] = f"http://127.0.0.1:{free_port()}"
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "imagewave.cli", "serve", "--port",
                                    str(port), "--workers", "2"], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        assert process.stdout is not None
        for line in process.stdout:  # `serve` prints its URL once every part is healthy
            if b"imagewave is serving" in line:
                break
        print(f"serve ready in {time.perf_counter() - started:.1f} s")
        try:
            for label, data in pictures.items():
                t0 = time.perf_counter()
                response = httpx.post(f"{url}/jobs", files={"image": ("photo.jpg", data)},
                                      data={"options": json.dumps(
                                          {"audio_length_in_s": args.seconds})}, timeout=60)
                accepted = time.perf_counter() - t0
                job_id = response.json()["id"]
                while (job := httpx.get(f"{url}/jobs/{job_id}").json())["status"] not in (
                        "succeeded", "failed", "canceled"):
                    time.sleep(0.25)
                mix = httpx.get(f"{url}/jobs/{job_id}/artifacts/mix.wav").content
                total = time.perf_counter() - t0
                samples, rate = sf.read(io.BytesIO(mix))
                print(f"{label:45s} {job['status']:9s} accepted in {accepted * 1000:6.0f} ms, "
                      f"song downloaded after {total:5.1f} s ({len(samples) / rate:.1f} s song, "
                      f"peak {np.abs(samples).max():.2f})")
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
