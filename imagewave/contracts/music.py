"""What the composer decided, as data: the style choices and the parts of arrangement.json.

`ArrangementSummary` (in `imagewave.contracts.stages`) is built from these; the mixer reads the
section and phrase boundaries to place its effects, the page draws the section timeline.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field

from imagewave.contracts.scene import Role


class Style(str, Enum):
    """A song style: how the composer plays the picture's character."""

    ambient = "ambient"
    lofi = "lo-fi"
    pop = "pop"
    folk = "folk"
    cinematic = "cinematic"
    electronic = "electronic"


class SectionSummary(BaseModel):
    """One section of the form (intro, verse, chorus, bridge, ending...)."""

    name: str = Field(description="Form label: intro, verse, chorus, bridge, A, B, A', ending...")
    kind: str = Field(description="intro, verse, chorus, bridge, breakdown or ending")
    start_bar: int = Field(ge=0)
    bars: int = Field(ge=1)
    start_s: float = Field(ge=0)
    end_s: float = Field(gt=0)
    energy: float = Field(ge=0.0, le=1.0, description="Planned intensity, 0 sparse .. 1 full")
    chords: list[str] = Field(description="Chord of each bar (the first, when a bar has two)")
    phrase_end_s: list[float] = Field(
        default_factory=list, description="Where the section's phrases cadence, in seconds")
    parts: dict[Role, str] = Field(
        default_factory=dict, description="What each role plays here, e.g. guitar: strum")


class Character(BaseModel):
    """What the picture asked for, and why: the inputs of the composer's choices."""

    valence: float = Field(ge=-1.0, le=1.0)
    arousal: float = Field(ge=-1.0, le=1.0)
    brightness: float = Field(ge=0.0, le=1.0)
    warmth: float = Field(ge=-1.0, le=1.0)
    busyness: float = Field(ge=0.0, le=1.0)
    figures: list[str] = Field(
        default_factory=list, description="Figures the sound sources suggest: flow, chirp...")
    reasons: list[str] = Field(default_factory=list, description="Why key, tempo, style...")
