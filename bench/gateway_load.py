"""Load on POST /jobs: a 50 KB photo at a fixed rate on loopback, open loop.

Starts its own redis-server (AOF everysec, free port) and, one after the other, the real gateway
and a bare FastAPI + RQ enqueue app (the floor to compare with) under uvicorn; no workers, so
the queue just grows. Latency is counted from each request's scheduled send time, so a stalled
server cannot hide behind a slowed-down client (no coordinated omission).

    .venv/bin/python bench/gateway_load.py --rate 300 --seconds 10 --processes 2

Prints p50/p90/p99/max latency, error count and achieved rate for both apps.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from fastapi import FastAPI, File, Form, UploadFile
from PIL import Image
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import free_port  # noqa: E402
from tests.reliability.harness import RedisServer  # noqa: E402


def photo_of_about(target_bytes: int = 50_000) -> bytes:
    """A noisy JPEG close to `target_bytes` (noise keeps JPEG from shrinking it away)."""
    rng = np.random.default_rng(0)
    side = 160
    while True:
        pixels = rng.integers(0, 255, (side, side * 4 // 3, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=85)
        if buffer.tell() >= target_bytes:
            return buffer.getvalue()
        side += 8


def multipart(image: bytes) -> tuple[bytes, str]:
    boundary = "imagewavebenchboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
            f"filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode() + image + (
        f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"options\"\r\n\r\n"
        f'{{"audio_length_in_s": 10}}\r\n--{boundary}--\r\n').encode()
    return body, f"multipart/form-data; boundary={boundary}"


# -- the floor: bare FastAPI + RQ enqueue ------------------------------------------------


def bare_app():
    """What any FastAPI + RQ gateway must do at least: read the upload, enqueue, answer."""
    queue = Queue("bench-bare", connection=Redis.from_url(os.environ["REDIS_URL"]),
                  serializer=JSONSerializer)
    app = FastAPI()

    @app.post("/jobs", status_code=202)
    def create(image: UploadFile = File(...), options: str | None = Form(None)) -> dict:  # noqa: B008
        image.file.read()
        job_id = secrets.token_urlsafe(16)
        queue.enqueue_call("gateway.worker.run_job", args=(job_id,), job_id=job_id)
        return {"id": job_id, "status": "queued"}

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    return app


# -- load ----------------------------------------------------------------------------------


class RawHttpPool:
    """Keep-alive HTTP/1.1 connections speaking just enough HTTP for this load: a generator
    this cheap leaves the CPU to the server under test (httpx costs ~1 ms a request)."""

    def __init__(self, port: int, size: int) -> None:
        self.port = port
        self.idle: asyncio.Queue = asyncio.Queue()
        self.size = size

    async def open(self) -> None:
        for _ in range(self.size):
            self.idle.put_nowait(await asyncio.open_connection("127.0.0.1", self.port))

    async def request(self, raw: bytes) -> int:
        reader, writer = await self.idle.get()
        try:
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
        except BaseException:
            writer.close()
            self.idle.put_nowait(await asyncio.open_connection("127.0.0.1", self.port))
            raise
        self.idle.put_nowait((reader, writer))
        return status

    async def close(self) -> None:
        while not self.idle.empty():
            _, writer = self.idle.get_nowait()
            writer.close()


async def run_load(port: int, body: bytes, content_type: str, rate: float,
                   seconds: float, connections: int = 64) -> dict:
    raw = (f"POST /jobs HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}"
           f"\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    total = int(rate * seconds)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    pool = RawHttpPool(port, connections)
    await pool.open()
    for _ in range(20):  # warm the server's code paths
        await pool.request(raw)

    async def one(scheduled: float) -> None:
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            status = await asyncio.wait_for(pool.request(raw), timeout=30)
            if status != 202:
                errors[str(status)] = errors.get(str(status), 0) + 1
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
        latencies.append(time.perf_counter() - scheduled)

    start = time.perf_counter() + 0.2
    await asyncio.gather(*(one(start + i / rate) for i in range(total)))
    elapsed = time.perf_counter() - start
    await pool.close()
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {"requests": total, "errors": sum(errors.values()), "error_kinds": errors,
            "achieved_rate": round(total / elapsed, 1),
            "p50_ms": round(pct(0.50), 2), "p90_ms": round(pct(0.90), 2),
            "p99_ms": round(pct(0.99), 2), "max_ms": round(latencies[-1] * 1000, 2),
            "mean_ms": round(statistics.fmean(latencies) * 1000, 2)}


def serve(app: str, port: int, processes: int, env: dict[str, str], *, loop: str = "uvloop",
          http: str = "httptools") -> subprocess.Popen:
    argv = [sys.executable, "-m", "uvicorn", "--factory", app, "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(processes), "--log-level", "warning",
            "--no-access-log", "--loop", loop, "--http", http]
    process = subprocess.Popen(argv, env=env, cwd=REPO)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise TimeoutError(f"{app} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--processes", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--only", choices=["gateway", "bare"], default=None)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--http", choices=["httptools", "h11"], default="httptools")
    args = parser.parse_args()

    image = photo_of_about(50_000)
    body, content_type = multipart(image)
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(Path(tmp) / "redis")
        redis.start()
        env = {**os.environ, "REDIS_URL": redis.url, "IMAGEWAVE_DATA_DIR": tmp,
               "IMAGEWAVE_MAX_QUEUE_DEPTH": "1000000", "PYTHONPATH": str(REPO)}
        apps = {"gateway": "gateway.app:create_app", "bare": "bench.gateway_load:bare_app"}
        results = {}
        try:
            for name, app in apps.items():
                if args.only and name != args.only:
                    continue
                port = free_port()
                server = serve(app, port, args.processes, env, loop=args.loop, http=args.http)
                try:
                    results[name] = asyncio.run(run_load(port, body, content_type, args.rate,
                                                         args.seconds))
                finally:
                    server.terminate()
                    server.wait(timeout=20)
        finally:
            redis.stop()
    print(json.dumps({"photo_bytes": len(image), "rate": args.rate, "seconds": args.seconds,
                      "uvicorn_processes": args.processes, "loop": args.loop, "http": args.http,
                      "load_average": os.getloadavg()[0], "results": results}, indent=2))


if __name__ == "__main__":
    main()
