"""A job's artifact layout: the name of every artifact and a model of every index file.

The layout is a public contract: the pipeline writes it, the routes and the bundle serve it,
`imagewave compose --fresh` clears it and the web page (gateway/static/app.js) reads it. So the
names live here once, and each index file is read and written through its model.

    input/image.<ext>, input/arrangement.mid   what the client uploaded (never listed)
    scene.json                                  Scene (describe)
    sfx/index.json, sfx/NN_<slug>.wav           SfxIndex, one effect per source
    roles.json                                  RoleAssignment
    timbre/index.json, timbre/<role>.wav        TimbreIndex, melodic voices
    instruments/index.json,                     InstrumentsIndex
      instruments/<role>/(<role>.sfz, <role>.sf2, <role>.json, samples/*.wav, preview.wav)
                                                <role>.json: InstrumentCard
    instruments/set_gm.sf2                      the whole set in one GM-mapped SF2 (render)
    arrangement.json, arrangement.mid           ArrangementIndex
    mix.wav, mix.flac, stems/<role>.flac        the song, and when the effects play in it
      stems/ambience.flac, stems/effects.flac     its bed under the music and its events
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any

from pydantic import BaseModel, Field, RootModel, model_serializer, model_validator

from imagewave.contracts.engines import SfxEngineName, TimbreEngineName
from imagewave.contracts.jobs import StageName
from imagewave.contracts.scene import Role
from imagewave.contracts.stages import ArrangementSummary, ArrangementTrack, RoleAssignment

INPUT_DIR = "input"
INPUT_MIDI = "input/arrangement.mid"
SCENE = "scene.json"
SFX_INDEX = "sfx/index.json"
ROLES = "roles.json"
TIMBRE_INDEX = "timbre/index.json"
INSTRUMENTS_INDEX = "instruments/index.json"
ARRANGEMENT_INDEX = "arrangement.json"
ARRANGEMENT_MIDI = "arrangement.mid"
MIX_WAV = "mix.wav"
MIX_FLAC = "mix.flac"
INSTRUMENT_SET_FONT = "instruments/set_gm.sf2"
STEMS_DIR = "stems"

# The artifact whose presence marks a stage as finished (written last by the stage).
STAGE_MARKERS: dict[StageName, str] = {
    StageName.describe: SCENE,
    StageName.sfx: SFX_INDEX,
    StageName.roles: ROLES,
    StageName.timbre: TIMBRE_INDEX,
    StageName.instruments: INSTRUMENTS_INDEX,
    StageName.arrangement: ARRANGEMENT_INDEX,
    StageName.render: MIX_WAV,
}

# Everything the stages write, as top-level names (files or folders): what a fresh run clears.
STAGE_OUTPUTS = (SCENE, "sfx", ROLES, "timbre", "instruments", ARRANGEMENT_INDEX,
                 ARRANGEMENT_MIDI, MIX_WAV, MIX_FLAC, STEMS_DIR)


def slug(text: str) -> str:
    """A file-name-safe form of a source name (lowercase words joined by '_', 40 chars)."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40] or "source"


def input_image(suffix: str) -> str:
    return f"{INPUT_DIR}/image.{suffix}"


def is_input(name: str) -> bool:
    """Uploaded inputs are kept for retries but never listed or served."""
    return name.startswith(INPUT_DIR + "/")


def sfx_file(source_index: int, source_name: str) -> str:
    return f"sfx/{source_index:02d}_{slug(source_name)}.wav"


def timbre_file(role: Role) -> str:
    return f"timbre/{role.value}.wav"


def instrument_dir(role: Role) -> str:
    return f"instruments/{role.value}"


def instrument_file(role: Role, name: str) -> str:
    return f"{instrument_dir(role)}/{name}"


def instrument_preview(role: Role) -> str:
    return instrument_file(role, "preview.wav")


def stem_file(role: Role) -> str:
    return f"{STEMS_DIR}/{role.value}.flac"


# -- index files -------------------------------------------------------------------------------


class SfxIndexEntry(BaseModel):
    source_index: int = Field(ge=0)
    name: str = Field(description="The sound source's name in scene.json")
    prompt: str = Field(description="What the sfx engine was asked for")
    file: str = Field(description="Artifact name of the effect, sfx/NN_<slug>.wav")


class SfxIndex(BaseModel):
    """sfx/index.json: one effect per sound source."""

    engine: SfxEngineName
    effects: list[SfxIndexEntry]

    def files(self) -> dict[int, str]:
        """Effect artifact name by source index."""
        return {effect.source_index: effect.file for effect in self.effects}


class TimbreIndexEntry(BaseModel):
    file: str = Field(description="Artifact name of the voice, timbre/<role>.wav")
    root_pitch: float | None = Field(description="MIDI pitch the voice sounds at, if known")
    source_index: int = Field(ge=0, description="The effect this voice was made from")
    engine: TimbreEngineName


class TimbreIndex(RootModel[dict[Role, TimbreIndexEntry]]):
    """timbre/index.json: the voice of each melodic role, keyed by role."""


class InstrumentsIndex(RootModel[dict[Role, list[str]]]):
    """instruments/index.json: per role, the file names under instruments/<role>/ that make its
    instrument (<role>.sfz first; the preview is not part of it)."""


# roles.json is the role assignment, as the pipeline computed it.
RolesIndex = RoleAssignment


class ArrangementSource(str, Enum):
    uploaded = "uploaded"
    generated = "generated"


class ArrangementIndex(BaseModel):
    """arrangement.json: where arrangement.mid came from; for a generated one, the composer's
    summary (its `tracks` among it), for an uploaded one the track → role map the renderer used.
    On disk the summary's fields sit beside `source` (one flat object)."""

    source: ArrangementSource
    summary: ArrangementSummary | None = None
    tracks: list[ArrangementTrack] | None = Field(
        default=None, description="Uploaded MIDI: each track's role as rendered")

    @model_validator(mode="before")
    @classmethod
    def _unflatten(cls, data: Any) -> Any:
        if isinstance(data, dict) and "summary" not in data:
            if data.get("source") in (ArrangementSource.uploaded, "uploaded"):
                return {"source": data["source"], "tracks": data.get("tracks")}
            rest = {key: value for key, value in data.items() if key != "source"}
            return {"source": data.get("source"), "summary": rest or None}
        return data

    @model_serializer(mode="wrap")
    def _flatten(self, handler) -> dict[str, Any]:
        data = handler(self)
        summary = data.pop("summary", None)
        if data.get("tracks") is None:
            data.pop("tracks", None)
        return {**data, **(summary or {})}
