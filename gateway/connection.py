"""Redis connections that ride out a Redis restart.

Every command is retried on connection errors with capped exponential backoff for about
`outage_s` seconds, so a gateway request or a worker's progress write made while Redis restarts
waits for it instead of failing. Redis itself keeps the data (AOF, `appendfsync everysec`).
"""

from __future__ import annotations

from redis import Redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import BusyLoadingError, ConnectionError, TimeoutError
from redis.retry import Retry

BACKOFF_CAP_S = 1.0


def connect_redis(url: str, *, outage_s: float = 30.0) -> Redis:
    """A client for `url` that keeps retrying for about `outage_s` seconds of outage."""
    retries = max(1, int(outage_s / BACKOFF_CAP_S))
    retry = Retry(ExponentialWithJitterBackoff(cap=BACKOFF_CAP_S, base=0.05), retries,
                  supported_errors=(ConnectionError, TimeoutError, BusyLoadingError,
                                    ConnectionResetError, OSError))
    return Redis.from_url(url, retry=retry, socket_connect_timeout=2, health_check_interval=10,
                          retry_on_error=[ConnectionError, TimeoutError, BusyLoadingError])
