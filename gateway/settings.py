"""Settings of the gateway deployable: the API server and its RQ workers share them.

Env prefix IMAGEWAVE_ (e.g. IMAGEWAVE_ARTIFACT_DIR); Redis comes from REDIS_URL as usual.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from imagewave.images import DEFAULT_MAX_PIXELS
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
    # The four services, each its own deployable.
    vlm_url: str = "http://127.0.0.1:8101"
    t2a_url: str = "http://127.0.0.1:8102"
    timbre_url: str = "http://127.0.0.1:8103"
    render_url: str = "http://127.0.0.1:8104"
    service_timeout_s: float = Field(default=300.0, gt=0, description="One service call's limit")
    service_retries: int = Field(default=3, ge=0, le=10, description="Retries on outage / 5xx")
    service_backoff_s: float = Field(default=0.5, ge=0, description="First retry delay, doubles")
    # Jobs
    job_timeout_s: int = Field(default=1800, ge=10, description="RQ limit for a whole job")
    job_retries: int = Field(default=2, ge=0, le=10, description="RQ retries of a failed job")
    job_ttl_s: int = Field(default=7 * 24 * 3600, ge=60, description="How long jobs are kept")
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_midi_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_image_pixels: int = DEFAULT_MAX_PIXELS
    # Webhooks (gateway/webhooks.py): unset secret → one is made and kept in Redis.
    webhook_secret: SecretStr | None = Field(
        default=None, description="whsec_<base64> key that signs webhook deliveries")
    webhook_timeout_s: float = Field(default=10.0, gt=0, description="One delivery's limit")
    webhook_retries: int = Field(default=5, ge=0, le=10, description="Redeliveries on failure")
    @property
    def artifact_root(self) -> Path:
        return self.artifact_dir or self.data_dir / "artifacts"
