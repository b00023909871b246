"""Settings of the gateway deployable: the API server and its RQ workers share them.

Env prefix IMAGEWAVE_ (e.g. IMAGEWAVE_ARTIFACT_DIR); Redis comes from REDIS_URL as usual.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, PositiveFloat, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from imagewave.contracts.jobs import StageName
from imagewave.images import DEFAULT_MAX_PIXELS
from imagewave.midi_validation import MAX_MIDI_NOTES, MAX_MIDI_SECONDS
from imagewave.settings import BaseServiceSettings, default_data_dir


class GatewaySettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGEWAVE_", extra="ignore")

    port: int = 8000
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "IMAGEWAVE_REDIS_URL"),
        description="Redis for the queue and job state; unset → `serve` starts an embedded one",
    )
    data_dir: Path = Field(default_factory=default_data_dir,
                           description="Embedded Redis data and default artifact root")
    artifact_dir: Path | None = Field(default=None, description="Default: <data_dir>/artifacts")
    queue_name: str = "imagewave"
    webhook_queue_name: str = Field(
        default="imagewave-webhooks", description="RQ queue of webhook deliveries: its own "
                                                  "workers, so a slow receiver never holds a "
                                                  "job worker")
    # The four services, each its own deployable.
    vlm_url: str = "http://127.0.0.1:8101"
    t2a_url: str = "http://127.0.0.1:8102"
    timbre_url: str = "http://127.0.0.1:8103"
    render_url: str = "http://127.0.0.1:8104"
    service_timeout_s: float = Field(default=300.0, gt=0, description="One service call's limit")
    service_retries: int = Field(default=3, ge=0, le=10, description="Retries on outage / 5xx")
    service_backoff_s: float = Field(default=0.5, ge=0, description="First retry delay, doubles")
    # HTTP server limits (gateway/http_server.py): slow or huge requests cannot hold the server.
    http_max_header_bytes: int = Field(default=64 * 1024, ge=4096,
                                       description="Largest request head (431 above)")
    http_header_timeout_s: float = Field(default=10.0, gt=0,
                                         description="A request head must arrive within this")
    http_body_timeout_s: float = Field(
        default=20.0, gt=0, description="A request body must arrive within this, plus 1 s "
                                        "per http_body_min_rate_bytes_s bytes received")
    http_body_min_rate_bytes_s: int = Field(default=50_000, ge=1,
                                            description="Slowest body pace kept open")
    http_max_connections: int = Field(default=1000, ge=1,
                                      description="Open connections above which requests get 503")
    http_keep_alive_s: int = Field(default=5, ge=1, description="Idle keep-alive connections")
    # Jobs
    job_timeout_s: int = Field(default=1800, ge=10, description="RQ limit for a whole job")
    job_retries: int = Field(default=3, ge=0, le=10,
                             description="RQ retries of a failed or abandoned job")
    job_ttl_s: int = Field(default=7 * 24 * 3600, ge=60, description="How long jobs are kept")
    min_free_disk_bytes: int = Field(
        default=512 * 1024**2, ge=0, description="Below this much free space where artifacts "
                                                 "live, POST /jobs is 507 and /healthz 503")
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_midi_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_image_pixels: int = DEFAULT_MAX_PIXELS
    max_midi_notes: int = Field(default=MAX_MIDI_NOTES, ge=1,
                                description="Notes in an uploaded MIDI")
    max_midi_seconds: float = Field(default=MAX_MIDI_SECONDS, gt=0,
                                    description="Uploaded MIDI's length")
    # Reliability (gateway/recovery.py): how fast a dead worker's job is noticed and retried.
    job_monitoring_interval_s: int = Field(
        default=3, ge=1, description="Worker heartbeat while a job runs (RQ's monitoring interval)")
    stale_job_after_s: float = Field(
        default=10.0, gt=0, description="A running job whose worker sent no heartbeat for this "
                                        "long is abandoned: the reaper retries it")
    reaper_interval_s: float = Field(default=2.0, gt=0, description="How often the reaper looks")
    maintenance_interval_s: int = Field(default=60, ge=5,
                                        description="RQ's own registry maintenance interval")
    stage_timeout_s: dict[StageName, PositiveFloat] = Field(
        default_factory=dict, description="Per-stage service call limit (seconds), e.g. "
                                          '{"sfx": 600}; unset stages use service_timeout_s')
    # Backpressure and access (gateway/limits.py, gateway/auth.py)
    max_queue_depth: int = Field(default=1000, ge=1,
                                 description="Queued + running jobs above which POST /jobs is 429")
    api_keys_required: bool = Field(
        default=False, description="Every request needs an X-API-Key made by `imagewave keys`")
    key_rate_per_minute: int = Field(default=120, ge=1, description="POST /jobs per key per minute")
    key_max_active_jobs: int = Field(default=20, ge=1,
                                     description="Queued + running jobs one key may have")
    key_max_storage_bytes: int = Field(
        default=2 * 1024**3, ge=1, description="Bytes of job files one key may keep "
                                               "(uploads and results, canceled jobs too)")
    anonymous_max_storage_bytes: int = Field(
        default=20 * 1024**3, ge=1, description="Bytes of job files all callers without a key "
                                                "may keep together")
    idempotency_ttl_s: int = Field(default=24 * 3600, ge=60,
                                   description="How long an Idempotency-Key is remembered")
    retention_interval_s: float = Field(default=600.0, gt=0,
                                        description="How often expired jobs' files are removed")
    cors_allow_origins: list[str] = Field(
        default_factory=list, description='Origins a browser app may call from, e.g. '
        '["https://app.example.com"] (IMAGEWAVE_CORS_ALLOW_ORIGINS as JSON); empty: no CORS')
    list_anonymous_jobs: bool = Field(
        default=False, description="GET /jobs without a key lists the jobs made without one "
                                   "(a one-user gateway); off: job ids stay capabilities")
    prefer_wait_max_s: float = Field(default=60.0, ge=0,
                                     description="Longest `Prefer: wait=N` POST /jobs honours")
    # Webhooks (gateway/webhooks.py): unset secret → one is made and kept in Redis.
    webhook_secret: SecretStr | None = Field(
        default=None, description="whsec_<base64> key that signs webhook deliveries")
    webhook_timeout_s: float = Field(default=10.0, gt=0,
                                     description="One delivery's limit, start to answer")
    webhook_retries: int = Field(default=5, ge=0, le=10, description="Redeliveries on failure")
    webhook_allow_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Internal webhook receivers this deployment trusts, comma-separated host "
                    "names, addresses or networks (e.g. `hooks.internal,10.1.0.0/16`); every "
                    "other loopback, private, link-local or reserved target is refused "
                    "(gateway/webhook_targets.py)")

    @field_validator("webhook_allow_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def artifact_root(self) -> Path:
        return self.artifact_dir or self.data_dir / "artifacts"


@cache
def process_settings() -> GatewaySettings:
    """The settings of this worker process, read from its environment once (RQ jobs and webhook
    deliveries run many times per process; the environment does not change in between)."""
    return GatewaySettings()
