"""Settings of the timbre deployable (env prefix IMAGEWAVE_TIMBRE_)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from imagewave.contracts.engines import TimbreEngineName
from imagewave.settings import GpuServiceSettings


class TimbreSettings(GpuServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGEWAVE_TIMBRE_", extra="ignore")

    # Admission: RAVE calls are short and run one at a time per GPU; a few may wait.
    max_in_flight: int = Field(default=4, ge=1, le=1024)
    retry_after_s: float = Field(default=2.0, gt=0.0, le=600.0)
    port: int = 8103
    default_engine: TimbreEngineName = TimbreEngineName.dsp
    engines: list[TimbreEngineName] = Field(default_factory=lambda: [TimbreEngineName.dsp])
    # rave engine: <model_dir>/<instrument>.ts, one exported TorchScript model per instrument
    model_dir: Path = Field(default=Path("models/rave"))
    device: str = Field(default="auto", description="auto, cuda, cpu")
    chunk_s: float = Field(default=10.0, gt=0.5, description="Streaming chunk length for RAVE")
    context_s: float = Field(default=0.5, ge=0.0, le=5.0,
                             description="Audio either side of each RAVE chunk, cross-faded")
    batch_chunks: int = Field(default=8, ge=1, le=64, description="RAVE chunks per forward pass")
    warm_up: bool = Field(default=True, description="Run every RAVE input shape once at load")
