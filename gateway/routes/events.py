"""GET /jobs/{id}/events: a job's progress as Server-Sent Events.

The worker appends every job and stage change to the job's Redis stream (gateway/jobs.py); this
replays the stream from the start (or after `Last-Event-ID`, so a reconnecting EventSource
resumes) and then follows it. Each event's `id:` is its stream entry id, its `event:` `stage` or
`job`, and its `data:` one JSON object with `stage` (null for the job itself), `status` and
`progress` (0..1), plus `error` on failure. The stream ends after the
event carrying the job's final status.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Annotated

import redis.asyncio as aioredis
from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from gateway.dependencies import GatewayState, JobIdPath, StateDep
from gateway.jobs import JobStore
from gateway.views import error_responses, get_record
from imagewave.contracts.jobs import JobStatus

router = APIRouter(tags=["jobs"])

KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing an idle stream
RECONNECT_MS = 2000
_STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")

EXAMPLE_STREAM = """retry: 2000

id: 1732456800000-0
event: job
data: {"stage": null, "status": "queued", "progress": 0.0}

id: 1732456800100-0
event: job
data: {"stage": null, "status": "running", "progress": 0.0}

id: 1732456800110-0
event: stage
data: {"stage": "describe", "status": "running", "progress": 0.0}

id: 1732456801200-0
event: stage
data: {"stage": "describe", "status": "succeeded", "progress": 1.0}

id: 1732456830000-0
event: job
data: {"stage": null, "status": "succeeded", "progress": 1.0}

"""


def _is_stream_id(text: str) -> bool:
    """A Redis stream id (two 64-bit numbers); anything else replays from the start."""
    if not _STREAM_ID.match(text):
        return False
    return all(int(part) < 2**64 for part in text.split("-"))


def _sse(entry_id: str | None, data: dict) -> bytes:
    """One event; its `event:` type says what it is about, `stage` or the `job` itself, so an
    EventSource can listen to one kind (`addEventListener("job", ...)`)."""
    head = f"id: {entry_id}\n" if entry_id else ""
    kind = "job" if data.get("stage") is None else "stage"
    return f"{head}event: {kind}\ndata: {json.dumps(data)}\n\n".encode()


def _is_final(event: dict) -> bool:
    return event.get("stage") is None and JobStatus(event["status"]).is_final


def _final_event(state: GatewayState, job_id: str) -> dict | None:
    """The job's final event rebuilt from its record (the stream may have been trimmed)."""
    record = state.jobs.get(job_id)
    if record is None or not record.status.is_final:
        return None
    event: dict = {"stage": None, "status": record.status.value, "progress": 1.0}
    if record.error is not None:
        event["error"] = record.error.model_dump(mode="json")
    return event


async def _follow(state: GatewayState, request: Request, job_id: str,
                  last_id: str) -> AsyncIterator[bytes]:
    yield f"retry: {RECONNECT_MS}\n\n".encode()
    key = JobStore.events_key(job_id)
    # Longer than the blocking read, which would otherwise count as a dead connection.
    client = aioredis.Redis.from_url(state.settings.redis_url, socket_timeout=KEEPALIVE_S + 10)
    block_ms = None  # catch up without waiting first, then wait for new entries
    try:
        while not await request.is_disconnected():
            replies = await client.xread({key: last_id}, count=100, block=block_ms)
            if not replies:
                # Caught up. A finished job whose final entry is gone (trimmed, or this client
                # resumes after it) still ends with its final status; otherwise wait.
                final = await run_in_threadpool(_final_event, state, job_id)
                if final is not None:
                    yield _sse(None, final)
                    return
                if not await run_in_threadpool(state.jobs.exists, job_id):
                    return  # expired or deleted
                if block_ms is not None:
                    yield b": keepalive\n\n"
                block_ms = int(KEEPALIVE_S * 1000)
                continue
            for entry_id, fields in replies[0][1]:
                last_id = entry_id.decode()
                event = json.loads(fields[b"data"])
                yield _sse(last_id, event)
                if _is_final(event):
                    return
    finally:
        await client.aclose()


@router.get(
    "/jobs/{job_id}/events",
    responses={**error_responses, 200: {
        "description": "text/event-stream; each `data:` is one JSON object",
        "content": {"text/event-stream": {"example": EXAMPLE_STREAM}}}},
    response_class=StreamingResponse,
    summary="Live progress as Server-Sent Events, replayed from the start",
)
async def job_events(
    state: StateDep,
    request: Request,
    job_id: JobIdPath,
    last_event_id: Annotated[str | None, Header(
        description="Resume after this event id (sent by EventSource on reconnect)",
        examples=["1732456801200-0"])] = None,
) -> StreamingResponse:
    get_record(state, job_id)
    start = last_event_id if last_event_id and _is_stream_id(last_event_id) else "0-0"
    return StreamingResponse(
        _follow(state, request, job_id, start), media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
