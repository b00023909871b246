"""Acceptance run for crash recovery: N jobs submitted while workers are SIGKILLed at random
moments and Redis is restarted once; every job must succeed exactly once.

    .venv/bin/python bench/chaos.py --jobs 100 --workers 3 --kills 3

Starts its own stack (redis-server with AOF on a free port, four services, gateway, workers) with
the default recovery timings (heartbeat 3 s, abandoned after 10 s of silence). Submissions carry an
Idempotency-Key and are retried on transport errors, as a careful client would. Checks: all N
succeed; exactly N job records exist (no submission made two jobs); no stage of any job finished
twice (no job ran twice to completion); prints the time from each kill to its job's success.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gateway.jobs import JobStore  # noqa: E402
from tests.conftest import make_photo  # noqa: E402
from tests.reliability.harness import LiveStack, children_of, is_alive  # noqa: E402

PRODUCTION_TIMINGS: dict[str, str] = {}  # the settings' defaults
OPTIONS = '{"audio_length_in_s": 5, "sfx_length_in_s": 1}'


def submit_with_retries(url: str, image: bytes, key: str, deadline_s: float = 120) -> str:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            response = httpx.post(f"{url}/jobs", files={"image": ("photo.jpg", image)},
                                  data={"options": OPTIONS},
                                  headers={"Idempotency-Key": key}, timeout=60)
            if response.status_code == 202:
                return response.json()["id"]
            problem = f"{response.status_code} {response.text[:200]}"
        except httpx.TransportError as exc:
            problem = repr(exc)
        if time.monotonic() > deadline:
            raise RuntimeError(f"submission {key} kept failing: {problem}")
        time.sleep(0.5)


def kill_a_busy_worker(live: LiveStack, job_ids: list[str]) -> tuple[str, str] | None:
    """SIGKILL the worker running some job (and any process it leaves); respawn it like
    `imagewave serve` would. Returns (worker, job id) or None when no worker is busy."""
    for job_id in random.sample(job_ids, len(job_ids)):
        found = live.worker_running(job_id)
        if not found:
            continue
        name, pid = found
        children = children_of(pid)
        live.kill(name)
        time.sleep(0.5)
        for orphan in children:  # RQ's scheduler process; the horse died with its worker
            if is_alive(orphan):
                try:
                    os.kill(orphan, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        live.respawn(name)
        return name, job_id
    return None


def run_chaos(live: LiveStack, image: bytes, *, jobs: int, kills: int, restart_redis: bool,
              submit_over_s: float, log=print) -> dict:
    job_ids: list[str] = []
    submit_errors: list[str] = []
    prefix = f"chaos-{time.time_ns()}"

    def submitter() -> None:
        for i in range(jobs):
            try:
                job_ids.append(submit_with_retries(live.url, image, f"{prefix}-{i}"))
            except RuntimeError as exc:
                submit_errors.append(str(exc))
            time.sleep(submit_over_s / jobs)

    started = time.monotonic()
    thread = threading.Thread(target=submitter)
    thread.start()
    # Faults at random moments while jobs are queued and running.
    events = ["kill"] * kills + (["redis"] if restart_redis else [])
    random.shuffle(events)
    moments = sorted(random.uniform(2, max(3.0, submit_over_s)) for _ in events)
    kills_done: list[dict] = []
    for moment, event in zip(moments, events, strict=True):
        time.sleep(max(0.0, started + moment - time.monotonic()))
        if event == "redis":
            log(f"{time.monotonic() - started:6.1f}s restart Redis")
            live.redis.restart(signal.SIGTERM, down_s=1.0)
            continue
        give_up = time.monotonic() + 60
        while not (done := kill_a_busy_worker(live, list(job_ids))):
            if time.monotonic() > give_up:  # every job already finished: nothing to kill
                break
            time.sleep(0.2)
        if not done:
            log(f"{time.monotonic() - started:6.1f}s no busy worker to kill")
            continue
        kills_done.append({"worker": done[0], "job": done[1], "at": time.monotonic(),
                           "wall": time.time()})
        log(f"{time.monotonic() - started:6.1f}s SIGKILL {done[0]} running job {done[1]}")
    thread.join()

    final: dict[str, dict] = {}
    deadline = time.monotonic() + 60 * 30
    while len(final) < len(job_ids) and time.monotonic() < deadline:
        for job_id in job_ids:
            if job_id not in final:
                job = live.job(job_id)
                if job.get("status") in ("succeeded", "failed", "canceled"):
                    final[job_id] = job
        time.sleep(1)
    elapsed = time.monotonic() - started

    redis = live.redis_client()
    records = [k for k in redis.scan_iter(match="imagewave:job:*") if k.count(b":") == 2]
    twice = {}
    for job_id in job_ids:
        counts: dict[str, int] = {}
        for _, fields in redis.xrange(JobStore.events_key(job_id)):
            event = json.loads(fields[b"data"])
            if event.get("stage") and event["status"] == "succeeded":
                counts[event["stage"]] = counts.get(event["stage"], 0) + 1
        if any(n > 1 for n in counts.values()):
            twice[job_id] = counts
    recovery = [_succeeded_s(redis, k["job"], k["wall"]) for k in kills_done]
    retry_started = [_retry_started_s(redis, k["job"], k["wall"]) for k in kills_done]
    durations = sorted(d for d in (_run_time_s(redis, job_id) for job_id in job_ids) if d)
    statuses: dict[str, int] = {}
    for job in final.values():
        statuses[job["status"]] = statuses.get(job["status"], 0) + 1
    return {
        "jobs": jobs, "accepted": len(job_ids), "distinct_ids": len(set(job_ids)),
        "job_records": len(records), "statuses": statuses,
        "unfinished": len(job_ids) - len(final), "submit_errors": submit_errors,
        "stage_finished_twice": twice, "kills": len(kills_done),
        "kill_to_retry_start_s": retry_started, "kill_to_success_s": recovery,
        "wall_s": round(elapsed, 1),
        "job_run_s": {"p50": durations[len(durations) // 2], "p90": durations[
            int(len(durations) * 0.9)], "max": durations[-1]} if durations else None,
        "failed_errors": [j["error"] for j in final.values() if j["status"] == "failed"][:5],
    }


def _retry_started_s(redis, job_id: str, killed_at: float) -> float | None:
    """Seconds from the kill to the retry's first stage event (stream ids are ms times)."""
    for entry_id, fields in redis.xrange(JobStore.events_key(job_id)):
        at = int(entry_id.split(b"-")[0]) / 1000
        if at > killed_at and json.loads(fields[b"data"]).get("stage"):
            return round(at - killed_at, 1)
    return None


def _succeeded_s(redis, job_id: str, killed_at: float) -> float | None:
    """Seconds from the kill to the job's `succeeded` event (not to when we polled it)."""
    for entry_id, fields in redis.xrange(JobStore.events_key(job_id)):
        event = json.loads(fields[b"data"])
        if event.get("stage") is None and event["status"] == "succeeded":
            return round(int(entry_id.split(b"-")[0]) / 1000 - killed_at, 1)
    return None


def _run_time_s(redis, job_id: str) -> float | None:
    """From the job's first stage event to its last event: how long it ran, retries included."""
    times = [(int(entry_id.split(b"-")[0]) / 1000, json.loads(fields[b"data"]))
             for entry_id, fields in redis.xrange(JobStore.events_key(job_id))]
    started = next((at for at, event in times if event.get("stage")), None)
    return round(times[-1][0] - started, 1) if started and times else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--submit-over-s", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    random.seed(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        image = make_photo(Path(tmp) / "photo.jpg").read_bytes()
        live = LiveStack(Path(tmp) / "stack", workers=args.workers,
                         env=PRODUCTION_TIMINGS).start()
        try:
            report = run_chaos(live, image, jobs=args.jobs, kills=args.kills,
                               restart_redis=True, submit_over_s=args.submit_over_s)
        finally:
            live.stop()
    print(json.dumps(report, indent=2))
    ok = (report["statuses"].get("succeeded") == args.jobs and report["job_records"] == args.jobs
          and not report["stage_finished_twice"])
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
