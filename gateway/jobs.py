"""Job state in Redis: one hash per job, one stream of events per job.

The hash holds each field separately (`status`, `stage:<name>`, `error`, ...) so the worker's
progress writes and the gateway's cancel never overwrite each other. Every change is also
appended to the job's event stream, which the events endpoint replays for late clients.
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
    input_image: str
    input_midi: str | None
    owner: str | None


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

    def create(self, job_id: str, options: JobOptions, *, input_image: str,
               input_midi: str | None = None, owner: str | None = None) -> None:
        now = time.time()
        fields = {
            "status": JobStatus.queued.value,
            "created_at": now,
            "updated_at": now,
            "options": options.model_dump_json(),
            "input_image": input_image,
            "input_midi": input_midi or "",
            "owner": owner or "",
        }
        fields |= {f"stage:{s.value}": StageView(name=s).model_dump_json() for s in StageName}
        pipe = self.redis.pipeline()
        pipe.hset(self.key(job_id), mapping=fields)
        pipe.expire(self.key(job_id), self.ttl_s)
        self._event(pipe, job_id, {"stage": None, "status": JobStatus.queued.value,
                                   "progress": 0.0})
        pipe.execute()

    def exists(self, job_id: str) -> bool:
        return bool(self.redis.exists(self.key(job_id)))

    def get(self, job_id: str) -> JobRecord | None:
        raw = self.redis.hgetall(self.key(job_id))
        if not raw:
            return None
        data = {k.decode(): v.decode() for k, v in raw.items()}
        stages = [StageView.model_validate_json(data[f"stage:{s.value}"]) for s in StageName]
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
        )

    def status(self, job_id: str) -> JobStatus | None:
        value = self.redis.hget(self.key(job_id), "status")
        return JobStatus(value.decode()) if value else None

    def set_status(self, job_id: str, status: JobStatus, error: JobError | None = None) -> None:
        pipe = self.redis.pipeline()
        fields: dict[str, object] = {"status": status.value, "updated_at": time.time()}
        if error is not None:
            fields["error"] = error.model_dump_json()
        pipe.hset(self.key(job_id), mapping=fields)
        event: dict[str, object] = {"stage": None, "status": status.value,
                                    "progress": 1.0 if status.is_final else 0.0}
        if error is not None:
            event["error"] = error.model_dump(mode="json")
        self._event(pipe, job_id, event)
        pipe.execute()

    def set_stage(self, job_id: str, stage: StageName, status: StageStatus,
                  progress: float) -> None:
        view = StageView(name=stage, status=status, progress=min(max(progress, 0.0), 1.0))
        pipe = self.redis.pipeline()
        pipe.hset(self.key(job_id), mapping={f"stage:{stage.value}": view.model_dump_json(),
                                             "updated_at": time.time()})
        self._event(pipe, job_id, {"stage": stage.value, "status": status.value,
                                   "progress": view.progress})
        pipe.execute()

    def _event(self, pipe, job_id: str, event: dict) -> None:
        pipe.xadd(self.events_key(job_id), {"data": json.dumps(event)}, maxlen=1000,
                  approximate=True)
        pipe.expire(self.events_key(job_id), self.ttl_s)

    def delete(self, job_id: str) -> None:
        self.redis.delete(self.key(job_id), self.events_key(job_id))
