"""GET /jobs/{id}/bundle.zip: everything a finished job made, in one download.

The mix, the stems, arrangement.mid, the SFZ + SF2 instruments with their samples and previews,
the sound effects, timbres, scene.json and roles.json — every artifact but the uploaded inputs,
under one folder named after the job. Built per request into a temporary file (jobs are small:
tens of MB) so nothing extra is kept in the artifact store.
"""

from __future__ import annotations

import os
import tempfile
import zipfile

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from gateway.dependencies import GatewayState, JobIdPath, StateDep
from gateway.views import error_responses, get_record
from imagewave.contracts import layout
from imagewave.contracts.jobs import ErrorResponse, JobStatus
from imagewave.errors import Conflict

router = APIRouter(tags=["jobs"])

# Already-compressed formats gain nothing from deflate; store them as they are.
_STORED_SUFFIXES = (".flac", ".sf2", ".jpg", ".png")


def bundle_folder(job_id: str) -> str:
    return f"imagewave-{job_id[:8]}"


def write_bundle(state: GatewayState, job_id: str) -> str:
    """Zip the job's artifacts into a temporary file; return its path."""
    folder = bundle_folder(job_id)
    handle, path = tempfile.mkstemp(prefix="imagewave-bundle-", suffix=".zip")
    os.close(handle)
    try:
        with zipfile.ZipFile(path, "w") as bundle:
            for artifact in state.store.list(job_id):
                if layout.is_input(artifact.name):
                    continue
                method = (zipfile.ZIP_STORED if artifact.name.endswith(_STORED_SUFFIXES)
                          else zipfile.ZIP_DEFLATED)
                bundle.write(state.store.local_path(job_id, artifact.name),
                             f"{folder}/{artifact.name}", compress_type=method, compresslevel=6)
    except BaseException:
        os.unlink(path)
        raise
    return path


@router.get(
    "/jobs/{job_id}/bundle.zip",
    response_class=FileResponse,
    responses={**error_responses,
               200: {"description": "A zip of mix.wav, mix.flac, stems/, arrangement.mid, "
                                    "instruments/<role>/ (SFZ, SF2, card, samples, preview.wav), "
                                    "instruments/set_gm.sf2 (the whole set, GM-mapped), "
                                    "sfx/, timbre/, scene.json, roles.json",
                     "content": {"application/zip": {}}},
               409: {"model": ErrorResponse, "description": "The job has not succeeded (yet)"}},
    summary="Download all of a finished job's files as one zip",
)
async def job_bundle(state: StateDep, job_id: JobIdPath) -> FileResponse:
    record = get_record(state, job_id)
    if record.status is not JobStatus.succeeded:
        raise Conflict(f"job {job_id} is {record.status.value}: a bundle is made only for "
                       "succeeded jobs", field="job_id")
    path = await run_in_threadpool(write_bundle, state, job_id)
    return FileResponse(path, media_type="application/zip",
                        filename=f"{bundle_folder(job_id)}.zip",
                        background=BackgroundTask(os.unlink, path))
