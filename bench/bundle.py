"""GET /jobs/{id}/bundle.zip on a large finished job, repeated and concurrent (issue 15 item 8).

    PYTHONPATH=$PWD .venv/bin/python bench/bundle.py --mb 200

Makes a succeeded job whose artifacts are `--mb` MB of WAV noise (what stems and samples look
like to deflate), serves the gateway in this process on its own redis-server, then times four
GETs one after another and four at once, with this process's CPU seconds for each phase.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import io
import json
import resource
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf
from redis import Redis

from gateway.app import create_app
from gateway.jobs import JobStore
from gateway.settings import GatewaySettings
from imagewave.artifacts import LocalArtifactStore
from imagewave.contracts.jobs import JobOptions, JobStatus
from tests.conftest import serve_app
from tests.reliability.harness import RedisServer

JOB = "bundlebench00000001"


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bundle-bench-") as tmp:
        redis = RedisServer(Path(tmp) / "redis")
        redis.start()
        settings = GatewaySettings(redis_url=redis.url, artifact_dir=Path(tmp) / "artifacts",
                                   log_level="WARNING")
        store = LocalArtifactStore(settings.artifact_root)
        rng = np.random.default_rng(0)
        written = 0
        for i in range(max(1, args.mb // 10)):  # ~10 MB WAV files (float32 noise, 48 kHz)
            buffer = io.BytesIO()
            sf.write(buffer, (rng.standard_normal(2_600_000) * 0.1).astype(np.float32), 48_000,
                     format="WAV", subtype="FLOAT")
            store.put_bytes(JOB, f"stems/stem_{i:02d}.wav", buffer.getvalue())
            written += len(buffer.getvalue())
        jobs = JobStore(Redis.from_url(redis.url))
        jobs.create(JOB, JobOptions(), input_image="input/image.jpg")
        jobs.set_status(JOB, JobStatus.succeeded)
        results = {"artifacts_mb": round(written / 1e6)}
        try:
            with serve_app(create_app(settings)) as url:
                get = lambda: httpx.get(f"{url}/jobs/{JOB}/bundle.zip", timeout=600)  # noqa: E731
                sequential = []
                cpu, started = cpu_s(), time.monotonic()
                for _ in range(4):
                    t = time.monotonic()
                    assert get().status_code == 200
                    sequential.append(round(time.monotonic() - t, 2))
                results["sequential_s"] = sequential
                results["sequential_cpu_s"] = round(cpu_s() - cpu, 1)
                cpu, started = cpu_s(), time.monotonic()
                with concurrent.futures.ThreadPoolExecutor(4) as pool:
                    assert all(r.status_code == 200 for r in pool.map(lambda _: get(), range(4)))
                results["concurrent_4_wall_s"] = round(time.monotonic() - started, 2)
                results["concurrent_cpu_s"] = round(cpu_s() - cpu, 1)
        finally:
            redis.stop()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
