"""`imagewave serve`: the whole service stack on one machine, as separate processes.

Gateway, the four services (each its own uvicorn, as in production) and N RQ workers, plus an
embedded Redis when REDIS_URL is unset. Scaling beyond one machine is RQ workers and k8s;
this only starts and stops processes.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse

import httpx

from gateway.settings import GatewaySettings
from imagewave.embedded_redis import EmbeddedRedis
from imagewave.settings import child_environment

log = logging.getLogger("imagewave.serve")

SERVICE_APPS = {
    "vlm": "services.vlm.app:create_app",
    "t2a": "services.t2a.app:create_app",
    "timbre": "services.timbre.app:create_app",
    "render": "services.render.app:create_app",
}


def _uvicorn(app: str, host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "--factory", app, "--host", host, "--port",
            str(port), "--log-level", "warning", "--no-access-log"]


@dataclass
class Stack:
    settings: GatewaySettings
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    commands: dict[str, tuple[list[str], dict[str, str]]] = field(default_factory=dict)
    redis: EmbeddedRedis | None = None

    def start(self, timeout_s: float = 120.0) -> None:
        redis_url = self.settings.redis_url
        if not redis_url:
            self.redis = EmbeddedRedis(self.settings.data_dir / "redis")
            redis_url = self.redis.start()
            log.info("embedded Redis at %s", redis_url)
        env = child_environment({"REDIS_URL": redis_url,
                                 "IMAGEWAVE_ARTIFACT_DIR": str(self.settings.artifact_root)})
        for name, app in SERVICE_APPS.items():
            url = urlparse(getattr(self.settings, f"{name}_url"))
            self._spawn(name, _uvicorn(app, url.hostname or "127.0.0.1", url.port or 80), env)
        # uvloop + httptools: the gateway's p99 at 300 req/s (BENCHMARKS.md) needs them.
        self._spawn("gateway", _uvicorn("gateway.app:create_app", self.host, self.port)
                    + ["--loop", "uvloop", "--http", "httptools"], env)
        for i in range(self.workers):
            self._spawn(f"worker-{i + 1}", [sys.executable, "-m", "imagewave.cli", "worker"], env)
        self._wait_healthy(timeout_s)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.commands[name] = (argv, env)
        self.processes[name] = subprocess.Popen(argv, env=env)

    def _wait_healthy(self, timeout_s: float) -> None:
        urls = {name: getattr(self.settings, f"{name}_url") for name in SERVICE_APPS}
        local_host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        urls["gateway"] = f"http://{local_host}:{self.port}"
        deadline = time.monotonic() + timeout_s
        pending = dict(urls)
        while pending and time.monotonic() < deadline:
            for name, url in list(pending.items()):
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"{name} exited with {self.processes[name].returncode}")
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        del pending[name]
                except httpx.TransportError:
                    pass
            time.sleep(0.2)
        if pending:
            raise TimeoutError(f"not healthy after {timeout_s}s: {', '.join(pending)}")

    def wait(self) -> int:
        """Run until SIGINT/SIGTERM, restarting any process that dies; then stop everything."""
        stop = False

        def on_signal(signum, frame) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        try:
            while not stop:
                for name, process in list(self.processes.items()):
                    if process.poll() is not None:
                        log.warning("%s exited with %s; restarting it", name,
                                    process.returncode)
                        self._spawn(name, *self.commands[name])
                time.sleep(0.5)
            return 0
        finally:
            self.stop()

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.redis:
            self.redis.stop()
