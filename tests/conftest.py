"""Fixtures shared by the whole suite: real Redis, real HTTP servers on free ports, pictures."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
import redis
import uvicorn
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
# What the tests read lives in the repo (tests/data/README.md), so a clone needs nothing beside it.
TEST_DATA = REPO / "tests" / "data"
SEED_EXAMPLES = TEST_DATA / "seed"
GOLDEN = TEST_DATA / "golden" / "dev.json"
SCORER = TEST_DATA / "eval" / "score_scenes.py"
# Redis runs on 127.0.0.1:6379 here; tests use their own database number and flush it.
# IMAGEWAVE_TEST_REDIS_URL lets two checkouts run their suites side by side on other databases.
TEST_REDIS_URL = os.environ.get("IMAGEWAVE_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


# Test tiers: `make test-fast` deselects `slow` (starts processes), `redis` and `models`.
# A test that asks for one of these fixtures gets the marker by itself.
REDIS_FIXTURES = {"redis_url", "served"}
PROCESS_FIXTURES = {"served"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & REDIS_FIXTURES:
            item.add_marker(pytest.mark.redis)
        if fixtures & PROCESS_FIXTURES:
            item.add_marker(pytest.mark.slow)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_app(app, port: int | None = None) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a thread on a free port; yield its base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def redis_url() -> str:
    client = redis.Redis.from_url(TEST_REDIS_URL)
    client.flushdb()
    return TEST_REDIS_URL


def make_photo(path: Path, size: tuple[int, int] = (320, 240), seed: int = 0) -> Path:
    """A small picture with structure (sky, ground, texture) that any image decoder accepts."""
    rng = np.random.default_rng(seed)
    width, height = size
    y = np.linspace(0, 1, height)[:, None, None]
    sky = np.array([110, 160, 230]) * (1 - y) + np.array([40, 90, 60]) * y
    image = np.broadcast_to(sky, (height, width, 3)) + rng.normal(0, 12, (height, width, 3))
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return make_photo(tmp_path / "photo.jpg")


@pytest.fixture
def example_image() -> Path:
    return REPO / "examples" / "seaside.jpg"


@dataclass
class Served:
    url: str
    redis_url: str  # the embedded Redis `serve` started
    webhook_secret: str
    log_path: str


@pytest.fixture(scope="session")
def served(tmp_path_factory) -> Iterator[Served]:
    """One real `imagewave serve` for the session (embedded Redis, the four services, the
    gateway, two RQ workers as processes), shared by the end-to-end and web tests."""
    from imagewave.contracts.webhooks import new_webhook_secret
    from imagewave.embedded_redis import EmbeddedRedis

    data_dir = tmp_path_factory.mktemp("serve")
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
