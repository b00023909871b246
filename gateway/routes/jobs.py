"""POST /jobs, POST /jobs/{id}/remix, GET /jobs, GET /jobs/{id},
GET /jobs/{id}/artifacts/{name}, DELETE /jobs/{id}."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Body, File, Form, Header, Path, Query, Response, UploadFile
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from gateway import idempotency
from gateway.auth import OwnerDep, Unauthorized
from gateway.dependencies import GatewayState, JobIdPath, StateDep
from gateway.engines import check_engines
from gateway.files import ArtifactFileResponse
from gateway.jobs import JobRecord, JobStore, new_job_id
from gateway.limits import check_admission, check_free_disk
from gateway.queue import enqueue_job
from gateway.quotas import check_quota, forget_usage, record_usage
from gateway.remix import first_changed_stage, merge_options, reuse_parent_artifacts
from gateway.uploads import check_image, check_midi, parse_options, parse_scene, read_limited
from gateway.views import error_responses, get_record, job_view, submit_responses
from gateway.webhook_targets import AllowList, check_url
from gateway.webhooks import schedule_webhook
from imagewave.artifacts import InvalidArtifactName
from imagewave.contracts import layout
from imagewave.contracts.jobs import (
    ErrorResponse,
    JobList,
    JobOptions,
    JobStatus,
    JobView,
    RemixRequest,
)
from imagewave.contracts.scene import Scene
from imagewave.errors import Conflict, InvalidImage, NotFound

router = APIRouter(tags=["jobs"])


@router.post("/jobs", status_code=202, response_model=JobView, responses=submit_responses | {
    200: {"model": JobView, "description": "With `Prefer: wait=N`: the job ended within N s"}},
             summary="Submit a picture; get a job that makes its song")
async def create_job(
    state: StateDep,
    owner: OwnerDep,
    image: Annotated[UploadFile | None, File(
        description="JPEG, PNG, WebP or GIF, up to 20 MB; may be left out when `scene` is "
                    "given")] = None,
    midi: Annotated[UploadFile | None, File(description="Optional arrangement (.mid)")] = None,
    options: Annotated[str | None, Form(description="JobOptions as JSON",
                                        examples=['{"audio_length_in_s": 20, "seed": 7}'])] = None,
    scene: Annotated[str | None, Form(
        description="A scene document as JSON (the format of scene.json): the picture is not "
                    "described, these sources are used")] = None,
    idempotency_key: Annotated[str | None, Header(
        alias=idempotency.HEADER, description="Retrying with the same key and body returns the "
                                              "same job instead of making another",
        examples=["3f9c2a8e-0b1d-4c47-9a51-2f6f1c1c7d10"])] = None,
    prefer: Annotated[str | None, Header(
        description="`wait=N` (RFC 7240): answer 200 with the finished job if it ends within N "
                    "seconds (at most the gateway's prefer_wait_max_s), else 202 as usual",
        examples=["wait=30"])] = None,
) -> Response:
    settings = state.settings
    if idempotency_key is not None:
        idempotency.check_key(idempotency_key)
    job_options = parse_options(options)
    if job_options.webhook_url is not None:
        check_url(job_options.webhook_url, AllowList.parse(settings.webhook_allow_hosts))
    user_scene = parse_scene(scene)
    if image is None and user_scene is None:
        raise InvalidImage("an image is required unless a scene is given", field="image")
    image_bytes = await read_limited(image, settings.max_upload_bytes, "image") if image else None
    midi_bytes = await read_limited(midi, settings.max_midi_bytes, "midi") if midi else None
    submission = Submission(job_options, image_bytes, midi_bytes, owner, idempotency_key,
                            user_scene)
    # Content checks, files and Redis in one trip to the thread pool, off the event loop.
    record, replayed = await run_in_threadpool(_admit, state, submission)
    headers = {"Location": f"/jobs/{record.id}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    wait_s = _preferred_wait_s(prefer, settings.prefer_wait_max_s)
    status_code = 202
    if wait_s is not None:
        headers["Preference-Applied"] = f"wait={wait_s:g}"
        finished = await _wait_until_final(state, record.id, wait_s)
        if finished is not None:
            record, replayed, status_code = finished, True, 200
    # Serialized here, once: FastAPI would validate the JobView again against response_model.
    view = job_view(state.store, record, fresh=not replayed)
    return Response(view.model_dump_json(), status_code=status_code, headers=headers,
                    media_type="application/json")


_PREFER_WAIT = re.compile(r"(?:^|[;,\s])wait\s*=\s*\"?(\d+(?:\.\d+)?)\"?", re.IGNORECASE)


def _preferred_wait_s(prefer: str | None, max_s: float) -> float | None:
    """`Prefer: wait=N` → N capped at `max_s`; None when absent (other preferences ignored)."""
    match = _PREFER_WAIT.search(prefer or "")
    if match is None or max_s <= 0:
        return None
    return min(float(match.group(1)), max_s)


async def _wait_until_final(state: GatewayState, job_id: str,
                            wait_s: float) -> JobRecord | None:
    """The job's record once it is final, following its event stream for up to `wait_s`."""
    import redis.asyncio as aioredis

    deadline = time.monotonic() + wait_s
    client = aioredis.Redis.from_url(state.settings.redis_url, socket_timeout=wait_s + 10)
    last_id = "0-0"
    try:
        while True:
            record = await run_in_threadpool(state.jobs.get, job_id)
            if record is None or record.status.is_final:
                return record
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                return None
            replies = await client.xread({JobStore.events_key(job_id): last_id}, count=100,
                                         block=min(left_ms, 5000))
            if replies:
                last_id = replies[0][1][-1][0].decode()
    finally:
        await client.aclose()


@dataclass(frozen=True)
class Submission:
    options: JobOptions
    image: bytes | None
    midi: bytes | None
    owner: str | None
    idempotency_key: str | None
    scene: Scene | None = None


def _admit(state: GatewayState, submission: Submission) -> tuple[JobRecord, bool]:
    """Content checks, limits, idempotency, then files, record and queue entry;
    returns (record, replayed)."""
    settings = state.settings
    image_name = ""
    if submission.image is not None:
        image_name = layout.input_image(check_image(submission.image, settings.max_image_pixels))
    if submission.midi is not None:
        check_midi(submission.midi, max_notes=settings.max_midi_notes,
                   max_seconds=settings.max_midi_seconds)
    job_id, key, owner = new_job_id(), submission.idempotency_key, submission.owner
    if key is not None:
        # The parsed options and scene, not their text: other spacing or key order is the
        # same request.
        scene_json = submission.scene.model_dump_json() if submission.scene else ""
        fingerprint = idempotency.fingerprint(submission.options.model_dump_json() + scene_json,
                                              submission.image or b"", submission.midi)
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
        check_engines(state.redis, submission.options.engines)
        check_free_disk(state.settings)
        check_admission(state.redis, state.jobs, state.settings, owner)
        upload_bytes = len(submission.image or b"") + len(submission.midi or b"")
        check_quota(state.redis, state.settings, owner, upload_bytes)
        midi_name = layout.INPUT_MIDI if submission.midi is not None else None
        if submission.image is not None:
            state.store.put_bytes(job_id, image_name, submission.image)
        if submission.scene is not None:  # describe's output, given: the stage is skipped
            state.store.put_bytes(job_id, layout.SCENE, submission.scene.model_dump_json(
                indent=2, exclude_none=True).encode())
        if submission.midi is not None:
            state.store.put_bytes(job_id, layout.INPUT_MIDI, submission.midi)
        # Record and queue entry in one round trip (one MULTI/EXEC): both or neither.
        with state.redis.pipeline() as pipe:
            enqueue_job(state.queue, job_id, state.settings, pipeline=pipe)  # RQ WATCHes first
            record = state.jobs.create(job_id, submission.options,
                                       input_image=image_name,
                                       input_midi=midi_name, owner=owner, pipeline=pipe)
            record_usage(state.redis, job_id, owner, upload_bytes, pipeline=pipe)
            pipe.execute()
        created = True
    except BaseException:
        if not created:
            state.store.delete_job(job_id)  # an upload written before the failure
            if key is not None:
                idempotency.release(state.redis, owner, key)
        raise
    return record, False


@router.post("/jobs/{job_id}/remix", status_code=202, response_model=JobView,
             responses=submit_responses | {409: {"model": ErrorResponse,
                                                 "description": "The parent job is not finished"}},
             summary="A new job from a finished one: new options and/or an edited scene")
async def remix_job(state: StateDep, owner: OwnerDep, job_id: JobIdPath,
                    request: Annotated[RemixRequest, Body()] = None) -> Response:
    request = request or RemixRequest()
    record = await run_in_threadpool(_admit_remix, state, owner, job_id, request)
    view = job_view(state.store, record, fresh=True)
    return Response(view.model_dump_json(), status_code=202,
                    headers={"Location": f"/jobs/{record.id}"}, media_type="application/json")


def _admit_remix(state: GatewayState, owner: str | None, parent_id: str,
                 request: RemixRequest) -> JobRecord:
    parent = get_record(state, parent_id)  # another owner's job is a 404 (gateway/auth.py)
    if parent.status is not JobStatus.succeeded:
        raise Conflict(f"job {parent_id!r} is {parent.status.value}: only a finished job can "
                       "be remixed", field="job_id")
    options = merge_options(parent.options, request.options)
    parent_scene = state.store.get_bytes(parent_id, layout.SCENE)
    scene_changed = request.scene is not None and (
        Scene.model_validate_json(parent_scene).model_dump() != request.scene.model_dump())
    first_changed = first_changed_stage(parent.options, options, scene_changed,
                                        parent_has_image=bool(parent.input_image))
    check_admission(state.redis, state.jobs, state.settings, owner)
    job_id = new_job_id()
    reuse_parent_artifacts(state.store, parent_id, job_id, first_changed,
                           request.scene if scene_changed else None)
    with state.redis.pipeline() as pipe:
        enqueue_job(state.queue, job_id, state.settings, pipeline=pipe)
        record = state.jobs.create(job_id, options, input_image=parent.input_image,
                                   input_midi=parent.input_midi, owner=owner,
                                   parent=parent_id, pipeline=pipe)
        pipe.execute()
    return record


@router.get("/jobs", response_model=JobList, responses=error_responses,
            summary="The caller's jobs, newest first, a page at a time")
async def list_jobs(
    state: StateDep,
    owner: OwnerDep,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this status",
                                                     examples=["succeeded"])] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Jobs per page", examples=[20])] = 20,
    offset: Annotated[int, Query(ge=0, description="Jobs to skip (see `next`)",
                                 examples=[0])] = 0,
) -> Response:
    if owner is None and not state.settings.list_anonymous_jobs:
        # Job ids are capabilities: without a key there is no caller to list jobs for.
        raise Unauthorized("GET /jobs lists the jobs of an API key: send X-API-Key (or set "
                           "IMAGEWAVE_LIST_ANONYMOUS_JOBS on a one-user gateway)")
    records, more = await run_in_threadpool(state.jobs.owner_jobs, owner, offset=offset,
                                            limit=limit, status=status)
    query = {"limit": limit, "offset": offset + limit} | ({"status": status.value}
                                                          if status else {})
    page = JobList(jobs=[job_view(state.store, r) for r in records],
                   next=f"/jobs?{urlencode(query)}" if more else None)
    return Response(page.model_dump_json(), media_type="application/json")


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

    return ArtifactFileResponse(path, media_type=media_type_of(name), filename=path.name)


@router.delete("/jobs/{job_id}", response_model=JobView, responses=error_responses,
               summary="Cancel a queued or running job; with purge=true, delete it and its files")
async def cancel_job(state: StateDep, job_id: JobIdPath, purge: Annotated[bool, Query(
        description="Also delete the job's record and every file (uploads and results): it "
                    "stops counting against storage quotas, and GET answers 404 after",
        examples=[True])] = False,
                     ) -> JobView:
    record = get_record(state, job_id)
    # Compare-and-set: a job that finished meanwhile keeps its result, and only a job this
    # request canceled is stopped (RQ's stop command checks the worker still runs this job).
    if not record.status.is_final and await run_in_threadpool(
            state.jobs.set_status, job_id, JobStatus.canceled):
        await run_in_threadpool(_stop_rq_job, state, job_id)
        # Only enqueued here: a worker sends it (gateway/webhooks.py).
        await run_in_threadpool(schedule_webhook, state.redis, state.settings, job_id)
    view = job_view(state.store, get_record(state, job_id))
    if purge:
        await run_in_threadpool(_purge, state, job_id)
        view.artifacts = []
    return view


def _purge(state: GatewayState, job_id: str) -> None:
    """Record, events and files gone; a worker still finishing the job sees no record and
    stops, and retention sweeps whatever it writes after this."""
    state.jobs.delete(job_id)
    state.store.delete_job(job_id)
    forget_usage(state.redis, job_id)


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
