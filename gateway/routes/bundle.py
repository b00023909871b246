"""GET /jobs/{id}/bundle.zip: everything a finished job made, in one download.

The mix, the stems, arrangement.mid, the SFZ + SF2 instruments with their samples and previews,
the sound effects, timbres, scene.json and roles.json — every artifact but the uploaded inputs —
plus the picture, a 44.1 kHz 16-bit WAV of the mix and a README (gateway/bundle_extras.py),
under one folder named after the job. Built once, on the first request, into the job's folder
as `.bundle.zip` (dot files are not artifacts: not listed, not bundled) and served from there
after: a succeeded job's artifacts never change, and building costs seconds of CPU and the
job's size in disk per build. Concurrent first requests wait for the one build (a file lock).
Retention removes it with the job's other files.
"""

from __future__ import annotations

import fcntl
import os
import threading
import zipfile
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from gateway import bundle_extras
from gateway.dependencies import GatewayState, JobIdPath, StateDep
from gateway.files import ArtifactFileResponse
from gateway.views import error_responses, get_record
from imagewave.contracts import layout
from imagewave.contracts.jobs import ErrorResponse, JobStatus
from imagewave.errors import Conflict

router = APIRouter(tags=["jobs"])

# Already-compressed formats gain nothing from deflate; store them as they are.
_STORED_SUFFIXES = (".flac", ".sf2", ".jpg", ".png")


def bundle_folder(job_id: str) -> str:
    return f"imagewave-{job_id[:8]}"


BUNDLE_FILE = ".bundle.zip"


def write_bundle(state: GatewayState, job_id: str, path: Path) -> None:
    """Zip the job's artifacts into `path`."""
    folder = bundle_folder(job_id)
    with zipfile.ZipFile(path, "w") as bundle:
        names = []
        for artifact in state.store.list(job_id):
            if layout.is_input(artifact.name):
                continue
            names.append(artifact.name)
            method = (zipfile.ZIP_STORED if artifact.name.endswith(_STORED_SUFFIXES)
                      else zipfile.ZIP_DEFLATED)
            bundle.write(state.store.local_path(job_id, artifact.name),
                         f"{folder}/{artifact.name}", compress_type=method, compresslevel=6)
        # The picture, a 44.1 kHz 16-bit WAV to share and a README (gateway/bundle_extras.py)
        for name, data in bundle_extras.extras(state.store, job_id, names):
            method = (zipfile.ZIP_STORED if name.endswith(_STORED_SUFFIXES)
                      else zipfile.ZIP_DEFLATED)
            bundle.writestr(f"{folder}/{name}", data, compress_type=method, compresslevel=6)


def cached_bundle(state: GatewayState, job_id: str) -> Path:
    """The job's bundle, built now if no earlier request built it."""
    job_dir = state.store.job_dir(job_id)
    path = job_dir / BUNDLE_FILE
    if path.is_file():
        return path
    job_dir.mkdir(parents=True, exist_ok=True)
    with open(job_dir / ".bundle.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build; the others wait for it
        if path.is_file():
            return path
        tmp = job_dir / f".bundle.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            write_bundle(state, job_id, tmp)
            tmp.replace(path)  # whole or absent, never half a zip
        finally:
            tmp.unlink(missing_ok=True)
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
    path = await run_in_threadpool(cached_bundle, state, job_id)
    return ArtifactFileResponse(path, media_type="application/zip",
                                filename=f"{bundle_folder(job_id)}.zip")
