"""A real stack for fault injection: our own redis-server (AOF, on a free port, restartable),
the four services, the gateway and RQ workers as processes (imagewave.wiring.stack.Stack).

Used by tests/reliability, tests/security and bench/chaos.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Worker

from gateway.settings import GatewaySettings
from imagewave.embedded_redis import redis_server_binary
from imagewave.wiring.stack import Stack
from tests.conftest import free_port

FINAL = ("succeeded", "failed", "canceled")


class RedisServer:
    """redis-server with AOF (`appendfsync everysec`) in `data_dir`, on a free TCP port."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 15.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        binary = shutil.which("redis-server") or redis_server_binary()
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
             "--logfile", "redis.log"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if Redis.from_url(self.url, socket_connect_timeout=0.5).ping():
                    return
            except (RedisConnectionError, OSError):
                time.sleep(0.05)
        raise TimeoutError(f"redis-server on port {self.port} did not start")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=20)

    def restart(self, sig: int = signal.SIGTERM, down_s: float = 1.0) -> None:
        """Stop (SIGTERM: clean shutdown; SIGKILL: crash) and start again from the AOF."""
        self.stop(sig)
        time.sleep(down_s)
        self.start()


# Fast recovery for tests: heartbeats every second, a job is abandoned after 6 s of silence.
TEST_ENV = {
    "IMAGEWAVE_JOB_MONITORING_INTERVAL_S": "1",
    "IMAGEWAVE_STALE_JOB_AFTER_S": "6",
    "IMAGEWAVE_REAPER_INTERVAL_S": "1",
    "IMAGEWAVE_SERVICE_RETRIES": "2",
    "IMAGEWAVE_SERVICE_BACKOFF_S": "0.3",
    "IMAGEWAVE_LOG_LEVEL": "WARNING",
}


@dataclass
class LiveStack:
    data_dir: Path
    workers: int = 2
    env: dict[str, str] = field(default_factory=dict)
    redis: RedisServer = field(init=False)
    stack: Stack = field(init=False)
    url: str = field(init=False)

    def start(self) -> LiveStack:
        self.redis = RedisServer(self.data_dir / "redis")
        self.redis.start()
        env = {**TEST_ENV, **self.env, "REDIS_URL": self.redis.url,
               "IMAGEWAVE_DATA_DIR": str(self.data_dir)}
        for name in ("vlm", "t2a", "timbre", "render"):
            env[f"IMAGEWAVE_{name.upper()}_URL"] = f"http://127.0.0.1:{free_port()}"
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)  # Stack hands this environment to every process it starts
        try:
            port = free_port()
            self.stack = Stack(GatewaySettings(), port=port, workers=self.workers)
            self.url = f"http://127.0.0.1:{port}"
            try:
                self.stack.start(timeout_s=180)
            except BaseException:
                self.stop()
                raise
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        return self

    def stop(self) -> None:
        self.stack.stop()
        self.redis.stop()

    # -- the client side -----------------------------------------------------------------

    def submit(self, image: bytes, options: str = '{"audio_length_in_s": 5, '
                                                 '"sfx_length_in_s": 1}', **kwargs) -> str:
        response = httpx.post(f"{self.url}/jobs", files={"image": ("photo.jpg", image)},
                              data={"options": options}, timeout=30, **kwargs)
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def job(self, job_id: str) -> dict:
        return httpx.get(f"{self.url}/jobs/{job_id}", timeout=30).json()

    def wait(self, job_id: str, timeout_s: float = 120, until=FINAL) -> dict:
        deadline = time.monotonic() + timeout_s
        job: dict = {}
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if job.get("status") in until:
                return job
            time.sleep(0.3)
        raise AssertionError(f"job {job_id} is {job.get('status')} after {timeout_s}s: {job}")

    def wait_for_stage(self, job_id: str, stage: str, timeout_s: float = 120) -> dict:
        """Wait until `stage` is running (or later); return the job."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = self.job(job_id)
            stages = {s["name"]: s["status"] for s in job["stages"]}
            if stages.get(stage) in ("running", "succeeded") or job["status"] in FINAL:
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} never reached stage {stage}")

    # -- faults --------------------------------------------------------------------------

    def redis_client(self) -> Redis:
        return Redis.from_url(self.redis.url)

    def worker_running(self, job_id: str) -> tuple[str, int] | None:
        """(stack process name, pid) of the worker whose horse runs `job_id`."""
        for worker in Worker.all(connection=self.redis_client()):
            if worker.get_current_job_id() == job_id:
                for name, process in self.stack.processes.items():
                    if process.pid == worker.pid:
                        return name, worker.pid
        return None

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.stack.processes[name]
        os.kill(process.pid, sig)
        process.wait(timeout=10)

    def respawn(self, name: str) -> None:
        self.stack._spawn(name, *self.stack.commands[name])

    def wait_healthy(self, name: str, timeout_s: float = 120) -> None:
        url = getattr(self.stack.settings, f"{name}_url")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{name} not healthy after {timeout_s}s")


def children_of(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def is_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"
