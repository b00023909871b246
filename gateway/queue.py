"""Enqueueing jobs with RQ: JSON serializer (job arguments are user-influenced), retries with
backoff, and the job id shared by our job record and RQ's job."""

from __future__ import annotations

from redis import Redis
from rq import Queue, Retry
from rq.serializers import JSONSerializer

from gateway.settings import GatewaySettings

RUN_JOB = "gateway.worker.run_job"


def job_queue(redis: Redis, settings: GatewaySettings) -> Queue:
    return Queue(settings.queue_name, connection=redis, serializer=JSONSerializer)


def webhook_queue(redis: Redis, settings: GatewaySettings) -> Queue:
    return Queue(settings.webhook_queue_name, connection=redis, serializer=JSONSerializer)


def enqueue_job(queue: Queue, job_id: str, settings: GatewaySettings, pipeline=None) -> None:
    """Put the job on the queue; with `pipeline`, only add the commands (caller executes)."""
    # Retries go straight back on the queue (no interval): a scheduled retry would wait for an
    # RQ scheduler, which dies with its worker. Service outages already back off in clients.py.
    # At the front: a job that lost its worker has waited its turn once already.
    retry = (Retry(max=settings.job_retries, enqueue_at_front=True) if settings.job_retries
             else None)
    queue.enqueue_call(RUN_JOB, args=(job_id,), job_id=job_id, timeout=settings.job_timeout_s,
                       result_ttl=settings.job_ttl_s, failure_ttl=settings.job_ttl_s,
                       retry=retry, description=f"imagewave job {job_id}",
                       pipeline=pipeline)
