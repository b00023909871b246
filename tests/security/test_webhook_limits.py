"""Webhook deliveries cannot hold workers or pile up for free: one delivery has a deadline for
the whole exchange (a receiver trickling a byte at a time does not stretch it), and deliveries
not yet made count against the caller's limits, canceled jobs' included."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
import redis

from gateway.app import create_app
from gateway.auth import create_key
from gateway.settings import GatewaySettings
from gateway.webhook_targets import AllowList
from gateway.webhooks import PENDING_KEY, pending_deliveries, post_pinned
from tests.conftest import serve_app
from tests.reliability.harness import TricklingReceiver


def test_a_trickling_receiver_is_cut_off_at_the_delivery_deadline():
    receiver = TricklingReceiver(trickle_s=0.2)
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            post_pinned(receiver.url, b"{}", {}, AllowList.parse(["127.0.0.1"]), deadline_s=1.5)
        elapsed = time.monotonic() - started
    finally:
        receiver.close()
    # httpx's per-read timeout (1.5 s) would never fire: a byte arrives every 0.2 s.
    assert 1.4 < elapsed < 3.0, elapsed
    assert receiver.connections == 1


def test_pending_deliveries_of_canceled_jobs_count_against_the_key(redis_url, tmp_path: Path,
                                                                    photo: Path):
    settings = GatewaySettings(redis_url=redis_url, artifact_dir=tmp_path / "artifacts",
                               queue_name="test-webhook-limits",
                               webhook_queue_name="test-webhook-limits-hooks",
                               api_keys_required=True, key_max_active_jobs=3,
                               webhook_allow_hosts=["127.0.0.1"])
    client_redis = redis.Redis.from_url(redis_url)
    secret, _ = create_key(client_redis, "canceller")
    options = json.dumps({"webhook_url": "http://127.0.0.1:9/never-contacted"})  # no worker runs
    image = photo.read_bytes()
    with serve_app(create_app(settings)) as url, httpx.Client(
            base_url=url, timeout=10, headers={"X-API-Key": secret}) as client:
        for _ in range(3):
            response = client.post("/jobs", files={"image": ("p.jpg", image)},
                                   data={"options": options})
            assert response.status_code == 202, response.text
            canceled = client.delete(f"/jobs/{response.json()['id']}")
            assert canceled.json()["status"] == "canceled"
        # No job is active any more, but three deliveries wait: the key is at its limit.
        response = client.post("/jobs", files={"image": ("p.jpg", image)})
        assert response.status_code == 429, response.text
        assert "3 webhook deliveries pending" in response.json()["error"]["message"]
        assert response.headers["Retry-After"]
    assert pending_deliveries(client_redis, settings) == 3
    assert client_redis.zcard(PENDING_KEY) == 3
    # The deliveries wait in their own queue, not in the jobs' one.
    assert client_redis.llen("rq:queue:test-webhook-limits-hooks") == 3
    assert client_redis.llen("rq:queue:test-webhook-limits") == 0
