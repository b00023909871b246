"""Storage quotas: how many bytes of job files each API key (and all anonymous callers
together) may keep, counted in Redis so every gateway and worker agrees.

Each job's bytes are recorded under its owner when it is admitted (the uploads) and again when
it ends (everything it wrote, measured on disk), whatever the ending: a canceled job's files
count until they are gone. They stop counting when the job is purged (`DELETE
/jobs/{id}?purge=true`) or its files are swept by retention. A submission that would take its
owner over the quota is refused with 429 until something is purged or expires.
"""

from __future__ import annotations

from pathlib import Path

from redis import Redis

from gateway.settings import GatewaySettings
from imagewave.errors import ImagewaveError

ANONYMOUS = "-"  # the bucket of every caller without a key
OWNERS_KEY = "imagewave:storage:owner-of"  # hash: job id → owner bucket


class StorageQuotaExceeded(ImagewaveError):
    status_code = 429
    code = "storage_quota_exceeded"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": "60"}


def _bucket(owner: str | None) -> str:
    return owner or ANONYMOUS


def _usage_key(bucket: str) -> str:
    return f"imagewave:storage:{bucket}"  # hash: job id → bytes


def quota_of(settings: GatewaySettings, owner: str | None) -> int:
    return settings.key_max_storage_bytes if owner else settings.anonymous_max_storage_bytes


def used_bytes(redis: Redis, owner: str | None) -> int:
    return sum(int(v) for v in redis.hvals(_usage_key(_bucket(owner))))


def check_quota(redis: Redis, settings: GatewaySettings, owner: str | None,
                new_bytes: int) -> None:
    quota = quota_of(settings, owner)
    used = used_bytes(redis, owner)
    if used + new_bytes > quota:
        who = "this API key's" if owner else "anonymous callers'"
        raise StorageQuotaExceeded(
            f"{who} jobs keep {used} bytes; this submission ({new_bytes} bytes) would pass the "
            f"storage quota of {quota} bytes. Delete finished jobs with "
            "DELETE /jobs/{id}?purge=true or wait for them to expire")


def record_usage(redis: Redis, job_id: str, owner: str | None, nbytes: int,
                 pipeline=None) -> None:
    bucket = _bucket(owner)
    pipe = pipeline if pipeline is not None else redis.pipeline()
    pipe.hset(_usage_key(bucket), job_id, nbytes)
    pipe.hset(OWNERS_KEY, job_id, bucket)
    if pipeline is None:
        pipe.execute()


def record_job_dir(redis: Redis, job_id: str, job_dir: Path) -> None:
    """After a job ends: its files as they are on disk now."""
    bucket = redis.hget(OWNERS_KEY, job_id)
    if bucket is None:
        return  # purged or swept meanwhile
    nbytes = sum(p.stat().st_size for p in job_dir.rglob("*") if p.is_file()) \
        if job_dir.is_dir() else 0
    redis.hset(_usage_key(bucket.decode()), job_id, nbytes)


def forget_usage(redis: Redis, job_id: str) -> None:
    bucket = redis.hget(OWNERS_KEY, job_id)
    pipe = redis.pipeline()
    if bucket is not None:
        pipe.hdel(_usage_key(bucket.decode()), job_id)
    pipe.hdel(OWNERS_KEY, job_id)
    pipe.execute()
