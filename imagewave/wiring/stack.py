"""`imagewave serve`: the whole service stack on one machine, as separate processes.

Gateway, the four services (each its own uvicorn, as in production) and N RQ workers, plus an
embedded Redis when REDIS_URL is unset. Scaling beyond one machine is RQ workers and k8s;
this only starts and stops processes.
"""

from __future__ import annotations

import logging
import signal
import socket
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


class BindError(RuntimeError):
    """A port `serve` needs is taken: said at once instead of a crash-looping service."""


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def service_ports(gateway_port: int, host: str = "127.0.0.1") -> dict[str, int]:
    """The services' ports follow the gateway's: port+101.. (8000 → 8101–8104, as deployed);
    any of those taken (another stack, another program) or a gateway on port 0 → a free one."""
    ports = {}
    for offset, name in enumerate(SERVICE_APPS, start=101):
        wanted = gateway_port + offset if gateway_port else 0
        ports[name] = wanted if 0 < wanted < 65536 and port_is_free(host, wanted) \
            else free_port(host)
    return ports


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

    redis_url: str = ""
    service_urls: dict[str, str] = field(default_factory=dict)

    def start(self, timeout_s: float = 120.0) -> None:
        if not port_is_free(self.host, self.port):
            raise BindError(f"--port {self.port}: {self.host}:{self.port} is already in use "
                            f"(another `imagewave serve`?); pick another --port")
        self.service_urls = self._choose_service_urls()
        redis_url = self.settings.redis_url
        if not redis_url:
            self.redis = EmbeddedRedis(self.settings.data_dir / "redis")
            redis_url = self.redis.start()
            log.info("embedded Redis at %s", redis_url)
        self.redis_url = redis_url
        env = child_environment({
            "REDIS_URL": redis_url, "IMAGEWAVE_DATA_DIR": str(self.settings.data_dir),
            "IMAGEWAVE_ARTIFACT_DIR": str(self.settings.artifact_root),
            **{f"IMAGEWAVE_{name.upper()}_URL": url for name, url in self.service_urls.items()}})
        for name, app in SERVICE_APPS.items():
            url = urlparse(self.service_urls[name])
            self._spawn(name, _uvicorn(app, url.hostname or "127.0.0.1", url.port or 80), env)
        # uvloop + httptools (the gateway's p99 at 300 req/s needs them, BENCHMARKS.md) with
        # request-head size, head/body timeouts and a connection cap (gateway/http_server.py).
        self._spawn("gateway", [sys.executable, "-m", "gateway.http_server", "--host", self.host,
                                "--port", str(self.port)], env)
        for i in range(self.workers):
            self._spawn(f"worker-{i + 1}", [sys.executable, "-m", "imagewave.cli", "worker"], env)
        if self.workers:
            # Webhook deliveries have their own worker: a slow receiver never holds a job worker.
            self._spawn("webhooks-1", [sys.executable, "-m", "imagewave.cli", "worker",
                                       "--webhooks"], env)
        self._wait_healthy(timeout_s)

    def _choose_service_urls(self) -> dict[str, str]:
        """Service URLs the settings name explicitly are kept (and must be free); the others
        get ports derived from the gateway's, so two stacks never share a service."""
        chosen = service_ports(self.port)
        urls = {}
        for name in SERVICE_APPS:
            if f"{name}_url" in self.settings.model_fields_set:
                url = getattr(self.settings, f"{name}_url")
                parsed = urlparse(url)
                host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
                if not port_is_free(host, port):
                    raise BindError(f"IMAGEWAVE_{name.upper()}_URL: {host}:{port} is already "
                                    f"in use")
                urls[name] = url
            else:
                urls[name] = f"http://127.0.0.1:{chosen[name]}"
        return urls

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.commands[name] = (argv, env)
        self.processes[name] = subprocess.Popen(argv, env=env)

    def _wait_healthy(self, timeout_s: float) -> None:
        urls = dict(self.service_urls)
        local_host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        urls["gateway"] = f"http://{local_host}:{self.port}"
        deadline = time.monotonic() + timeout_s
        pending = dict(urls)
        while pending and time.monotonic() < deadline:
            for name, url in list(pending.items()):
                if self.processes[name].poll() is not None:
                    raise BindError(f"{name} exited with {self.processes[name].returncode} "
                                    f"before answering on {url} (its log is above)")
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
