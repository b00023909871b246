"""The scene document: what a picture would sound like.

Field names follow the seed report's format so its documents (and prompts written for it) stay
valid; `confidence`, `mood` and `visual` are our optional additions. The VLM engines generate their
JSON schema from `Scene.model_json_schema()`: this file is the only definition of the format.
`visual` is measured from the pixels by the describe service, never written by a model, so it is
left out of that schema.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema


class Role(str, Enum):
    """An instrument role in the arrangement."""

    keyboard = "keyboard"
    bass = "bass"
    guitar = "guitar"
    drums = "drums"

    @property
    def is_melodic(self) -> bool:
        return self is not Role.drums


MELODIC_ROLES: tuple[Role, ...] = (Role.keyboard, Role.bass, Role.guitar)


class SoundVariant(BaseModel):
    """One way a source sounds: how it is played and what it sounds like."""

    play_method: str = Field(min_length=1, max_length=200, examples=["breeze rustling fronds"])
    timbre: list[str] = Field(default_factory=list, max_length=12, examples=[["airy", "soft"]])
    mapping_to_music_instrument: Role | None = Field(
        default=None, description="The instrument role this sound suits best, if any."
    )


class SoundSource(BaseModel):
    """Something in the picture that makes (or implies) a sound."""

    name: str = Field(min_length=1, max_length=120, examples=["palm trees"])
    material: str = Field(default="", max_length=200, examples=["leafy fronds and fibrous trunks"])
    variants: list[SoundVariant] = Field(min_length=1, max_length=8)
    confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, description="How sure the describer is that this is there."
    )


class Mood(BaseModel):
    """Coarse, machine-usable mood next to the free-text `mood_description`."""

    valence: float = Field(default=0.0, ge=-1.0, le=1.0,
                           description="-1 sad/dark .. +1 happy/bright")
    arousal: float = Field(default=0.0, ge=-1.0, le=1.0, description="-1 calm .. +1 energetic")


class VisualFeatures(BaseModel):
    """Cheap statistics of the picture's pixels (`imagewave.visual`), for the composer."""

    brightness: float = Field(ge=0.0, le=1.0, description="Mean luma, 0 black .. 1 white")
    warmth: float = Field(ge=-1.0, le=1.0, description="Mean red minus blue, -1 cold .. +1 warm")
    saturation: float = Field(ge=0.0, le=1.0, description="Mean HSV saturation")
    contrast: float = Field(ge=0.0, le=1.0, description="Luma spread, 0 flat .. 1 hard")
    busyness: float = Field(ge=0.0, le=1.0, description="Edge density, 0 smooth .. 1 cluttered")
    hue_deg: float = Field(default=0.0, ge=0.0, lt=360.0,
                           description="Dominant hue of the vivid pixels, in degrees")


class Scene(BaseModel):
    """Image → sound sources, in the seed's format plus optional extras."""

    model_config = ConfigDict(extra="ignore")

    scene_description: str = Field(min_length=1, max_length=2000)
    mood_description: str = Field(min_length=1, max_length=500)
    sound_sources: list[SoundSource] = Field(min_length=1, max_length=16)
    mood: Mood | None = None
    visual: SkipJsonSchema[VisualFeatures | None] = Field(
        default=None, description="Measured from the pixels by the describe service")
