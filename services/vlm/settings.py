"""Settings of the vlm deployable (env prefix IMAGEWAVE_VLM_)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from imagewave.contracts.engines import DescribeEngineName
from imagewave.images import DEFAULT_MAX_PIXELS
from imagewave.settings import GpuServiceSettings


class VlmSettings(GpuServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGEWAVE_VLM_", extra="ignore")

    # Admission: vLLM batches (its --max-num-seqs is 16); the transformers engine runs one
    # at a time.
    max_in_flight: int = Field(default=16, ge=1, le=1024)
    retry_after_s: float = Field(default=1.0, gt=0.0, le=600.0)
    port: int = 8101
    default_engine: DescribeEngineName = DescribeEngineName.lite
    engines: list[DescribeEngineName] = Field(
        default_factory=lambda: [DescribeEngineName.lite],
        description="Engines this deployment may load (studio ones need their models)",
    )
    max_image_pixels: int = DEFAULT_MAX_PIXELS
    min_source_confidence: float = Field(default=0.3, ge=0.0, le=1.0)
    # vllm engine: a client of vLLM's OpenAI-compatible server
    vllm_base_url: str = "http://127.0.0.1:8000/v1"
    vllm_api_key: str = "EMPTY"
    vllm_timeout_s: float = 120.0
    model_id: str = Field(default="Qwen/Qwen2.5-VL-7B-Instruct",
                          description="Model id (vLLM served name) or local path (transformers)")
    max_image_side_px: int = Field(default=768, description="Images are downscaled to this side")
    max_new_tokens: int = 1024
    repair_max_new_tokens: int = Field(
        default=2048, ge=1, description="Budget of the second call when a reply was cut off")
    # shared by the studio engines (vllm, transformers)
    few_shot: bool = Field(default=True, description="Send the two worked examples first")
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    # transformers engine: the model in-process
    device: str = Field(default="auto", description="auto, cuda, cpu")
    torch_dtype: str = Field(default="auto", description="auto (bf16 on CUDA), bfloat16, float32")
