"""Job state in Redis: one hash per job, one stream of events per job.

The hash holds each field separately (`status`, `stage:<name>`, `error`, ...) so the worker's
progress writes and the gateway's cancel never overwrite each other. Every change is also
appended to the job's event stream, which the events endpoint replays for late clients.

Status changes are compare-and-set in one Lua script: a final status (succeeded, failed,
canceled) is never overwritten, so a cancel racing a worker's "running" or "succeeded" write
keeps whichever came first. Jobs not yet final are indexed in a sorted set (and per owner), which
the reaper, the backpressure check and the per-key concurrency limit read.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass

from redis import Redis

from imagewave.contracts.jobs import (
    JobError,
    JobOptions,
    JobStatus,
    StageName,
    StageStatus,
    StageView,
)

KEY_PREFIX = "imagewave:job:"
ACTIVE_KEY = "imagewave:jobs:active"  # zset: job id → created_at, while not final
_FINAL_STAGE = frozenset({StageStatus.succeeded, StageStatus.failed, StageStatus.skipped})

# KEYS: job hash, events stream, active zset, owner's active set ('' key when no owner)
# ARGV: new status, updated_at, error JSON or '', event JSON, events TTL, is-final flag
_SET_STATUS = """
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return 0 end
if current == 'succeeded' or current == 'failed' or current == 'canceled' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updated_at', ARGV[2])
if ARGV[1] == 'running' then redis.call('HSETNX', KEYS[1], 'started_at', ARGV[2]) end
if ARGV[6] == '1' then redis.call('HSET', KEYS[1], 'finished_at', ARGV[2]) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[3]) end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 1000, '*', 'data', ARGV[4])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[5]))
if ARGV[6] == '1' then
  redis.call('ZREM', KEYS[3], ARGV[7])
  if KEYS[4] ~= '' then redis.call('SREM', KEYS[4], ARGV[7]) end
end
return 1
"""

# A progress write: only to a record that still exists, so a job whose record expired while it
# ran is never re-created as a partial hash without a TTL (it would answer 500 forever).
# KEYS: job hash, events stream. ARGV: stage field, stage JSON, updated_at, event JSON, TTL.
_SET_STAGE = """
if redis.call('HEXISTS', KEYS[1], 'status') == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], 'updated_at', ARGV[3])
if ARGV[8] == 'restart' then
  redis.call('HSET', KEYS[1], ARGV[6], ARGV[3])
  redis.call('HDEL', KEYS[1], ARGV[7])
elseif ARGV[8] == 'start' then
  redis.call('HSETNX', KEYS[1], ARGV[6], ARGV[3])
end
if ARGV[9] == '1' then redis.call('HSET', KEYS[1], ARGV[7], ARGV[3]) end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 1000, '*', 'data', ARGV[4])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[5]))
return 1
"""


def new_job_id() -> str:
    """128 random bits, URL-safe: job ids are unguessable capabilities."""
    return secrets.token_urlsafe(16)


@dataclass
class JobRecord:
    id: str
    status: JobStatus
    created_at: float
    updated_at: float
    options: JobOptions
    stages: list[StageView]
    error: JobError | None
    input_image: str  # "" when the job was given a scene and no picture
    input_midi: str | None
    owner: str | None
    parent: str | None = None  # the job this one remixes
    started_at: float | None = None
    finished_at: float | None = None


class JobStore:
    def __init__(self, redis: Redis, *, ttl_s: int = 7 * 24 * 3600) -> None:
        self.redis = redis
        self.ttl_s = ttl_s

    @staticmethod
    def key(job_id: str) -> str:
        return KEY_PREFIX + job_id

    @staticmethod
    def events_key(job_id: str) -> str:
        return KEY_PREFIX + job_id + ":events"

    @staticmethod
    def owner_active_key(owner: str) -> str:
        return f"imagewave:owner:{owner}:active"

    @staticmethod
    def owner_jobs_key(owner: str | None) -> str:
        """zset job id → created_at of every job of one caller (anonymous ones share one)."""
        return f"imagewave:owner:{owner or ''}:jobs"

    def create(self, job_id: str, options: JobOptions, *, input_image: str,
               input_midi: str | None = None, owner: str | None = None,
               parent: str | None = None, pipeline=None) -> JobRecord:
        """Write a queued job; with `pipeline`, only add the commands to it (the caller
        executes it, e.g. together with the RQ enqueue). Returns the record as written."""
        now = time.time()
        fields = {
            "status": JobStatus.queued.value,
            "created_at": now,
            "updated_at": now,
            "options": options.model_dump_json(),
            "input_image": input_image,
            "input_midi": input_midi or "",
            "owner": owner or "",
            "parent": parent or "",
        }
        stages = [StageView(name=s) for s in StageName]
        fields |= {f"stage:{view.name.value}": view.model_dump_json() for view in stages}
        pipe = pipeline if pipeline is not None else self.redis.pipeline()
        pipe.hset(self.key(job_id), mapping=fields)
        pipe.expire(self.key(job_id), self.ttl_s)
        pipe.zadd(ACTIVE_KEY, {job_id: now})
        pipe.zadd(self.owner_jobs_key(owner), {job_id: now})
        pipe.expire(self.owner_jobs_key(owner), self.ttl_s)
        if owner:
            pipe.sadd(self.owner_active_key(owner), job_id)
        self._event(pipe, job_id, {"stage": None, "status": JobStatus.queued.value,
                                   "progress": 0.0})
        if pipeline is None:
            pipe.execute()
        return JobRecord(id=job_id, status=JobStatus.queued, created_at=now, updated_at=now,
                         options=options, stages=stages, error=None, input_image=input_image,
                         input_midi=input_midi, owner=owner, parent=parent)

    def active_count(self) -> int:
        """Jobs queued or running: the queue depth backpressure is measured in."""
        return int(self.redis.zcard(ACTIVE_KEY))

    def active_ids(self, created_before: float = float("inf")) -> list[str]:
        return [i.decode() for i in self.redis.zrangebyscore(ACTIVE_KEY, 0, created_before)]

    def owner_jobs(self, owner: str | None, *, offset: int, limit: int,
                   status: JobStatus | None = None) -> tuple[list[JobRecord], bool]:
        """One page of the caller's jobs, newest first, optionally of one status; and whether
        more follow. Ids whose record expired are dropped from the index on the way."""
        key, page, skipped, start, chunk = self.owner_jobs_key(owner), [], 0, 0, 200
        while True:
            ids = [i.decode() for i in self.redis.zrevrange(key, start, start + chunk - 1)]
            if not ids:
                return page, False
            for job_id in ids:
                record = self.get(job_id)
                if record is None:
                    self.redis.zrem(key, job_id)
                    continue
                if status is not None and record.status is not status:
                    continue
                if skipped < offset:
                    skipped += 1
                    continue
                if len(page) == limit:
                    return page, True
                page.append(record)
            start += chunk

    def owner_active_count(self, owner: str) -> int:
        return int(self.redis.scard(self.owner_active_key(owner)))

    def forget_active(self, job_id: str, owner: str | None = None) -> None:
        """Drop an expired or deleted job from the active indexes."""
        pipe = self.redis.pipeline()
        pipe.zrem(ACTIVE_KEY, job_id)
        if owner:
            pipe.srem(self.owner_active_key(owner), job_id)
        pipe.execute()

    def exists(self, job_id: str) -> bool:
        """A whole record (a partial hash without `status` is not a job)."""
        return bool(self.redis.hexists(self.key(job_id), "status"))

    def get(self, job_id: str) -> JobRecord | None:
        """The record, or None when there is none or only a partial one (no `status`: left by
        a write after its record expired, as versions before the guarded writes did)."""
        raw = self.redis.hgetall(self.key(job_id))
        if not raw or b"status" not in raw:
            return None
        data = {k.decode(): v.decode() for k, v in raw.items()}
        stages = []
        for name in StageName:
            key = f"stage:{name.value}"
            view = (StageView.model_validate_json(data[key]) if key in data
                    else StageView(name=name))
            started, finished = (data.get(f"{edge}:{name.value}") for edge in
                                 ("stage_started_at", "stage_finished_at"))
            view.started_at = float(started) if started else None
            view.finished_at = float(finished) if finished else None
            stages.append(view)
        error = JobError.model_validate_json(data["error"]) if data.get("error") else None
        return JobRecord(
            id=job_id,
            status=JobStatus(data["status"]),
            created_at=float(data["created_at"]),
            updated_at=float(data["updated_at"]),
            options=JobOptions.model_validate_json(data["options"]),
            stages=stages,
            error=error,
            input_image=data["input_image"],
            input_midi=data.get("input_midi") or None,
            owner=data.get("owner") or None,
            parent=data.get("parent") or None,
            started_at=float(data["started_at"]) if data.get("started_at") else None,
            finished_at=float(data["finished_at"]) if data.get("finished_at") else None,
        )

    def owner(self, job_id: str) -> str | None:
        value = self.redis.hget(self.key(job_id), "owner")
        return value.decode() or None if value else None

    def status(self, job_id: str) -> JobStatus | None:
        value = self.redis.hget(self.key(job_id), "status")
        return JobStatus(value.decode()) if value else None

    def set_status(self, job_id: str, status: JobStatus, error: JobError | None = None) -> bool:
        """Move the job to `status` unless it is already final; True when it moved."""
        event: dict[str, object] = {"stage": None, "status": status.value,
                                    "progress": 1.0 if status.is_final else 0.0}
        if error is not None:
            event["error"] = error.model_dump(mode="json")
        owner = self.redis.hget(self.key(job_id), "owner") if status.is_final else None
        owner_key = self.owner_active_key(owner.decode()) if owner else ""
        moved = self._set_status_script(
            keys=[self.key(job_id), self.events_key(job_id), ACTIVE_KEY, owner_key],
            args=[status.value, time.time(), error.model_dump_json() if error else "",
                  json.dumps(event), self.ttl_s, "1" if status.is_final else "0", job_id])
        return bool(moved)

    @property
    def _set_status_script(self):
        script = getattr(self, "_script", None)
        if script is None:
            script = self._script = self.redis.register_script(_SET_STATUS)
        return script

    def set_stage(self, job_id: str, stage: StageName, status: StageStatus,
                  progress: float) -> bool:
        """Record a stage's progress; False (and nothing written) when the record is gone."""
        view = StageView(name=stage, status=status, progress=min(max(progress, 0.0), 1.0))
        script = getattr(self, "_stage_script", None)
        if script is None:
            script = self._stage_script = self.redis.register_script(_SET_STAGE)
        event = {"stage": stage.value, "status": status.value, "progress": view.progress}
        # Times in their own fields, beside the view the worker rewrites: a stage's start at
        # 0 % (re)starts its clock (a retried job's stage times its last attempt), a final
        # write stops it.
        clock = ("restart" if status is StageStatus.running and view.progress == 0.0
                 else "start" if status is not StageStatus.pending else "")
        return bool(script(keys=[self.key(job_id), self.events_key(job_id)],
                           args=[f"stage:{stage.value}", view.model_dump_json(
                               exclude={"started_at", "finished_at", "duration_s"}),
                                 time.time(), json.dumps(event), self.ttl_s,
                                 f"stage_started_at:{stage.value}",
                                 f"stage_finished_at:{stage.value}", clock,
                                 "1" if status in _FINAL_STAGE else "0"]))

    def _event(self, pipe, job_id: str, event: dict) -> None:
        pipe.xadd(self.events_key(job_id), {"data": json.dumps(event)}, maxlen=1000,
                  approximate=True)
        pipe.expire(self.events_key(job_id), self.ttl_s)

    def delete(self, job_id: str) -> None:
        owner = self.redis.hget(self.key(job_id), "owner")
        self.redis.delete(self.key(job_id), self.events_key(job_id))
        self.forget_active(job_id, owner.decode() if owner else None)
