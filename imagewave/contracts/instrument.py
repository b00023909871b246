"""`instruments/<role>/<role>.json`: how an instrument was made from its source, and how it plays.

Written by the instrument builder next to the SFZ and SF2, so a reader (a person, the page, an
evaluation) can see why a bass plucks or a keyboard pads without parsing the SFZ.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from imagewave.contracts.scene import Role


class SourceCharacter(BaseModel):
    """The source's own envelope and pitch, as measured before building."""

    percussive: bool = Field(description="Comes in decaying hits rather than a steady sound")
    fill: float = Field(ge=0, le=1, description="Share of the source within 12 dB of its top")
    decay_db_per_s: float = Field(description="Level slope over 300 ms after the loudest peak")
    pitched: bool = Field(description="Periodic enough to be used as it is (not resonated)")
    voiced_fraction: float = Field(ge=0, le=1)
    clarity: float = Field(ge=0, le=1)


class EnvelopeCard(BaseModel):
    kind: Literal["plucked", "struck", "pad", "one_shot"]
    attack_s: float = Field(ge=0)
    decay_s: float = Field(ge=0, description="SFZ ampeg_decay (sfizz: 78 dB per this time)")
    sustain_percent: float = Field(ge=0, le=100)
    release_s: float = Field(ge=0)
    fall_db_at_6s: float | None = Field(
        default=None, ge=0, description="How far a held note has fallen after 6 s (melodic)")


class InstrumentCard(BaseModel):
    role: Role
    root_pitch: float | None = Field(default=None, description="MIDI pitch of the source")
    source: SourceCharacter | None = None
    envelope: EnvelopeCard
    zones: int = Field(ge=1, description="Multi-sample zones (body samples)")
    round_robin: int = Field(ge=1, description="Variants cycled on repeated notes")
    velocity: str = Field(description="How velocity changes the sound")
    loop_s_min: float | None = Field(default=None, description="Shortest sustain loop")
    loop_s_median: float | None = None
    volume_db: float = Field(description="SFZ <global> volume that sets the playing level")
