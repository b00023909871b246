"""Where a job's files live: a small interface with a local-directory implementation.

Names are relative POSIX paths inside the job (`sfx/00_cat.wav`); they are validated so no name
can reach outside its job's directory, whatever a client sends.
"""

from __future__ import annotations

import errno
import mimetypes
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from imagewave.errors import StorageFull

_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

mimetypes.add_type("audio/wav", ".wav")
mimetypes.add_type("audio/flac", ".flac")
mimetypes.add_type("audio/midi", ".mid")
mimetypes.add_type("text/plain", ".sfz")
mimetypes.add_type("audio/x-soundfont", ".sf2")


# No space, over a quota, or over the file size limit: the write cannot succeed as it is.
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class InvalidArtifactName(ValueError):
    pass


def check_artifact_name(name: str) -> str:
    """Return `name` if it is a safe relative path of allowed segments, else raise."""
    segments = name.split("/")
    if not name or len(name) > 512 or not all(_SEGMENT.match(s) for s in segments):
        raise InvalidArtifactName(f"artifact name {name!r} is not a safe relative path")
    return name


def check_job_id(job_id: str) -> str:
    if not _JOB_ID.match(job_id):
        raise InvalidArtifactName(f"job id {job_id!r} is malformed")
    return job_id


def media_type_of(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


@dataclass(frozen=True)
class ArtifactInfo:
    name: str
    bytes: int
    media_type: str


class ArtifactStore(Protocol):
    def put_bytes(self, job_id: str, name: str, data: bytes) -> None: ...
    def get_bytes(self, job_id: str, name: str) -> bytes: ...
    def exists(self, job_id: str, name: str) -> bool: ...
    def list(self, job_id: str, prefix: str = "") -> list[ArtifactInfo]: ...
    def local_path(self, job_id: str, name: str) -> Path: ...
    def delete_job(self, job_id: str) -> None: ...


class LocalArtifactStore:
    """Artifacts as files under `root/<job_id>/<name>`; writes are atomic (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def job_dir(self, job_id: str) -> Path:
        return self.root / check_job_id(job_id)

    def local_path(self, job_id: str, name: str) -> Path:
        return self.job_dir(job_id) / check_artifact_name(name)

    def put_bytes(self, job_id: str, name: str, data: bytes) -> None:
        path = self.local_path(job_id, name)
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            tmp.replace(path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)  # never leave a partial file behind
            if exc.errno in _DISK_FULL:
                raise StorageFull(f"no space left to store {name!r} ({len(data)} bytes): "
                                  f"{exc.strerror}") from exc
            raise

    def get_bytes(self, job_id: str, name: str) -> bytes:
        return self.local_path(job_id, name).read_bytes()

    def exists(self, job_id: str, name: str) -> bool:
        return self.local_path(job_id, name).is_file()

    def _walk(self, job_id: str) -> Iterator[Path]:
        base = self.job_dir(job_id)
        if base.is_dir():
            yield from (p for p in sorted(base.rglob("*")) if p.is_file())

    def list(self, job_id: str, prefix: str = "") -> list[ArtifactInfo]:
        base = self.job_dir(job_id)
        infos = []
        for path in self._walk(job_id):
            name = path.relative_to(base).as_posix()
            if path.name.startswith(".") or not name.startswith(prefix):
                continue
            infos.append(ArtifactInfo(name, path.stat().st_size, media_type_of(name)))
        return infos

    def delete_job(self, job_id: str) -> None:
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)


class DirectoryArtifactStore(LocalArtifactStore):
    """One job's artifacts straight in a chosen directory (`imagewave compose -o DIR`)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)

    def job_dir(self, job_id: str) -> Path:
        return self.root
