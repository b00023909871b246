"""A job whose record expires while it runs: later writes never re-create a partial record, a
partial record (from an older version) answers 404 not 500, and one bad record in the active
index does not stop the reaper's pass over the others."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import redis

from gateway.app import create_app
from gateway.jobs import ACTIVE_KEY, JobStore
from gateway.recovery import ENQUEUE_GRACE_S, Reaper
from gateway.settings import GatewaySettings
from imagewave.contracts.jobs import JobOptions, JobStatus, StageName, StageStatus
from tests.conftest import serve_app


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> GatewaySettings:
    return GatewaySettings(redis_url=redis_url, data_dir=tmp_path, queue_name="test-expired")


def test_writes_to_an_expired_job_never_create_a_record(settings):
    jobs = JobStore(redis.Redis.from_url(settings.redis_url), ttl_s=settings.job_ttl_s)
    jobs.create("expiredjob0001", JobOptions(), input_image="input/image.jpg")
    jobs.set_status("expiredjob0001", JobStatus.running)
    jobs.redis.delete(jobs.key("expiredjob0001"))  # what its TTL does to a long-running job

    jobs.set_stage("expiredjob0001", StageName.render, StageStatus.running, 0.5)
    assert not jobs.set_status("expiredjob0001", JobStatus.succeeded)

    assert not jobs.redis.exists(jobs.key("expiredjob0001"))
    assert jobs.get("expiredjob0001") is None


def test_a_partial_record_is_a_404_and_the_reaper_survives_it(settings):
    r = redis.Redis.from_url(settings.redis_url)
    reaper = Reaper(r, settings)
    old = time.time() - ENQUEUE_GRACE_S - 5
    # A partial hash as older versions left it (no status, no TTL), in the active index.
    r.hset(JobStore.key("partialjob0001"), mapping={"stage:render": "{}", "updated_at": 1})
    r.zadd(ACTIVE_KEY, {"partialjob0001": old})
    # A well-formed job the same pass must still handle: its RQ entry was lost.
    reaper.jobs.create("healthyjob0001", JobOptions(), input_image="input/image.jpg")
    r.zadd(ACTIVE_KEY, {"healthyjob0001": old})

    report = reaper.run_once()

    assert report.requeued == ["healthyjob0001"]
    assert "healthyjob0001" in reaper.queue.get_job_ids()
    assert reaper.jobs.get("partialjob0001") is None
    assert not r.zscore(ACTIVE_KEY, "partialjob0001")
    assert not r.exists(JobStore.key("partialjob0001"))  # removed: nothing can finish it

    r.hset(JobStore.key("partialjob0002"), mapping={"updated_at": 1})
    with serve_app(create_app(settings)) as url:
        response = httpx.get(f"{url}/jobs/partialjob0002", timeout=10)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"


def test_a_worker_stops_a_job_whose_record_expired(settings):
    from gateway.worker import JobStoreReporter

    jobs = JobStore(redis.Redis.from_url(settings.redis_url), ttl_s=settings.job_ttl_s)
    jobs.create("expiredjob0002", JobOptions(), input_image="input/image.jpg")
    reporter = JobStoreReporter(jobs, "expiredjob0002")
    assert not reporter.is_canceled()
    jobs.redis.delete(jobs.key("expiredjob0002"))
    assert reporter.is_canceled()  # the pipeline stops before its next stage
