"""The reaper against a real Redis and RQ's own registries: silent executions are retried long
before RQ's own cutoff, jobs RQ gave up on are failed naming their stage, lost jobs requeued."""

from __future__ import annotations

import time

import pytest
import redis
from rq.executions import Execution
from rq.job import Job
from rq.job import JobStatus as RqStatus
from rq.registry import StartedJobRegistry

from gateway.jobs import ACTIVE_KEY
from gateway.queue import enqueue_job
from gateway.recovery import RQ_HEARTBEAT_GRACE_S, Reaper
from gateway.settings import GatewaySettings
from imagewave.contracts.jobs import JobOptions, JobStatus, StageName, StageStatus


@pytest.fixture
def reaper(redis_url, tmp_path) -> Reaper:
    settings = GatewaySettings(redis_url=redis_url, data_dir=tmp_path, queue_name="test-reaper",
                               job_monitoring_interval_s=5, stale_job_after_s=15)
    return Reaper(redis.Redis.from_url(redis_url), settings)


def queued_job(reaper: Reaper, job_id: str, *, age_s: float = 0.0) -> Job:
    reaper.jobs.create(job_id, JobOptions(), input_image="input/image.jpg")
    reaper.redis.zadd(ACTIVE_KEY, {job_id: time.time() - age_s})
    enqueue_job(reaper.queue, job_id, reaper.settings)
    return Job.fetch(job_id, connection=reaper.redis, serializer=reaper.queue.serializer)


def start(reaper: Reaper, job: Job, *, last_heartbeat_s_ago: float) -> None:
    """What a worker does when it takes a job, with its last heartbeat some seconds ago."""
    reaper.queue.remove(job.id)
    registry = StartedJobRegistry(queue=reaper.queue)
    ttl = reaper.settings.job_monitoring_interval_s + RQ_HEARTBEAT_GRACE_S
    with reaper.redis.pipeline() as pipe:
        execution = Execution.create(job, ttl=ttl, pipeline=pipe, worker_name="gone")
        job.set_status(RqStatus.STARTED, pipeline=pipe)
        pipe.execute()
    reaper.redis.zadd(registry.key, {execution.composite_key:
                                     time.time() - last_heartbeat_s_ago + ttl})
    reaper.jobs.set_status(job.id, JobStatus.running)


def test_a_job_whose_worker_went_silent_is_retried_long_before_rqs_own_cutoff(reaper):
    silent = queued_job(reaper, "silentjob00001")
    alive = queued_job(reaper, "alivejob000001")
    start(reaper, silent, last_heartbeat_s_ago=20)  # RQ itself would wait 65 s
    start(reaper, alive, last_heartbeat_s_ago=2)

    report = reaper.run_once()

    assert report.abandoned == ["silentjob00001"]
    assert "silentjob00001" in reaper.queue.get_job_ids()
    assert silent.get_status(refresh=True) == RqStatus.QUEUED
    assert alive.get_status(refresh=True) == RqStatus.STARTED
    assert "alivejob000001" not in reaper.queue.get_job_ids()
    assert reaper.run_once() is None  # another pass within the interval: the lock says no


def test_right_after_a_redis_outage_silence_proves_nothing(reaper):
    silent = queued_job(reaper, "silentjob00002")
    start(reaper, silent, last_heartbeat_s_ago=20)
    report = reaper.run_once(retry_abandoned=False)
    assert report.abandoned == []
    assert silent.get_status(refresh=True) == RqStatus.STARTED


def test_a_job_rq_gave_up_on_is_failed_with_its_stage(reaper):
    job = queued_job(reaper, "gaveupjob00001", age_s=60)
    reaper.jobs.set_status(job.id, JobStatus.running)
    reaper.jobs.set_stage(job.id, StageName.describe, StageStatus.succeeded, 1.0)
    reaper.jobs.set_stage(job.id, StageName.timbre, StageStatus.running, 0.5)
    job.set_status(RqStatus.FAILED)

    report = reaper.run_once()

    assert report.failed == [job.id]
    record = reaper.jobs.get(job.id)
    assert record.status is JobStatus.failed
    assert record.error.stage is StageName.timbre
    assert "timbre" in record.error.message and "attempts" in record.error.message
    assert reaper.jobs.active_count() == 0


def test_a_job_lost_by_rq_is_enqueued_again_but_a_young_one_is_left_alone(reaper):
    lost = queued_job(reaper, "lostjob0000001", age_s=60)
    young = queued_job(reaper, "youngjob000001")
    for job in (lost, young):
        reaper.queue.remove(job.id)
        job.delete()

    report = reaper.run_once()

    assert report.requeued == [lost.id]
    assert reaper.queue.get_job_ids() == [lost.id]


def test_final_status_is_never_overwritten(reaper):
    job = queued_job(reaper, "finaljob000001")
    assert reaper.jobs.set_status(job.id, JobStatus.canceled)
    assert not reaper.jobs.set_status(job.id, JobStatus.running)
    assert not reaper.jobs.set_status(job.id, JobStatus.succeeded)
    assert reaper.jobs.status(job.id) is JobStatus.canceled
    assert reaper.jobs.active_count() == 0
