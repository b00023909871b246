"""Webhooks: a receiver started here gets a correctly signed callback from a real stack,
failed deliveries come again with backoff, and the signature scheme rejects forgeries."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from imagewave.contracts.jobs import JobOptions
from imagewave.contracts.webhooks import (
    InvalidWebhookSignature,
    WebhookEventType,
    new_webhook_secret,
    verify_webhook,
    webhook_headers,
)
from tests.web.conftest import Served, WebhookReceiver, submit
from tests.web.test_events import read_events


@pytest.mark.slow
def test_a_finished_job_posts_a_signed_event_to_its_webhook(
        served: Served, webhook_receiver: WebhookReceiver, photo: Path):
    job_id = submit(served.url, photo, webhook_url=webhook_receiver.url)
    [delivery] = webhook_receiver.wait_for(1, timeout_s=120)

    event = verify_webhook(served.webhook_secret, delivery.headers, delivery.body)
    assert event.type is WebhookEventType.succeeded
    assert event.data.id == job_id and event.data.status.value == "succeeded"
    assert {"mix.wav", "arrangement.mid", "scene.json"} <= {a.name for a in event.data.artifacts}
    assert delivery.headers["webhook-id"] == f"msg_{job_id}"
    # The job is over by the time its webhook arrives.
    assert httpx.get(f"{served.url}/jobs/{job_id}").json()["status"] == "succeeded"

    # Any change to the body, or another secret, fails the check.
    tampered = delivery.body.replace(b'"succeeded"', b'"failed"', 1)
    with pytest.raises(InvalidWebhookSignature, match="does not match"):
        verify_webhook(served.webhook_secret, delivery.headers, tampered)
    with pytest.raises(InvalidWebhookSignature):
        verify_webhook(new_webhook_secret(), delivery.headers, delivery.body)


@pytest.mark.slow
def test_a_refused_delivery_is_retried_with_the_same_id(
        served: Served, webhook_receiver: WebhookReceiver, photo: Path):
    webhook_receiver.fail_first = 1
    submit(served.url, photo, webhook_url=webhook_receiver.url, seed=3)
    first, second = webhook_receiver.wait_for(2, timeout_s=120)

    assert (first.answered, second.answered) == (503, 204)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    first_at, second_at = (int(d.headers["webhook-timestamp"]) for d in (first, second))
    assert second_at - first_at >= 1  # backed off before redelivering
    verify_webhook(served.webhook_secret, second.headers, second.body)
    time.sleep(1)
    assert len(webhook_receiver.deliveries) == 2  # delivered once accepted: no more


def test_signatures_reject_old_deliveries_and_missing_headers():
    secret = new_webhook_secret()
    body = json.dumps({"type": "job.failed", "timestamp": 0, "data": {
        "id": "job12345", "status": "failed", "created_at": 0, "updated_at": 0,
        "options": JobOptions().model_dump(mode="json"), "stages": []}}).encode()
    headers = webhook_headers(secret, "msg_1", body)
    assert verify_webhook(secret, headers, body).type is WebhookEventType.failed

    old = webhook_headers(secret, "msg_1", body, timestamp=int(time.time()) - 3600)
    with pytest.raises(InvalidWebhookSignature, match="webhook-timestamp"):
        verify_webhook(secret, old, body)
    with pytest.raises(InvalidWebhookSignature, match="webhook-signature is missing"):
        verify_webhook(secret, {k: v for k, v in headers.items() if k != "webhook-signature"},
                       body)


def test_webhook_url_must_be_http(photo: Path):
    with pytest.raises(ValueError, match="webhook_url"):
        JobOptions(webhook_url="file:///etc/passwd")


@pytest.mark.slow
def test_a_canceled_job_ends_its_events_and_posts_job_canceled(
        served: Served, webhook_receiver: WebhookReceiver, photo: Path):
    job_id = submit(served.url, photo, webhook_url=webhook_receiver.url, audio_length_in_s=120,
                    sfx_length_in_s=8, seed=11)
    deadline = time.monotonic() + 60
    while httpx.get(f"{served.url}/jobs/{job_id}").json()["status"] == "queued":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert httpx.delete(f"{served.url}/jobs/{job_id}").json()["status"] == "canceled"

    events = read_events(served.url, job_id, timeout_s=20)
    assert events[-1][1]["status"] == "canceled" and events[-1][1]["stage"] is None
    [delivery] = webhook_receiver.wait_for(1, timeout_s=60)
    event = verify_webhook(served.webhook_secret, delivery.headers, delivery.body)
    assert event.type is WebhookEventType.canceled and event.data.id == job_id
