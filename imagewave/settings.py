"""Settings shared by every deployable. Each deployable extends `BaseServiceSettings` once in its
own `settings.py`; nothing else in the code base reads the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BaseServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGEWAVE_", env_file=None, extra="ignore")

    log_level: str = Field(default="INFO", description="Python logging level")
    host: str = Field(default="127.0.0.1", description="Interface the HTTP server binds")
    port: int = Field(default=8000, ge=0, le=65535, description="Port the HTTP server binds")


class GpuServiceSettings(BaseServiceSettings):
    """A service whose engines may hold a GPU: it admits a bounded number of requests at once
    and answers the rest 503 with `Retry-After`, so callers back off instead of piling work
    onto one device (each subclass picks defaults that fit its engines)."""

    max_in_flight: int = Field(default=4, ge=1, le=1024,
                               description="Stage requests admitted at once; more get 503")
    retry_after_s: float = Field(default=2.0, gt=0.0, le=600.0,
                                 description="Retry-After sent with a 503 when full")


def default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "imagewave"


def child_environment(overrides: dict[str, str]) -> dict[str, str]:
    """This process's environment plus `overrides`, for the processes `serve` starts."""
    import os

    return {**os.environ, **overrides}
