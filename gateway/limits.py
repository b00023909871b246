"""Admission limits of POST /jobs, all counted in Redis so every gateway process agrees:

- backpressure: above `max_queue_depth` queued + running jobs, 429 with `Retry-After`;
- per key: at most `key_rate_per_minute` submissions per minute (fixed one-minute windows) and
  `key_max_active_jobs` jobs queued or running at once.

Anonymous callers (keys not required) meet only the backpressure limit.
"""

from __future__ import annotations

import time

from redis import Redis

from gateway.jobs import JobStore
from gateway.settings import GatewaySettings
from imagewave.errors import ImagewaveError

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


def check_admission(redis: Redis, jobs: JobStore, settings: GatewaySettings,
                    owner: str | None) -> None:
    """Raise TooManyRequests when a new job must not be accepted now."""
    depth = jobs.active_count()
    if depth >= settings.max_queue_depth:
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
    if active >= settings.key_max_active_jobs:
        raise TooManyRequests(
            f"this API key has {active} jobs queued or running; the limit is "
            f"{settings.key_max_active_jobs}", retry_after_s=ACTIVE_LIMIT_RETRY_AFTER_S)
