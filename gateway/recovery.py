"""Crash recovery: dead workers' jobs are retried within seconds, and no job stays unfinished.

RQ already does most of it: a work-horse killed under a living worker is failed and retried by
that worker at once; a job whose whole worker died stays in the StartedJobRegistry until its
heartbeat expires, and RQ's `StartedJobRegistry.cleanup` then retries it (or fails it when no
retries are left). What RQ lacks is speed: an execution's heartbeat lives
`job_monitoring_interval + 60` s and cleanup runs once per maintenance interval (600 s by
default). The reaper runs that same cleanup every few seconds with a cutoff moved forward, so an
execution whose worker sent no heartbeat for `stale_job_after_s` counts as abandoned.

It also reconciles our job records with RQ's: a job RQ gave up on (retries exhausted) is marked
failed with the stage it was in; a job RQ lost (its queue entry gone) is enqueued again.

Several reapers (the gateway, each worker) may run; a short Redis lock lets one act at a time.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.job import JobStatus as RqStatus
from rq.registry import StartedJobRegistry

from gateway.engines import ENGINES_REFRESH_S, publish_enabled_engines
from gateway.jobs import JobStore
from gateway.queue import enqueue_job, job_queue
from gateway.retention import sweep_expired
from gateway.settings import GatewaySettings
from imagewave.artifacts import LocalArtifactStore
from imagewave.contracts.jobs import JobError, JobStatus, StageStatus

log = logging.getLogger(__name__)

LOCK_KEY = "imagewave:reaper:lock"
RETENTION_LOCK_KEY = "imagewave:retention:lock"
ENGINES_LOCK_KEY = "imagewave:engines:lock"
# RQ keeps an execution alive for job_monitoring_interval + this many seconds per heartbeat.
RQ_HEARTBEAT_GRACE_S = 60
# A record this young may still be between JobStore.create and enqueue in POST /jobs.
ENQUEUE_GRACE_S = 30.0
RECONCILE_INTERVAL_S = 10.0


@dataclass
class ReapReport:
    abandoned: list[str] = field(default_factory=list)  # retried or failed by RQ's cleanup
    failed: list[str] = field(default_factory=list)  # our record marked failed
    requeued: list[str] = field(default_factory=list)  # lost by RQ, enqueued again


class Reaper:
    def __init__(self, redis: Redis, settings: GatewaySettings) -> None:
        self.redis = redis
        self.settings = settings
        self.queue: Queue = job_queue(redis, settings)
        self.jobs = JobStore(redis, ttl_s=settings.job_ttl_s)
        self.reconciled_at = float("-inf")

    def run_once(self, *, retry_abandoned: bool = True) -> ReapReport | None:
        """One pass; None when another reaper holds the lock. `retry_abandoned=False` right
        after a Redis outage: every worker's heartbeats stopped too, and silence then proves
        nothing until they have had `stale_job_after_s` to beat again."""
        lock_ms = int(max(self.settings.reaper_interval_s, 1.0) * 1000)
        if not self.redis.set(LOCK_KEY, os.getpid(), nx=True, px=lock_ms):
            return None
        report = ReapReport()
        if retry_abandoned:
            report.abandoned = self.retry_abandoned()
        # Reconciling reads every unfinished job: less often than the cheap abandoned check.
        if time.monotonic() - self.reconciled_at >= RECONCILE_INTERVAL_S:
            self.reconcile(report)
            self.reconciled_at = time.monotonic()
        if report.abandoned or report.failed or report.requeued:
            log.warning("reaper: abandoned %s, failed %s, requeued %s", report.abandoned,
                        report.failed, report.requeued)
        return report

    def retry_abandoned(self) -> list[str]:
        """RQ's own cleanup of the started registry, with heartbeats `stale_job_after_s` old
        counting as expired (RQ's cutoff is `job_monitoring_interval + 60` s)."""
        registry = StartedJobRegistry(queue=self.queue)
        heartbeat_ttl_s = self.settings.job_monitoring_interval_s + RQ_HEARTBEAT_GRACE_S
        cutoff = time.time() + heartbeat_ttl_s - self.settings.stale_job_after_s
        expired = registry.get_expired_job_ids(cutoff)
        if expired:
            registry.cleanup(timestamp=cutoff)
        return expired

    def reconcile(self, report: ReapReport) -> None:
        for job_id in self.jobs.active_ids(created_before=time.time() - ENQUEUE_GRACE_S):
            try:
                self._reconcile_one(job_id, report)
            except RedisError:
                raise  # an outage: the caller waits it out
            except Exception:
                # One bad record must not stop reconcile (and retention) for every other job.
                log.exception("reaper: job %s could not be reconciled; dropping it from the "
                              "active index", job_id)
                self.jobs.forget_active(job_id)

    def _reconcile_one(self, job_id: str, report: ReapReport) -> None:
        record = self.jobs.get(job_id)
        if record is None:  # the record expired, or only a partial hash (no status) is left
            if not self.jobs.exists(job_id):
                self.redis.delete(self.jobs.key(job_id))  # a partial hash has no TTL
            self.jobs.forget_active(job_id)
            return
        if record.status.is_final:
            self.jobs.forget_active(job_id, record.owner)
            return
        try:
            rq_job = Job.fetch(job_id, connection=self.redis, serializer=self.queue.serializer)
            rq_status = rq_job.get_status(refresh=False)
        except NoSuchJobError:
            rq_job, rq_status = None, None
        if rq_status is None:  # never enqueued (gateway died meanwhile) or lost by Redis
            enqueue_job(self.queue, job_id, self.settings)
            report.requeued.append(job_id)
        elif rq_status in (RqStatus.FAILED, RqStatus.STOPPED, RqStatus.CANCELED):
            self._fail(record.id, record.stages, rq_job, report)

    def _fail(self, job_id: str, stages, rq_job: Job | None, report: ReapReport) -> None:
        stage = next((s.name for s in stages if s.status in (StageStatus.running,
                                                              StageStatus.failed)), None)
        reason = _last_line(rq_job.latest_result().exc_string) if rq_job and \
            rq_job.latest_result() and rq_job.latest_result().exc_string else "the worker died"
        where = f"stage {stage.value}" if stage else "the job"
        message = f"{where} did not finish after {self.settings.job_retries + 1} attempts: {reason}"
        if self.jobs.set_status(job_id, JobStatus.failed, JobError(stage=stage, message=message)):
            report.failed.append(job_id)
            _notify(self.redis, self.settings, job_id)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "unknown error"


def _notify(redis: Redis, settings: GatewaySettings, job_id: str) -> None:
    from gateway.webhooks import schedule_webhook  # here: webhooks imports the job store too

    schedule_webhook(redis, settings, job_id)


class ReaperThread(threading.Thread):
    """Runs `Reaper.run_once` every `reaper_interval_s` until stopped; Redis outages are logged
    and waited out. Uses its own Redis client (never one shared with a forking worker)."""

    def __init__(self, settings: GatewaySettings, *, publish_engines: bool = False) -> None:
        super().__init__(name="imagewave-reaper", daemon=True)
        self.settings = settings
        self.stopped = threading.Event()
        # Job workers reach the services (k8s/network.yaml): they tell the gateway which
        # engines run (gateway/engines.py).
        self.publish_engines = publish_engines

    def run(self) -> None:
        from gateway.connection import connect_redis

        assert self.settings.redis_url
        redis = connect_redis(self.settings.redis_url, outage_s=5)
        reaper = Reaper(redis, self.settings)
        outage_at = float("-inf")
        while not self.stopped.wait(self.settings.reaper_interval_s):
            try:
                since_outage_s = time.monotonic() - outage_at
                reaper.run_once(retry_abandoned=since_outage_s > self.settings.stale_job_after_s)
                if redis.set(RETENTION_LOCK_KEY, os.getpid(), nx=True,
                             ex=max(1, int(self.settings.retention_interval_s))):
                    sweep_expired(reaper.jobs, LocalArtifactStore(self.settings.artifact_root))
                if self.publish_engines and redis.set(ENGINES_LOCK_KEY, os.getpid(), nx=True,
                                                      ex=int(ENGINES_REFRESH_S)):
                    publish_enabled_engines(redis, self.settings)
            except RedisError as exc:
                outage_at = time.monotonic()
                log.warning("reaper: Redis unavailable (%s); trying again", exc)
            except Exception:
                log.exception("reaper pass failed")

    def stop(self) -> None:
        self.stopped.set()


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Make this work-horse die when its worker dies (Linux `PR_SET_PDEATHSIG`).

    A horse orphaned by a SIGKILLed worker would go on running while the reaper retries its job
    elsewhere: two runs of one job. Dying with the worker leaves exactly one run, the retry.
    """
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    if os.getppid() != parent:  # the worker died before prctl took effect
        os._exit(1)
