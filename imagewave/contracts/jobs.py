"""The gateway's public job API: options in, job state out."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

from imagewave.contracts.engines import DescribeEngineName, SfxEngineName, TimbreEngineName
from imagewave.contracts.scene import Role


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
    engines: EngineChoice = Field(default_factory=EngineChoice)
    role_overrides: dict[int, Role] = Field(
        default_factory=dict, description="Uploaded MIDI: track index → role"
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


class JobError(BaseModel):
    stage: StageName | None = None
    message: str


class ArtifactView(BaseModel):
    name: str
    url: str
    media_type: str
    bytes: int


class JobView(BaseModel):
    id: str
    status: JobStatus
    created_at: float
    updated_at: float
    options: JobOptions
    stages: list[StageView]
    error: JobError | None = None
    artifacts: list[ArtifactView] = Field(default_factory=list)


class ErrorDetail(BaseModel):
    code: str = Field(examples=["invalid_image"])
    message: str
    field: str | None = Field(default=None, description="The request field at fault, if any")


class ErrorResponse(BaseModel):
    """The one error shape every imagewave HTTP endpoint answers with."""

    error: ErrorDetail
