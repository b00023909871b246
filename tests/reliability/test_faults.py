"""Fault injection with real processes: SIGKILLed workers and work-horses, a Redis crash and
restart, a stopped service, a cancel while running. The stack runs with fast recovery timings
(heartbeat 1 s, abandoned after 6 s of silence); defaults are 3 s and 10 s."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_photo
from tests.reliability.harness import LiveStack, children_of, is_alive

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> LiveStack:
    stack = LiveStack(tmp_path_factory.mktemp("faults"), workers=2).start()
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> bytes:
    return make_photo(tmp_path_factory.mktemp("img") / "photo.jpg", seed=3).read_bytes()


def start_time(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


def test_a_sigkilled_worker_job_is_retried_and_resumes_after_its_finished_stages(live, image):
    job_id = live.submit(image)
    live.wait_for_stage(job_id, "timbre")
    found = live.worker_running(job_id)
    assert found, "no worker reports the job"
    name, pid = found
    children = children_of(pid)

    live.kill(name)  # the worker process, as a crash or the OOM killer would
    killed_at = time.monotonic()
    time.sleep(1.0)
    survivors = [c for c in children if is_alive(c)]
    # Its work-horse dies with it (PR_SET_PDEATHSIG); only RQ's scheduler process may linger.
    assert len(survivors) < len(children)
    for orphan in survivors:  # a container's death would take these too
        os.kill(orphan, signal.SIGKILL)
    live.respawn(name)

    job = live.wait(job_id, timeout_s=60)
    assert job["status"] == "succeeded", job
    assert time.monotonic() - killed_at < 60
    stages = {s["name"]: s["status"] for s in job["stages"]}
    # The retry skipped what was finished before the kill.
    assert stages["describe"] == stages["sfx"] == stages["roles"] == "skipped", stages
    assert stages["render"] == "succeeded"


def test_a_sigkilled_work_horse_is_retried_at_once(live, image):
    job_id = live.submit(image)
    live.wait_for_stage(job_id, "sfx")
    found = live.worker_running(job_id)
    assert found
    horse = max(children_of(found[1]), key=start_time)  # the newest child runs the job
    os.kill(horse, signal.SIGKILL)
    killed_at = time.monotonic()
    job = live.wait(job_id, timeout_s=60)
    assert job["status"] == "succeeded", job
    assert time.monotonic() - killed_at < 60
    assert live.stack.processes[found[0]].poll() is None  # the worker itself lives on


def test_a_redis_crash_loses_no_accepted_job_and_everyone_reconnects(live, image):
    job_ids = [live.submit(image) for _ in range(3)]
    live.wait_for_stage(job_ids[0], "sfx")
    time.sleep(1.5)  # AOF fsyncs every second: what was accepted a second ago is on disk

    live.redis.restart(signal.SIGKILL, down_s=2.0)

    for job_id in job_ids:
        job = live.wait(job_id, timeout_s=90)
        assert job["status"] == "succeeded", job
    assert httpx.get(f"{live.url}/healthz", timeout=10).status_code == 200
    after = live.wait(live.submit(image), timeout_s=60)
    assert after["status"] == "succeeded", after


def test_cancel_stops_a_running_job_and_its_status_stays_canceled(live, image):
    job_id = live.submit(image)
    live.wait_for_stage(job_id, "sfx")
    response = httpx.delete(f"{live.url}/jobs/{job_id}", timeout=30)
    assert response.status_code == 200 and response.json()["status"] == "canceled"
    time.sleep(3)
    assert live.job(job_id)["status"] == "canceled"
    # The workers are free for the next job.
    assert live.wait(live.submit(image), timeout_s=60)["status"] == "succeeded"


def test_a_stopped_service_fails_the_job_with_an_error_naming_the_stage(live, image):
    live.kill("t2a", signal.SIGTERM)
    try:
        started = time.monotonic()
        job = live.wait(live.submit(image), timeout_s=90)
        assert job["status"] == "failed", job
        assert job["error"]["stage"] == "sfx"
        assert "t2a" in job["error"]["message"] and "sfx" in job["error"]["message"]
        assert time.monotonic() - started < 90
        stages = {s["name"]: s["status"] for s in job["stages"]}
        assert stages["describe"] in ("succeeded", "skipped") and stages["sfx"] == "failed"
    finally:
        live.respawn("t2a")
        live.wait_healthy("t2a")
    assert live.wait(live.submit(image), timeout_s=60)["status"] == "succeeded"


def test_jobs_submitted_through_a_worker_kill_and_a_redis_restart_all_succeed_once(live, image):
    """bench/chaos.py in small (the acceptance run is 100 jobs, 3 kills, 3 workers)."""
    from bench.chaos import run_chaos

    redis = live.redis_client()
    records_before = sum(1 for k in redis.scan_iter(match="imagewave:job:*") if k.count(b":") == 2)

    report = run_chaos(live, image, jobs=6, kills=1, restart_redis=True, submit_over_s=6,
                       log=lambda _: None)

    assert report["statuses"] == {"succeeded": 6}, report
    assert report["distinct_ids"] == 6 and report["kills"] == 1
    assert report["job_records"] - records_before == 6  # no submission made a second job
    assert report["stage_finished_twice"] == {}
    assert all(s is not None and s < 60 for s in report["kill_to_success_s"]), report
