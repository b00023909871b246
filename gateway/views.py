"""How the gateway shows a job: its public view, its lookup by id, and the error answers its
routes document. Routes, the event stream and webhook deliveries all build views here."""

from __future__ import annotations

from gateway.dependencies import GatewayState
from gateway.jobs import JobRecord
from imagewave.artifacts import ArtifactStore, InvalidArtifactName, check_job_id
from imagewave.contracts import layout
from imagewave.contracts.jobs import (
    ArtifactView,
    ErrorResponse,
    JobStatus,
    JobView,
    StageStatus,
    StageView,
)
from imagewave.errors import NotFound

error_responses: dict[int | str, dict] = {
    401: {"model": ErrorResponse, "description": "Missing or wrong API key"},
    404: {"model": ErrorResponse, "description": "No such job or artifact"},
    413: {"model": ErrorResponse, "description": "Upload larger than the limit"},
    422: {"model": ErrorResponse, "description": "Invalid image, MIDI or options"},
}
submit_responses: dict[int | str, dict] = error_responses | {
    409: {"model": ErrorResponse, "description": "Same Idempotency-Key still being submitted"},
    429: {"model": ErrorResponse, "description": "Queue full or key over its limits; see "
                                                 "Retry-After"},
    507: {"model": ErrorResponse, "description": "No disk space left for new jobs"},
}


def job_view(store: ArtifactStore, record: JobRecord, *, fresh: bool = False) -> JobView:
    """The public view; `fresh` (a job just queued) has no artifacts to list yet."""
    artifacts = [] if fresh else [
        ArtifactView(name=a.name, url=f"/jobs/{record.id}/artifacts/{a.name}",
                     media_type=a.media_type, bytes=a.bytes)
        for a in store.list(record.id) if not layout.is_input(a.name)
    ]
    return JobView(id=record.id, status=record.status, created_at=record.created_at,
                   updated_at=record.updated_at, started_at=record.started_at,
                   finished_at=record.finished_at, options=record.options,
                   stages=settled_stages(record), error=record.error, artifacts=artifacts,
                   parent=record.parent)


def settled_stages(record: JobRecord) -> list[StageView]:
    """A job that ended (canceled, failed, a worker lost) has no stage still `running`: the
    one it stopped in shows `canceled` or `failed` with the job's end as its end."""
    if not record.status.is_final:
        return record.stages
    stopped = (StageStatus.canceled if record.status is JobStatus.canceled
               else StageStatus.failed)
    settled = []
    for stage in record.stages:
        if stage.status is StageStatus.running:
            stage = stage.model_copy(update={
                "status": stopped, "finished_at": stage.finished_at
                or record.finished_at or record.updated_at})
        settled.append(stage)
    return settled


def get_record(state: GatewayState, job_id: str) -> JobRecord:
    try:
        check_job_id(job_id)
    except InvalidArtifactName:
        raise NotFound(f"job {job_id[:64]!r} not found") from None
    record = state.jobs.get(job_id)
    if record is None:
        raise NotFound(f"job {job_id[:64]!r} not found")
    return record
