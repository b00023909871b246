"""GET /metrics/queue: the gauge KEDA's metrics-api trigger reads (k8s/autoscaling.yaml)."""

from __future__ import annotations

from fastapi import APIRouter
from rq import Queue
from rq.registry import StartedJobRegistry
from starlette.concurrency import run_in_threadpool

from gateway.dependencies import StateDep
from imagewave.contracts.jobs import QueueMetrics

router = APIRouter(tags=["health"])

METRICS_PATH = "/metrics/queue"


def measure_queue(queue: Queue) -> QueueMetrics:
    queued = queue.count
    # No cleanup here: moving dead workers' jobs is the reaper's work (gateway/recovery.py), and
    # counting such a job until then only keeps capacity up a little longer.
    started = StartedJobRegistry(queue=queue).get_job_count(cleanup=False)
    return QueueMetrics(queue=queue.name, queued=queued, started=started,
                        busy=queued + started)


@router.get(METRICS_PATH, response_model=QueueMetrics,
            summary="Jobs queued and started, for autoscaling")
async def queue_metrics(state: StateDep) -> QueueMetrics:
    return await run_in_threadpool(measure_queue, state.queue)
