"""Request and response bodies of the four services, one model per wire contract.

The gateway's pipeline builds these; each service validates them at its door. The in-process
clients used by `imagewave compose` pass the very same objects to the same serving classes.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from imagewave.audio import SAMPLE_RATE
from imagewave.contracts.audio import AudioPayload, FilePayload
from imagewave.contracts.engines import DescribeEngineName, SfxEngineName, TimbreEngineName
from imagewave.contracts.jobs import MAX_ROLE_OVERRIDES, TrackIndex
from imagewave.contracts.music import Character, SectionSummary, Style
from imagewave.contracts.scene import Role, Scene

# -- vlm ------------------------------------------------------------------------------------
# POST /v1/describe is multipart (the image is a file upload); its options travel as fields.


class DescribeResponse(BaseModel):
    scene: Scene
    engine: DescribeEngineName


# -- t2a ------------------------------------------------------------------------------------


class SfxRequest(BaseModel):
    scene: Scene
    audio_length_in_s: float = Field(default=4.0, gt=0.25, le=30.0)
    sample_rate: int = Field(default=SAMPLE_RATE, ge=8_000, le=96_000)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    engine: SfxEngineName | None = None


class SoundEffect(BaseModel):
    source_index: int = Field(ge=0, description="Index into scene.sound_sources")
    name: str
    prompt: str = Field(description="What the engine was asked to make (text prompt or recipe)")
    audio: AudioPayload


class SfxResponse(BaseModel):
    effects: list[SoundEffect]
    engine: SfxEngineName


# -- timbre ---------------------------------------------------------------------------------


class TimbreRequest(BaseModel):
    audio: AudioPayload
    instrument: Role = Field(description="keyboard, bass or guitar")
    engine: TimbreEngineName | None = None


class TimbreResponse(BaseModel):
    audio: AudioPayload
    root_pitch: float | None = Field(
        default=None, description="MIDI pitch the voice was made at, when the engine knows it"
    )
    engine: TimbreEngineName


# -- render ---------------------------------------------------------------------------------


class InstrumentRequest(BaseModel):
    audio: AudioPayload
    role: Role
    root_pitch: float | None = Field(default=None, description="Known MIDI pitch of the audio")


class InstrumentResponse(BaseModel):
    role: Role
    files: list[FilePayload] = Field(description="<role>.sfz, <role>.sf2 and samples/*.wav")


class ArrangementRequest(BaseModel):
    scene: Scene
    audio_length_in_s: float = Field(default=30.0, ge=5.0, le=600.0)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    style: Style | None = Field(default=None, description="None: chosen from the picture")


class ArrangementTrack(BaseModel):
    index: int = Field(ge=0, description="Track index in the MIDI (as role_overrides counts)")
    name: str
    role: Role
    program: int = Field(ge=0, le=127, description="General MIDI program")
    is_drum: bool
    notes: int = Field(ge=0)


class ArrangementSummary(BaseModel):
    """What the composer chose for a generated arrangement."""

    tempo_bpm: float = Field(gt=0)
    key: str = Field(description="Tonic note name, e.g. 'Eb'")
    mode: str = Field(description="major, minor, dorian, mixolydian, lydian or phrygian")
    meter: str = Field(default="4/4", description="Time signature, e.g. '3/4'")
    beats_per_bar: int = Field(default=4, ge=2, le=12)
    style: Style | None = Field(default=None, description="The style the song was played in")
    chords: list[str] = Field(description="Chord of each bar, e.g. ['Dm', 'F', ...]")
    progression_degrees: list[int] = Field(description="Scale degree of each bar's chord root")
    bars: int = Field(ge=1)
    length_s: float = Field(gt=0)
    valence: float
    arousal: float
    mood_source: str = Field(description="Where valence/arousal came from: the scene or a guess")
    seed: int
    sections: list[SectionSummary] = Field(default_factory=list)
    character: Character | None = None
    tracks: list[ArrangementTrack]


class ArrangementResponse(BaseModel):
    midi: FilePayload
    summary: ArrangementSummary


class RenderRequest(BaseModel):
    midi: FilePayload
    instruments: dict[Role, list[FilePayload]] = Field(
        description="Per role, the files of one instrument as written by /v1/instruments"
    )
    role_overrides: dict[TrackIndex, Role] = Field(
        default_factory=dict, max_length=MAX_ROLE_OVERRIDES,
        description="MIDI track index → role, overriding the automatic map")
    effects: list[FilePayload] = Field(
        default_factory=list, max_length=16,
        description="The scene's sound effects (WAV files, as the sfx stage wrote them): the "
                    "ambience bed under the music and the events on its cues")
    cues_s: list[float] = Field(
        default_factory=list, max_length=2000,
        description="Phrase ends and section changes (s) where effects play as events; empty: "
                    "bar boundaries every 4-8 bars")


class RenderResponse(BaseModel):
    mix: AudioPayload
    files: list[FilePayload] = Field(
        description="mix.flac and stems/<stem>.flac (per role; ambience and effects when "
                    "effects were given)")
    duration_s: float
    loudness_lufs: float | None = None
    tracks: list[ArrangementTrack] = Field(
        default_factory=list, description="Each MIDI track and the role it was played with")


# -- role assignment (runs in the pipeline between sfx and timbre) -------------------------


class RoleChoice(BaseModel):
    role: Role
    source_index: int = Field(ge=0)
    source_name: str
    reasons: list[str] = Field(default_factory=list, description="Why this sound got this role")


class RoleAssignment(BaseModel):
    """Every role gets one effect; an effect is reused only when there are fewer than roles."""

    choices: list[RoleChoice]

    def for_role(self, role: Role) -> RoleChoice:
        return next(c for c in self.choices if c.role is role)
