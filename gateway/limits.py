"""Admission limits of POST /jobs, all counted in Redis so every gateway process agrees:

- backpressure: above `max_queue_depth` queued + running jobs, 429 with `Retry-After`;
- per key: at most `key_rate_per_minute` submissions per minute (fixed one-minute windows) and
  `key_max_active_jobs` jobs queued or running at once.

Webhook deliveries not yet made count like jobs in both (a canceled job's delivery too): a
client canceling every job it submits would otherwise queue deliveries without limit.

Anonymous callers (keys not required) meet only the backpressure limit.
"""

from __future__ import annotations

import shutil
import threading
import time

from redis import Redis
from starlette.exceptions import HTTPException

from gateway.jobs import JobStore
from gateway.settings import GatewaySettings
from gateway.webhooks import pending_deliveries
from imagewave.errors import ImagewaveError, PayloadTooLarge, StorageFull

# How long a client told "queue full" should wait: about the time a worker needs for a job.
BACKPRESSURE_RETRY_AFTER_S = 15
ACTIVE_LIMIT_RETRY_AFTER_S = 5


class TooManyRequests(ImagewaveError):
    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, int(retry_after_s))
        self.headers = {"Retry-After": str(self.retry_after_s)}


class DepthEstimate:
    """The queue depth without a Redis round trip per request while far from the limit:
    the last count read plus the jobs this process admitted since, re-read when over 90% of
    the limit or older than a second. Backpressure is approximate by nature; this keeps its
    cost off the hot path."""

    MAX_AGE_S = 1.0

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.read_at = float("-inf")
        self.depth = 0

    def over(self, jobs: JobStore, settings: GatewaySettings, limit: int) -> int | None:
        """The depth when it is at or over `limit`, else None (and count one admission)."""
        with self.lock:
            fresh = time.monotonic() - self.read_at < self.MAX_AGE_S
            if fresh and self.depth + 1 < 0.9 * limit:
                self.depth += 1
                return None
        depth = jobs.active_count() + pending_deliveries(jobs.redis, settings)
        with self.lock:
            self.read_at, self.depth = time.monotonic(), depth + 1
        return depth if depth >= limit else None


_depth_estimate = DepthEstimate()


def check_admission(redis: Redis, jobs: JobStore, settings: GatewaySettings,
                    owner: str | None) -> None:
    """Raise TooManyRequests when a new job must not be accepted now."""
    depth = _depth_estimate.over(jobs, settings, settings.max_queue_depth)
    if depth is not None:
        raise TooManyRequests(f"the queue is full ({depth} jobs waiting or running); "
                              "try again later", retry_after_s=BACKPRESSURE_RETRY_AFTER_S)
    if owner is None:
        return
    window = int(time.time() // 60)
    key = f"imagewave:rate:{owner}:{window}"
    pipe = redis.pipeline()
    pipe.incr(key)
    pipe.expire(key, 120)
    used, _ = pipe.execute()
    if used > settings.key_rate_per_minute:
        raise TooManyRequests(
            f"this API key may submit {settings.key_rate_per_minute} jobs per minute",
            retry_after_s=60 - int(time.time()) % 60)
    active = jobs.owner_active_count(owner)
    deliveries = pending_deliveries(redis, settings, owner)
    if active + deliveries >= settings.key_max_active_jobs:
        raise TooManyRequests(
            f"this API key has {active} jobs queued or running and {deliveries} webhook "
            f"deliveries pending; the limit is {settings.key_max_active_jobs}",
            retry_after_s=ACTIVE_LIMIT_RETRY_AFTER_S)


def free_disk_bytes(settings: GatewaySettings) -> int:
    root = settings.artifact_root
    root.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(root).free


def check_free_disk(settings: GatewaySettings) -> None:
    """507 before anything is written when the artifact disk is (nearly) full."""
    free = free_disk_bytes(settings)
    if free < settings.min_free_disk_bytes:
        raise StorageFull(f"the server is out of storage for new jobs ({free} bytes free, "
                          f"{settings.min_free_disk_bytes} needed); try again later")


def megabytes(size_bytes: int) -> str:
    """Sizes for people: `20 MB`, `22.3 MB` (MB = 2**20 bytes, as the limits are set)."""
    return f"{size_bytes / 2**20:.1f}".removesuffix(".0") + " MB"


# Multipart framing and the options field on top of the two files.
FORM_OVERHEAD_BYTES = 256 * 1024


class BodySizeLimit:
    """Refuse an oversized POST before it is read: Starlette would otherwise spool the whole
    upload to a temporary file before the route could say 413. A declared Content-Length over
    the limit gets 413 at once; a body without one is cut off when it passes the limit."""

    def __init__(self, app, *, max_body_bytes, field_limits=lambda: {}) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes  # () → int: settings are known after the lifespan
        self.field_limits = field_limits  # () → {"image": bytes, "midi": bytes}, for the message

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes()
        declared = next((value for name, value in scope["headers"]
                         if name == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            fields = self.field_limits()
            each = ", ".join(f"{name} up to {megabytes(size)}" for name, size in fields.items())
            error = PayloadTooLarge(
                f"the upload ({megabytes(int(declared)) if declared.isdigit() else 'unknown'}) "
                f"is larger than the limit of {megabytes(limit)}" + (f": {each}" if each else ""),
                field=next(iter(fields), None))
            from fastapi.responses import JSONResponse

            response = JSONResponse(error.to_response().model_dump(), status_code=413,
                                    headers={"Connection": "close"})
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # An HTTPException from the body stream passes FastAPI's form parsing as
                    # it is (any other error there becomes a 400), and the one error handler
                    # answers it in the one error shape.
                    raise HTTPException(413, f"request body is larger than the limit of "
                                             f"{limit} bytes", headers={"Connection": "close"})
            return message

        await self.app(scope, counting_receive, send)
