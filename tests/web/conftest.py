"""One real `imagewave serve` (embedded Redis, four services, gateway, two RQ workers) shared by
the web tests, and a webhook receiver they can point jobs at."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from redis import Redis

from gateway.app import create_app
from gateway.jobs import JobStore
from gateway.settings import GatewaySettings
from imagewave.contracts.webhooks import new_webhook_secret
from imagewave.embedded_redis import EmbeddedRedis
from tests.conftest import free_port, serve_app

# Short songs keep every job of this suite to seconds on 2 cores.
FAST_OPTIONS = {"audio_length_in_s": 5, "sfx_length_in_s": 1}


@dataclass
class Served:
    url: str
    redis_url: str  # the embedded Redis `serve` started
    webhook_secret: str
    log_path: str


@pytest.fixture(scope="session")
def served(tmp_path_factory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("web-serve")
    port = free_port()
    secret = new_webhook_secret()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env |= {"IMAGEWAVE_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1",
            "IMAGEWAVE_WEBHOOK_SECRET": secret}
    for name in ("vlm", "t2a", "timbre", "render"):
        env[f"IMAGEWAVE_{name.upper()}_URL"] = f"http://127.0.0.1:{free_port()}"
    log_path = data_dir / "serve.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "imagewave.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    # The gateway answers before the services have loaded: wait for all of them.
    pending = [url] + [env[f"IMAGEWAVE_{n.upper()}_URL"] for n in ("vlm", "t2a", "timbre",
                                                                 "render")]
    deadline = time.monotonic() + 120
    while pending:
        try:
            if httpx.get(f"{pending[0]}/healthz", timeout=2).status_code == 200:
                pending.pop(0)
                continue
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            log.close()
            raise RuntimeError(log_path.read_text()[-3000:])
        time.sleep(0.3)
    yield Served(url=url, redis_url=EmbeddedRedis(data_dir / "redis").url,
                 webhook_secret=secret, log_path=str(log_path))
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    log.close()


@pytest.fixture
def gateway(redis_url: str, tmp_path) -> Iterator[tuple[str, JobStore]]:
    """The gateway app alone over real HTTP, on the test Redis (no workers): its URL and the
    job store to write job state as a worker would."""
    settings = GatewaySettings(redis_url=redis_url, artifact_dir=tmp_path / "artifacts")
    with serve_app(create_app(settings)) as url:
        yield url, JobStore(Redis.from_url(redis_url))


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class WebhookReceiver:
    """Records every POST; answers `fail_first` of them with 503 to exercise redelivery."""

    url: str = ""
    fail_first: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout_s: float = 60) -> list[Delivery]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.deliveries) >= count, timeout_s):
                raise AssertionError(f"{len(self.deliveries)} of {count} webhook deliveries "
                                     f"arrived in {timeout_s} s")
            return list(self.deliveries)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        body = await request.body()
        status = 503 if len(receiver.deliveries) < receiver.fail_first else 204
        with receiver.arrived:
            receiver.deliveries.append(Delivery(dict(request.headers), body, status))
            receiver.arrived.notify_all()
        return Response(status_code=status)

    with serve_app(app) as url:
        receiver.url = f"{url}/hook"
        yield receiver


def submit(url: str, image_path, **options) -> str:
    with open(image_path, "rb") as image:
        response = httpx.post(f"{url}/jobs", files={"image": image},
                              data={"options": json.dumps(FAST_OPTIONS | options)})
    assert response.status_code == 202, response.text
    return response.json()["id"]
