"""Web tests share the session's real `imagewave serve` (`served`, in tests/conftest.py); here:
the gateway alone on the test Redis, and a webhook receiver jobs can point at."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from redis import Redis

from gateway.app import create_app
from gateway.jobs import JobStore
from gateway.settings import GatewaySettings
from tests.conftest import Served, serve_app  # noqa: F401 - Served re-exported for the tests

# Short songs keep every job of this suite to seconds on 2 cores.
FAST_OPTIONS = {"audio_length_in_s": 5, "sfx_length_in_s": 1}


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
