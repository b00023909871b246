"""POST /jobs, GET /jobs/{id}, GET /jobs/{id}/artifacts/{name}, DELETE /jobs/{id}."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Path, Response, UploadFile
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from gateway import idempotency
from gateway.auth import OwnerDep
from gateway.dependencies import GatewayState, JobIdPath, StateDep
from gateway.jobs import JobRecord, new_job_id
from gateway.limits import check_admission
from gateway.queue import enqueue_job
from gateway.uploads import check_image, check_midi, parse_options, read_limited
from gateway.views import error_responses, get_record, job_view, submit_responses
from gateway.webhooks import schedule_webhook
from imagewave.artifacts import InvalidArtifactName
from imagewave.contracts import layout
from imagewave.contracts.jobs import JobOptions, JobStatus, JobView
from imagewave.errors import NotFound

router = APIRouter(tags=["jobs"])


@router.post("/jobs", status_code=202, response_model=JobView, responses=submit_responses,
             summary="Submit a picture; get a job that makes its song")
async def create_job(
    state: StateDep,
    owner: OwnerDep,
    image: Annotated[UploadFile, File(description="JPEG, PNG, WebP or GIF, up to 20 MB")],
    midi: Annotated[UploadFile | None, File(description="Optional arrangement (.mid)")] = None,
    options: Annotated[str | None, Form(description="JobOptions as JSON",
                                        examples=['{"audio_length_in_s": 20, "seed": 7}'])] = None,
    idempotency_key: Annotated[str | None, Header(
        alias=idempotency.HEADER, description="Retrying with the same key and body returns the "
                                              "same job instead of making another",
        examples=["3f9c2a8e-0b1d-4c47-9a51-2f6f1c1c7d10"])] = None,
) -> Response:
    settings = state.settings
    if idempotency_key is not None:
        idempotency.check_key(idempotency_key)
    job_options = parse_options(options)
    image_bytes = await read_limited(image, settings.max_upload_bytes, "image")
    midi_bytes = await read_limited(midi, settings.max_midi_bytes, "midi") if midi else None
    submission = Submission(job_options, image_bytes, midi_bytes, owner, idempotency_key,
                            options)
    # Content checks, files and Redis in one trip to the thread pool, off the event loop.
    record, replayed = await run_in_threadpool(_admit, state, submission)
    headers = {"Location": f"/jobs/{record.id}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    # Serialized here, once: FastAPI would validate the JobView again against response_model.
    view = job_view(state.store, record, fresh=not replayed)
    return Response(view.model_dump_json(), status_code=202, headers=headers,
                    media_type="application/json")


@dataclass(frozen=True)
class Submission:
    options: JobOptions
    image: bytes
    midi: bytes | None
    owner: str | None
    idempotency_key: str | None
    raw_options: str | None


def _admit(state: GatewayState, submission: Submission) -> tuple[JobRecord, bool]:
    """Content checks, limits, idempotency, then files, record and queue entry;
    returns (record, replayed)."""
    settings = state.settings
    suffix = check_image(submission.image, settings.max_image_pixels)
    if submission.midi is not None:
        check_midi(submission.midi, max_notes=settings.max_midi_notes,
                   max_seconds=settings.max_midi_seconds)
    image_name = layout.input_image(suffix)
    job_id, key, owner = new_job_id(), submission.idempotency_key, submission.owner
    if key is not None:
        fingerprint = idempotency.fingerprint(submission.raw_options, submission.image,
                                              submission.midi)
        earlier = idempotency.claim(state.redis, owner, key, fingerprint, job_id,
                                    settings.idempotency_ttl_s)
        if earlier is not None:
            record = state.jobs.get(earlier)
            if record is None:
                raise idempotency.RequestInProgress(
                    f"a request with {idempotency.HEADER} {key!r} is still being handled",
                    field=idempotency.HEADER)
            return record, True
    created = False
    try:
        check_admission(state.redis, state.jobs, state.settings, owner)
        midi_name = layout.INPUT_MIDI if submission.midi is not None else None
        state.store.put_bytes(job_id, image_name, submission.image)
        if submission.midi is not None:
            state.store.put_bytes(job_id, layout.INPUT_MIDI, submission.midi)
        # Record and queue entry in one round trip (one MULTI/EXEC): both or neither.
        with state.redis.pipeline() as pipe:
            enqueue_job(state.queue, job_id, state.settings, pipeline=pipe)  # RQ WATCHes first
            record = state.jobs.create(job_id, submission.options,
                                       input_image=image_name,
                                       input_midi=midi_name, owner=owner, pipeline=pipe)
            pipe.execute()
        created = True
    except BaseException:
        if key is not None and not created:
            idempotency.release(state.redis, owner, key)
        raise
    return record, False


@router.get("/jobs/{job_id}", response_model=JobView, responses=error_responses,
            summary="A job's status, stages, error and artifacts")
async def get_job(state: StateDep, job_id: JobIdPath) -> JobView:
    return job_view(state.store, get_record(state, job_id))


@router.get("/jobs/{job_id}/artifacts/{name:path}", responses=error_responses,
            response_class=FileResponse, summary="Download one artifact (e.g. mix.wav)")
async def get_artifact(state: StateDep, job_id: JobIdPath, name: Annotated[str, Path(
        description="An artifact's name from the job's `artifacts`",
        examples=["mix.wav", "instruments/bass/bass.sf2"])]) -> FileResponse:
    get_record(state, job_id)
    try:
        path = state.store.local_path(job_id, name)
    except InvalidArtifactName:
        raise NotFound(f"artifact {name!r} not found") from None
    if layout.is_input(name) or not path.is_file():
        raise NotFound(f"artifact {name!r} not found")
    from imagewave.artifacts import media_type_of

    return FileResponse(path, media_type=media_type_of(name), filename=path.name)


@router.delete("/jobs/{job_id}", response_model=JobView, responses=error_responses,
               summary="Cancel a queued or running job")
async def cancel_job(state: StateDep, job_id: JobIdPath) -> JobView:
    record = get_record(state, job_id)
    # Compare-and-set: a job that finished meanwhile keeps its result, and only a job this
    # request canceled is stopped (RQ's stop command checks the worker still runs this job).
    if not record.status.is_final and await run_in_threadpool(
            state.jobs.set_status, job_id, JobStatus.canceled):
        await run_in_threadpool(_stop_rq_job, state, job_id)
        # Only enqueued here: a worker sends it (gateway/webhooks.py).
        await run_in_threadpool(schedule_webhook, state.redis, state.queue, state.settings,
                                job_id)
    return job_view(state.store, get_record(state, job_id))


def _stop_rq_job(state: GatewayState, job_id: str) -> None:
    """Take the job out of the queue, or stop the work-horse running it."""
    from rq.command import send_stop_job_command
    from rq.exceptions import InvalidJobOperation, NoSuchJobError
    from rq.job import Job

    try:
        job = Job.fetch(job_id, connection=state.redis, serializer=state.queue.serializer)
    except NoSuchJobError:
        return
    if job.get_status(refresh=True) == "started":
        try:
            send_stop_job_command(state.redis, job_id, serializer=state.queue.serializer)
        except InvalidJobOperation:
            pass  # finished meanwhile: the pipeline's own cancel check covers the rest
    else:
        job.cancel()
