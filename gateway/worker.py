"""What an RQ worker runs: `run_job(job_id)` drives the pipeline over HTTP for one job.

The work-horse process builds its Redis connection, artifact store and service clients on
first use (after RQ's fork), never at import.
"""

from __future__ import annotations

import logging
import time

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Worker, get_current_job
from rq.serializers import JSONSerializer

from gateway.clients import HttpStageClients
from gateway.connection import connect_redis
from gateway.jobs import JobStore
from gateway.pipeline import JobCanceled, JobInput, Pipeline, StageError
from gateway.queue import job_queue
from gateway.recovery import ReaperThread, die_with_parent
from gateway.settings import GatewaySettings, process_settings
from gateway.webhooks import schedule_webhook
from imagewave.artifacts import LocalArtifactStore
from imagewave.contracts.jobs import JobError, JobStatus, StageName, StageStatus

log = logging.getLogger(__name__)


class JobStoreReporter:
    """Pipeline progress → the job's Redis record and event stream."""

    def __init__(self, jobs: JobStore, job_id: str) -> None:
        self.jobs = jobs
        self.job_id = job_id
        self._last: dict[StageName, tuple[StageStatus, float]] = {}

    def stage(self, stage: StageName, status: StageStatus, progress: float) -> None:
        last = self._last.get(stage)
        # Progress events at most every 5%: enough for a progress bar, few Redis writes.
        if last and last[0] == status and progress - last[1] < 0.05 and progress < 1.0:
            return
        self._last[stage] = (status, progress)
        self.jobs.set_stage(self.job_id, stage, status, progress)

    def is_canceled(self) -> bool:
        return self.jobs.status(self.job_id) is JobStatus.canceled


def _redis(settings: GatewaySettings) -> Redis:
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set: a worker needs the Redis of its gateway")
    return connect_redis(settings.redis_url)


def run_job(job_id: str) -> str:
    die_with_parent()  # a SIGKILLed worker takes its horse along: the reaper retries the job
    settings = process_settings()
    jobs = JobStore(_redis(settings), ttl_s=settings.job_ttl_s)
    record = jobs.get(job_id)
    if record is None or record.status.is_final:
        return "skipped"  # expired, canceled before it started, or already finished
    if not jobs.set_status(job_id, JobStatus.running):
        return "skipped"  # canceled just now
    clients = HttpStageClients.from_settings(settings)
    pipeline = Pipeline(LocalArtifactStore(settings.artifact_root), clients,
                        JobStoreReporter(jobs, job_id))
    try:
        pipeline(JobInput(job_id, record.options, record.input_image, record.input_midi))
    except JobCanceled:
        return "canceled"
    except StageError as exc:
        rq_job = get_current_job()
        will_retry = (not exc.is_input_error and rq_job is not None
                      and (rq_job.retries_left or 0) > 0)
        if will_retry:
            log.warning("job %s: %s; RQ will retry", job_id, exc.message)
            jobs.set_status(job_id, JobStatus.queued)
            raise
        jobs.set_status(job_id, JobStatus.failed, JobError(stage=exc.stage, message=exc.message))
        schedule_webhook(jobs.redis, job_queue(jobs.redis, settings), settings, job_id)
        return "failed"
    finally:
        clients.close()
    jobs.set_status(job_id, JobStatus.succeeded)
    schedule_webhook(jobs.redis, job_queue(jobs.redis, settings), settings, job_id)
    return "succeeded"


def run_worker(settings: GatewaySettings, *, burst: bool = False, name: str | None = None) -> None:
    """An RQ worker with fast heartbeats and a reaper thread (gateway/recovery.py); its Redis
    client waits out a Redis restart, and the worker starts over if Redis stays away longer."""
    reaper = ReaperThread(settings)
    reaper.start()
    try:
        while True:
            redis = _redis(settings)
            worker = Worker([job_queue(redis, settings)], connection=redis,
                            serializer=JSONSerializer, name=name,
                            job_monitoring_interval=settings.job_monitoring_interval_s,
                            maintenance_interval=settings.maintenance_interval_s)
            try:
                worker.work(burst=burst, with_scheduler=True, logging_level=settings.log_level)
                return
            except RedisConnectionError as exc:
                log.warning("worker lost Redis (%s); starting over in 2 s", exc)
                time.sleep(2)
    finally:
        reaper.stop()
