"""Webhooks: when a job with a `webhook_url` ends, a worker POSTs it a signed event.

`schedule_webhook` enqueues one delivery per job (a Redis flag makes repeated calls harmless:
the worker that finishes the job and a cancel may both call it). `deliver_webhook` runs in an RQ
worker, never in the gateway's request path; a refused or failed POST raises, and RQ retries it
with growing delays. Every retry of a delivery carries the same `webhook-id`, so receivers can
drop duplicates. Signing: imagewave/contracts/webhooks.py.
"""

from __future__ import annotations

import logging
import time

import httpx
from redis import Redis
from rq import Queue, Retry

from gateway.jobs import KEY_PREFIX, JobStore
from gateway.settings import GatewaySettings, process_settings
from gateway.views import job_view
from imagewave.artifacts import LocalArtifactStore
from imagewave.contracts.webhooks import (
    WebhookEvent,
    WebhookEventType,
    new_webhook_secret,
    webhook_headers,
)

log = logging.getLogger(__name__)

DELIVER_WEBHOOK = "gateway.webhooks.deliver_webhook"
SECRET_KEY = "imagewave:webhook-secret"
# Seconds before redelivery 1, 2, ...: about 5 minutes of tries in all by default.
RETRY_DELAYS_S = [2, 10, 30, 90, 180, 300, 600, 900, 1800, 3600]


class WebhookDeliveryError(Exception):
    pass


def webhook_secret(redis: Redis, settings: GatewaySettings) -> str:
    """The configured secret, or the one this Redis keeps for every gateway and worker on it."""
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value()
    redis.set(SECRET_KEY, new_webhook_secret(), nx=True)
    return redis.get(SECRET_KEY).decode()


def _scheduled_key(job_id: str) -> str:
    return KEY_PREFIX + job_id + ":webhook"


def schedule_webhook(redis: Redis, queue: Queue, settings: GatewaySettings, job_id: str) -> bool:
    """Enqueue the delivery of a finished job's webhook once; False when there is nothing to do
    (no webhook_url, job not finished, or already scheduled)."""
    record = JobStore(redis, ttl_s=settings.job_ttl_s).get(job_id)
    if record is None or not record.status.is_final or not record.options.webhook_url:
        return False
    if not redis.set(_scheduled_key(job_id), "1", nx=True, ex=settings.job_ttl_s):
        return False
    retry = None
    if settings.webhook_retries:
        retry = Retry(max=settings.webhook_retries,
                      interval=RETRY_DELAYS_S[:settings.webhook_retries])
    # At the front: a notification should not wait behind queued songs.
    queue.enqueue_call(DELIVER_WEBHOOK, args=(job_id,), job_id=f"{job_id}-webhook",
                       timeout=int(settings.webhook_timeout_s) + 30, retry=retry,
                       result_ttl=settings.job_ttl_s, failure_ttl=settings.job_ttl_s,
                       at_front=True, description=f"webhook of imagewave job {job_id}")
    return True


def build_event(redis: Redis, settings: GatewaySettings, job_id: str) -> WebhookEvent | None:
    jobs = JobStore(redis, ttl_s=settings.job_ttl_s)
    record = jobs.get(job_id)
    if record is None:
        return None
    return WebhookEvent(type=WebhookEventType.for_status(record.status),
                        timestamp=record.updated_at,
                        data=job_view(LocalArtifactStore(settings.artifact_root), record))


def deliver_webhook(job_id: str) -> str:
    """RQ task: POST the job's event to its webhook_url; raise on failure so RQ retries."""
    settings = process_settings()
    redis = Redis.from_url(settings.redis_url)
    try:
        event = build_event(redis, settings, job_id)
        if event is None or not event.data.options.webhook_url:
            return "expired"
        body = event.model_dump_json().encode()
        headers = webhook_headers(webhook_secret(redis, settings), f"msg_{job_id}", body)
        headers["user-agent"] = "imagewave-webhook/1"
        started = time.monotonic()
        try:
            response = httpx.post(event.data.options.webhook_url, content=body, headers=headers,
                                  timeout=settings.webhook_timeout_s, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise WebhookDeliveryError(f"job {job_id}: webhook POST failed: {exc!r}") from exc
        if not response.is_success:
            raise WebhookDeliveryError(
                f"job {job_id}: webhook answered {response.status_code}; will retry")
        log.info("job %s: webhook %s delivered in %.2f s", job_id, event.type.value,
                 time.monotonic() - started)
        return f"delivered {response.status_code}"
    finally:
        redis.close()
