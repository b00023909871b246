"""GET /jobs/{id}/events: every stage event of a real job, in order, live and replayed."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from gateway.jobs import new_job_id
from imagewave.client import Client
from imagewave.contracts.jobs import JobError, JobOptions, JobStatus, StageName, StageStatus
from tests.web.conftest import Served, submit


def read_events(url: str, job_id: str, last_event_id: str | None = None,
                timeout_s: float = 120) -> list[tuple[str | None, dict]]:
    """(id, data) of each event until the server closes the stream."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    events, event_id, started = [], None, time.monotonic()
    with httpx.stream("GET", f"{url}/jobs/{job_id}/events", headers=headers,
                      timeout=httpx.Timeout(10, read=timeout_s)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                events.append((event_id, json.loads(line[6:])))
                event_id = None
            assert time.monotonic() - started < timeout_s
    return events


@pytest.mark.slow
def test_a_live_client_gets_every_stage_event_in_order_and_a_late_one_the_same(
        served: Served, photo: Path):
    job_id = submit(served.url, photo)
    live = read_events(served.url, job_id)
    data = [d for _, d in live]

    assert data[0] == {"stage": None, "status": "queued", "progress": 0.0}
    assert {"stage": None, "status": "running", "progress": 0.0} in data
    assert data[-1]["stage"] is None and data[-1]["status"] == "succeeded"
    assert all(set(d) >= {"stage", "status", "progress"} for d in data)

    stage_events = [d for d in data if d["stage"] is not None]
    order = [d["stage"] for d in stage_events]
    # Stages start in pipeline order and each one's events are contiguous.
    assert list(dict.fromkeys(order)) == [s.value for s in StageName]
    for stage in StageName:
        mine = [d for d in stage_events if d["stage"] == stage.value]
        assert mine[0]["status"] == "running" and mine[0]["progress"] == 0.0
        assert mine[-1] == {"stage": stage.value, "status": "succeeded", "progress": 1.0}
        progress = [d["progress"] for d in mine]
        assert progress == sorted(progress), f"{stage.value} progress went back: {progress}"
    # Multi-step stages report progress in between.
    assert any(0 < d["progress"] < 1 for d in stage_events if d["stage"] == "instruments")

    # A client arriving after the end gets the same history, then the stream ends.
    late = read_events(served.url, job_id, timeout_s=10)
    assert late == live
    ids = [i for i, _ in live]
    assert all(ids) and len(set(ids)) == len(ids)

    # A reconnecting EventSource resumes after the last event it saw.
    middle = len(live) // 2
    resumed = read_events(served.url, job_id, last_event_id=ids[middle], timeout_s=10)
    assert resumed == live[middle + 1:]
    # ...and one that saw the end gets the final status again rather than hanging.
    after_end = read_events(served.url, job_id, last_event_id=ids[-1], timeout_s=10)
    assert [d for _, d in after_end] == [data[-1]]


def test_events_follow_writes_as_they_happen_and_end_on_failure(gateway):
    url, jobs = gateway
    job_id = new_job_id()
    jobs.create(job_id, JobOptions(), input_image="input/image.png")

    def worker_writes() -> None:
        time.sleep(0.5)  # after the client has caught up and is waiting
        jobs.set_status(job_id, JobStatus.running)
        jobs.set_stage(job_id, StageName.describe, StageStatus.running, 0.0)
        jobs.set_stage(job_id, StageName.describe, StageStatus.failed, 0.0)
        jobs.set_status(job_id, JobStatus.failed,
                        JobError(stage=StageName.describe, message="not a picture"))
        jobs.set_stage(job_id, StageName.sfx, StageStatus.running, 0.0)  # after the end

    writer = threading.Thread(target=worker_writes)
    started = time.monotonic()
    writer.start()
    events = [d for _, d in read_events(url, job_id, timeout_s=10)]
    writer.join()

    assert time.monotonic() - started < 5
    assert [(d["stage"], d["status"]) for d in events] == [
        (None, "queued"), (None, "running"), ("describe", "running"), ("describe", "failed"),
        (None, "failed")]
    assert events[-1]["error"] == {"stage": "describe", "message": "not a picture"}


def test_events_of_an_unknown_job_are_a_404_in_the_error_shape(gateway):
    url, _ = gateway
    response = httpx.get(f"{url}/jobs/{new_job_id()}/events")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_client_reads_and_resumes_the_same_stream(gateway):
    url, jobs = gateway
    job_id = new_job_id()
    jobs.create(job_id, JobOptions(), input_image="input/image.png")
    jobs.set_status(job_id, JobStatus.running)
    for progress in (0.0, 0.5, 1.0):
        jobs.set_stage(job_id, StageName.describe, StageStatus.running, progress)
    jobs.set_status(job_id, JobStatus.canceled)

    with Client(url) as client:
        events = list(client.events(job_id))
        assert [(e.stage, e.status, e.progress) for e in events] == [
            (None, "queued", 0.0), (None, "running", 0.0), ("describe", "running", 0.0),
            ("describe", "running", 0.5), ("describe", "running", 1.0), (None, "canceled", 1.0)]
        assert events[-1].is_final and not events[0].is_final
        assert list(client.events(job_id, last_event_id=events[3].id)) == events[4:]
        assert client.wait(job_id).status is JobStatus.canceled
