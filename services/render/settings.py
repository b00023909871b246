"""Settings of the render deployable (env prefix IMAGEWAVE_RENDER_)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from imagewave.audio import SAMPLE_RATE
from imagewave.midi_validation import MAX_MIDI_NOTES, MAX_MIDI_SECONDS
from imagewave.settings import BaseServiceSettings


class RenderSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGEWAVE_RENDER_", extra="ignore")

    port: int = 8104
    sample_rate: int = Field(default=SAMPLE_RATE, description="Mix and instrument sample rate")
    target_lufs: float = Field(default=-14.0, ge=-40.0, le=-5.0)
    true_peak_dbtp: float = Field(default=-1.0, le=0.0)
    max_midi_notes: int = Field(default=MAX_MIDI_NOTES, ge=1)
    max_midi_seconds: float = Field(default=MAX_MIDI_SECONDS, gt=0)
    # 2048 MB: songs up to ~620 s render in the service (the mix travels back base64 in JSON);
    # the generated arrangements (<= 600 s) always fit.
    max_render_memory_mb: int = Field(
        default=2048, ge=256,
        description="A MIDI whose render would need more memory is refused (4xx naming midi)")
