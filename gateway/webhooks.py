"""Webhooks: when a job with a `webhook_url` ends, a worker POSTs it a signed event.

`schedule_webhook` enqueues one delivery per job (a Redis flag makes repeated calls harmless:
the worker that finishes the job and a cancel may both call it). `deliver_webhook` runs in an RQ
worker, never in the gateway's request path; a refused or failed POST raises, and RQ retries it
with growing delays. Every retry of a delivery carries the same `webhook-id`, so receivers can
drop duplicates. Signing: imagewave/contracts/webhooks.py; allowed targets: webhook_targets.py.

Deliveries have their own queue (`webhook_queue_name`) and their own workers (`imagewave worker
--webhooks`): a receiver that answers slowly holds a webhook worker for at most
`webhook_timeout_s` (a deadline for the whole delivery, not per read), never a job worker.
A delivery is pending from its scheduling until it is delivered or given up; pending deliveries
count against their owner's limits like running jobs (gateway/limits.py), so submitting and
canceling jobs at once cannot pile up deliveries for free.
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
from redis import Redis
from rq import Retry, get_current_job

from gateway.jobs import KEY_PREFIX, JobStore
from gateway.queue import webhook_queue
from gateway.settings import GatewaySettings, process_settings
from gateway.views import job_view
from gateway.webhook_targets import (
    AllowList,
    Resolver,
    WebhookTargetRefused,
    parse_target,
    resolve_target,
    system_resolver,
)
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


PENDING_KEY = "imagewave:webhooks:pending"  # zset: job id → when its delivery was scheduled


def _scheduled_key(job_id: str) -> str:
    return KEY_PREFIX + job_id + ":webhook"


def owner_pending_key(owner: str) -> str:
    return f"imagewave:owner:{owner}:webhooks"


def pending_lifetime_s(settings: GatewaySettings) -> float:
    """The longest a delivery can stay pending: every try's deadline and every wait between
    tries, plus slack for a busy queue. Older entries are stale (a delivery lost with Redis)."""
    tries = settings.webhook_retries + 1
    return tries * (settings.webhook_timeout_s + 30) + sum(
        RETRY_DELAYS_S[:settings.webhook_retries]) + 600


def pending_deliveries(redis: Redis, settings: GatewaySettings, owner: str | None = None) -> int:
    """Deliveries scheduled and not yet delivered or given up: all, or one owner's."""
    key = owner_pending_key(owner) if owner else PENDING_KEY
    pipe = redis.pipeline()
    pipe.zremrangebyscore(key, 0, time.time() - pending_lifetime_s(settings))
    pipe.zcard(key)
    return int(pipe.execute()[1])


def _finish_pending(redis: Redis, job_id: str, owner: str | None) -> None:
    pipe = redis.pipeline()
    pipe.zrem(PENDING_KEY, job_id)
    if owner:
        pipe.zrem(owner_pending_key(owner), job_id)
    pipe.execute()


def schedule_webhook(redis: Redis, settings: GatewaySettings, job_id: str) -> bool:
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
    now = time.time()
    with redis.pipeline() as pipe:  # pending and enqueued together (RQ WATCHes first)
        webhook_queue(redis, settings).enqueue_call(
            DELIVER_WEBHOOK, args=(job_id,), job_id=f"{job_id}-webhook",
            timeout=int(settings.webhook_timeout_s) + 15, retry=retry,
            result_ttl=settings.job_ttl_s, failure_ttl=settings.job_ttl_s,
            description=f"webhook of imagewave job {job_id}", pipeline=pipe)
        pipe.zadd(PENDING_KEY, {job_id: now})
        if record.owner:
            pipe.zadd(owner_pending_key(record.owner), {job_id: now})
            pipe.expire(owner_pending_key(record.owner), int(pending_lifetime_s(settings)))
        pipe.execute()
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
    owner = JobStore(redis).owner(job_id)
    last_try = True
    try:
        rq_job = get_current_job()
        last_try = rq_job is None or not rq_job.retries_left
        event = build_event(redis, settings, job_id)
        if event is None or not event.data.options.webhook_url:
            last_try = True
            return "expired"
        body = event.model_dump_json().encode()
        headers = webhook_headers(webhook_secret(redis, settings), f"msg_{job_id}", body)
        headers["user-agent"] = "imagewave-webhook/1"
        started = time.monotonic()
        try:
            status = post_pinned(event.data.options.webhook_url, body, headers,
                                 AllowList.parse(settings.webhook_allow_hosts),
                                 deadline_s=settings.webhook_timeout_s)
        except WebhookTargetRefused as exc:
            # Not worth a retry: the address will not become public.
            last_try = True
            log.warning("job %s: webhook not sent: %s", job_id, exc.message)
            return f"refused: {exc.message}"
        except (httpx.HTTPError, TimeoutError) as exc:
            raise WebhookDeliveryError(f"job {job_id}: webhook POST failed: {exc!r}") from exc
        if not 200 <= status < 300:
            raise WebhookDeliveryError(f"job {job_id}: webhook answered {status}; will retry")
        last_try = True
        log.info("job %s: webhook %s delivered in %.2f s", job_id, event.type.value,
                 time.monotonic() - started)
        return f"delivered {status}"
    finally:
        if last_try:  # delivered or given up: no longer pending
            _finish_pending(redis, job_id, owner)
        redis.close()


def post_pinned(url: str, body: bytes, headers: dict[str, str], allow: AllowList, *,
                deadline_s: float, resolver: Resolver = system_resolver) -> int:
    """POST `body` to `url` over a connection to the address that was checked; the status code.

    The host is resolved and checked here, then the request goes to that address with the
    original Host header (and TLS SNI / certificate name), so a second DNS answer cannot move
    it. `deadline_s` bounds the whole delivery (connect, send, the answer's headers): httpx's
    own timeouts are per read, which a receiver trickling a byte at a time never trips.
    """
    target = parse_target(url)
    address = resolve_target(target, allow, resolver)
    pinned = httpx.URL(url).copy_with(host=address)
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if ":" not in target.host else f"[{target.host}]"
    if target.port != default_port:
        host_header += f":{target.port}"
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}

    async def post() -> int:
        # trust_env=False: an HTTP(S)_PROXY from the environment would connect elsewhere.
        async with httpx.AsyncClient(timeout=deadline_s, follow_redirects=False,
                                     trust_env=False) as client:
            request = client.build_request("POST", pinned, content=body,
                                           headers={**headers, "host": host_header},
                                           extensions=extensions)
            response = await client.send(request, stream=True)  # the body is not needed
            await response.aclose()
            return response.status_code

    async def within_deadline() -> int:
        return await asyncio.wait_for(post(), timeout=deadline_s)

    return asyncio.run(within_deadline())
