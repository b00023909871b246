"""Retention: a job lives `job_ttl_s` seconds; then its files go too.

Redis expires the job's record by itself (its TTL is set at creation). The sweep removes the
artifact directories of jobs whose record is gone, once the directory is older than a grace
period (so an upload written just before its record is created is never taken).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from gateway.jobs import JobStore
from gateway.quotas import forget_usage
from imagewave.artifacts import LocalArtifactStore, check_job_id

log = logging.getLogger(__name__)

GRACE_S = 3600.0


def sweep_expired(jobs: JobStore, store: LocalArtifactStore, *, grace_s: float = GRACE_S,
                  now: float | None = None) -> list[str]:
    """Delete artifact directories whose job record expired; return the job ids removed."""
    now = time.time() if now is None else now
    removed = []
    root = Path(store.root)
    if not root.is_dir():
        return removed
    for directory in root.iterdir():
        try:
            job_id = check_job_id(directory.name)
        except ValueError:
            continue
        if not directory.is_dir() or now - directory.stat().st_mtime < grace_s:
            continue
        if jobs.exists(job_id):
            continue
        store.delete_job(job_id)
        jobs.forget_active(job_id)
        forget_usage(jobs.redis, job_id)
        removed.append(job_id)
    if removed:
        log.info("retention: removed %d expired jobs' files", len(removed))
    return removed
