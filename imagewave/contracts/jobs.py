"""The gateway's public job API: options in, job state out."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from imagewave.contracts.engines import DescribeEngineName, SfxEngineName, TimbreEngineName
from imagewave.contracts.music import Style
from imagewave.contracts.scene import Role, Scene

# The error shape is defined with the errors (imagewave/errors.py, the lowest module) and is
# part of the public contracts too.
from imagewave.errors import ErrorDetail as ErrorDetail
from imagewave.errors import ErrorResponse as ErrorResponse

# A MIDI file numbers its tracks with 16 bits; a render has far fewer worth a role each.
TrackIndex = Annotated[int, Field(ge=0, le=65_535)]
MAX_ROLE_OVERRIDES = 256


class JobStatus(str, Enum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    canceled = "canceled"

    @property
    def is_final(self) -> bool:
        return self in (JobStatus.succeeded, JobStatus.failed, JobStatus.canceled)


class StageName(str, Enum):
    """Pipeline stages in the order `gateway.pipeline` runs them."""

    describe = "describe"
    sfx = "sfx"
    roles = "roles"
    timbre = "timbre"
    instruments = "instruments"
    arrangement = "arrangement"
    render = "render"


class StageStatus(str, Enum):
    pending = "pending"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    skipped = "skipped"
    canceled = "canceled"  # shown for the stage a canceled job stopped in


class EngineChoice(BaseModel):
    """Per-request engine choice; None means the deployment's default."""

    model_config = ConfigDict(extra="forbid")

    describe: DescribeEngineName | None = None
    sfx: SfxEngineName | None = None
    timbre: TimbreEngineName | None = None


class JobOptions(BaseModel):
    """The `options` JSON of POST /jobs."""

    model_config = ConfigDict(extra="forbid")

    audio_length_in_s: float = Field(default=30.0, ge=5.0, le=600.0, description="Song length")
    sfx_length_in_s: float = Field(default=4.0, ge=1.0, le=30.0, description="Each effect's length")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    style: Style | None = Field(
        default=None, description="Song style; chosen from the picture when absent")
    engines: EngineChoice = Field(default_factory=EngineChoice)
    role_overrides: dict[TrackIndex, Role] = Field(
        default_factory=dict, max_length=MAX_ROLE_OVERRIDES,
        description="Uploaded MIDI: track index → role (at most 256 entries)"
    )
    webhook_url: str | None = Field(
        default=None, max_length=2048, pattern=r"^https?://[^\s]+$",
        description="POSTed a signed `job.succeeded` / `job.failed` / `job.canceled` event "
                    "when the job ends (see docs/webhooks.md)",
        examples=["https://example.com/imagewave-hook"],
    )


class StageView(BaseModel):
    name: StageName
    status: StageStatus = StageStatus.pending
    progress: float = Field(default=0.0, ge=0.0, le=1.0)
    started_at: float | None = Field(default=None, description="Unix time the stage began")
    finished_at: float | None = Field(default=None, description="Unix time the stage ended")

    @computed_field(description="finished_at − started_at, once the stage ended")
    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return round(self.finished_at - self.started_at, 3)


class JobError(BaseModel):
    stage: StageName | None = None
    message: str


class ArtifactView(BaseModel):
    name: str
    url: str
    media_type: str
    bytes: int


_EXAMPLE_JOB = "Xq3v9TzB1mK2p8LwR5sYdA"


class JobView(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": _EXAMPLE_JOB, "status": "succeeded", "created_at": 1732456800.0,
        "updated_at": 1732456828.4,
        "options": {"audio_length_in_s": 20.0, "sfx_length_in_s": 4.0, "seed": 7,
                    "style": None, "engines": {}, "role_overrides": {}, "webhook_url": None},
        "stages": [{"name": s.value, "status": "succeeded", "progress": 1.0} for s in StageName],
        "error": None,
        "artifacts": [
            {"name": name, "url": f"/jobs/{_EXAMPLE_JOB}/artifacts/{name}", "media_type": media,
             "bytes": size}
            for name, media, size in (
                ("mix.wav", "audio/wav", 7_680_044), ("mix.flac", "audio/flac", 2_210_337),
                ("arrangement.mid", "audio/midi", 1_024), ("scene.json", "application/json", 1_530),
                ("instruments/bass/bass.sfz", "text/plain", 812),
                ("instruments/bass/bass.sf2", "audio/x-soundfont", 402_118),
                ("instruments/bass/preview.wav", "audio/wav", 1_730_204))],
    }]})

    id: str
    status: JobStatus
    created_at: float
    updated_at: float
    started_at: float | None = Field(default=None, description="Unix time a worker began it")
    finished_at: float | None = Field(default=None, description="Unix time it ended")
    options: JobOptions
    stages: list[StageView]
    error: JobError | None = None
    artifacts: list[ArtifactView] = Field(default_factory=list)
    parent: str | None = Field(default=None, description="The job this one remixes, if any")

    @computed_field(description="finished_at − started_at (the work, not the queue wait)")
    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return round(self.finished_at - self.started_at, 3)


class RemixRequest(BaseModel):
    """The JSON body of POST /jobs/{id}/remix: what changes from the parent job."""

    model_config = ConfigDict(extra="forbid")

    options: dict[str, Any] | None = Field(
        default=None, description="JobOptions fields that override the parent's; the rest "
                                  "are kept (a new length keeps the seed and engines)",
        examples=[{"audio_length_in_s": 45}])
    scene: Scene | None = Field(default=None, description="An edited scene: sounds are made "
                                                          "again from it")


class JobList(BaseModel):
    """GET /jobs: the caller's jobs, newest first, one page of them."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "jobs": JobView.model_config["json_schema_extra"]["examples"],
        "next": "/jobs?limit=20&offset=20"}]})

    jobs: list[JobView]
    next: str | None = Field(default=None, description="The next page's URL; null on the last",
                             examples=["/jobs?limit=20&offset=20"])


class QueueMetrics(BaseModel):
    """GET /metrics/queue: what KEDA scales the workers and GPU services on (k8s/autoscaling.yaml).

    `busy` counts every job that needs a worker and the services now: waiting in the RQ queue
    plus started (RQ's started registry). The queue's length alone is 0 while every worker is
    busy, which would scale a loaded deployment down."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "queue": "imagewave", "queued": 3, "started": 2, "busy": 5}]})

    queue: str
    queued: int = Field(ge=0, description="Jobs waiting in the RQ queue")
    started: int = Field(ge=0, description="Jobs a worker is running (RQ's started registry)")
    busy: int = Field(ge=0, description="queued + started: the figure autoscaling targets")
