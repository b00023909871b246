"""Settings of the t2a deployable (env prefix IMAGEWAVE_T2A_)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from imagewave.contracts.engines import SfxEngineName
from imagewave.settings import GpuServiceSettings


class T2aSettings(GpuServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGEWAVE_T2A_", extra="ignore")

    # Admission: one diffusion call runs at a time per GPU (a lock); one more may wait.
    max_in_flight: int = Field(default=2, ge=1, le=1024)
    retry_after_s: float = Field(default=10.0, gt=0.0, le=600.0)
    port: int = 8102
    default_engine: SfxEngineName = SfxEngineName.procedural
    engines: list[SfxEngineName] = Field(default_factory=lambda: [SfxEngineName.procedural])
    # audioldm2 engine
    model_id: str = Field(default="cvssp/audioldm2", description="diffusers model id or local path")
    device: str = Field(default="auto", description="auto, cuda, cpu")
    torch_dtype: str = Field(default="auto", description="auto (fp16 on CUDA), float16, float32")
    num_inference_steps: int = Field(default=100, ge=1, le=1000)
    guidance_scale: float = Field(default=3.5, ge=0.0, le=20.0)
    num_waveforms_per_prompt: int = Field(default=2, ge=1, le=8)
    scheduler: str = Field(default="DDIMScheduler")
    cpu_offload: bool = Field(default=False, description="Model CPU offload for small GPUs")
    max_batch_prompts: int = Field(default=16, ge=1, le=128,
                                   description="Prompts x waveforms per diffusion batch")
    warm_up: bool = Field(default=True, description="One short generation right after loading")
