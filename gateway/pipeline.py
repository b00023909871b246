"""The order of the stages: the one place it lives.

describe → sfx → roles → timbre → instruments → arrangement → render

Each stage reads its inputs from the job's artifacts and writes its outputs there, its marker
file last. A stage whose marker exists is skipped, so a retried job resumes after the last
finished stage. The same steps run over HTTP (RQ workers) and in-process (`imagewave compose`).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import soundfile as sf

from gateway.clients import StageClients
from gateway.previews import preview_midi
from imagewave.artifacts import ArtifactStore
from imagewave.contracts.audio import AudioPayload, FilePayload
from imagewave.contracts.jobs import JobOptions, StageName, StageStatus
from imagewave.contracts.scene import MELODIC_ROLES, Role, Scene
from imagewave.contracts.stages import (
    ArrangementRequest,
    InstrumentRequest,
    RenderRequest,
    RoleAssignment,
    SfxRequest,
    TimbreRequest,
)
from imagewave.errors import ImagewaveError
from imagewave.roles import assign_roles

SAMPLE_RATE = 48_000

# The artifact whose presence marks a stage as finished (written last by the stage).
STAGE_MARKERS: dict[StageName, str] = {
    StageName.describe: "scene.json",
    StageName.sfx: "sfx/index.json",
    StageName.roles: "roles.json",
    StageName.timbre: "timbre/index.json",
    StageName.instruments: "instruments/index.json",
    StageName.arrangement: "arrangement.json",
    StageName.render: "mix.wav",
}


class ProgressReporter(Protocol):
    def stage(self, stage: StageName, status: StageStatus, progress: float) -> None: ...
    def is_canceled(self) -> bool: ...


class JobCanceled(Exception):
    pass


class StageError(ImagewaveError):
    """A stage failed; carries the stage name and keeps the cause's HTTP status and code."""

    def __init__(self, stage: StageName, cause: Exception) -> None:
        message = cause.message if isinstance(cause, ImagewaveError) else repr(cause)
        super().__init__(f"stage {stage.value} failed: {message}",
                         field=getattr(cause, "field", None))
        self.stage = stage
        self.cause = cause
        if isinstance(cause, ImagewaveError):
            self.status_code, self.code = cause.status_code, cause.code

    @property
    def is_input_error(self) -> bool:
        """4xx causes are the input's fault: retrying the job cannot help."""
        return 400 <= self.status_code < 500


@dataclass(frozen=True)
class JobInput:
    job_id: str
    options: JobOptions
    image_name: str  # artifact name of the uploaded picture
    midi_name: str | None = None  # artifact name of an uploaded MIDI, if any


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40] or "source"


class Pipeline:
    def __init__(self, store: ArtifactStore, clients: StageClients,
                 reporter: ProgressReporter) -> None:
        self.store = store
        self.clients = clients
        self.reporter = reporter

    def __call__(self, job: JobInput) -> None:
        # 1. Describe the picture as sound sources.
        self._run_stage(job, StageName.describe, self._describe)
        # 2. One realistic, non-musical effect per source.
        self._run_stage(job, StageName.sfx, self._sfx)
        # 3. Give every instrument role a source sound.
        self._run_stage(job, StageName.roles, self._roles)
        # 4. Turn the melodic roles' effects into instrument voices.
        self._run_stage(job, StageName.timbre, self._timbre)
        # 5. Build playable SFZ/SF2 instruments (drums: a kit sliced from the effect), each
        #    with a short preview phrase played on it alone.
        self._run_stage(job, StageName.instruments, self._instruments)
        # 6. The uploaded MIDI, or an arrangement generated from the scene's mood.
        self._run_stage(job, StageName.arrangement, self._arrangement)
        # 7. Render, mix and master the song.
        self._run_stage(job, StageName.render, self._render)

    # -- stage runner --------------------------------------------------------------------

    def _run_stage(self, job: JobInput, stage: StageName,
                   work: Callable[[JobInput, Callable[[float], None]], None]) -> None:
        if self.reporter.is_canceled():
            raise JobCanceled(job.job_id)
        if self.store.exists(job.job_id, STAGE_MARKERS[stage]):
            self.reporter.stage(stage, StageStatus.skipped, 1.0)
            return
        self.reporter.stage(stage, StageStatus.running, 0.0)

        def progress(fraction: float) -> None:
            self.reporter.stage(stage, StageStatus.running, fraction)

        try:
            work(job, progress)
        except JobCanceled:
            raise
        except Exception as exc:
            self.reporter.stage(stage, StageStatus.failed, 0.0)
            raise StageError(stage, exc) from exc
        self.reporter.stage(stage, StageStatus.succeeded, 1.0)

    # -- artifact helpers ----------------------------------------------------------------

    def _put_json(self, job: JobInput, name: str, value: object) -> None:
        self.store.put_bytes(job.job_id, name, json.dumps(value, indent=2).encode())

    def _get_json(self, job: JobInput, name: str):
        return json.loads(self.store.get_bytes(job.job_id, name))

    def _put_wav(self, job: JobInput, name: str, samples: np.ndarray, sample_rate: int) -> None:
        buffer = io.BytesIO()
        sf.write(buffer, samples, sample_rate, format="WAV", subtype="FLOAT")
        self.store.put_bytes(job.job_id, name, buffer.getvalue())

    def _get_audio(self, job: JobInput, name: str) -> AudioPayload:
        return AudioPayload.from_wav_bytes(self.store.get_bytes(job.job_id, name))

    def _scene(self, job: JobInput) -> Scene:
        return Scene.model_validate(self._get_json(job, "scene.json"))

    # -- stages --------------------------------------------------------------------------

    def _describe(self, job: JobInput, progress: Callable[[float], None]) -> None:
        image = self.store.get_bytes(job.job_id, job.image_name)
        response = self.clients.describe(image, job.options.engines.describe)
        self._put_json(job, "scene.json", response.scene.model_dump(mode="json",
                                                                    exclude_none=True))

    def _sfx(self, job: JobInput, progress: Callable[[float], None]) -> None:
        scene = self._scene(job)
        response = self.clients.sfx(SfxRequest(
            scene=scene, audio_length_in_s=job.options.sfx_length_in_s,
            sample_rate=SAMPLE_RATE, seed=job.options.seed, engine=job.options.engines.sfx))
        index = []
        for effect in response.effects:
            name = f"sfx/{effect.source_index:02d}_{slug(effect.name)}.wav"
            self.store.put_bytes(job.job_id, name, effect.audio.wav_bytes())
            index.append({"source_index": effect.source_index, "name": effect.name,
                          "prompt": effect.prompt, "file": name})
        self._put_json(job, "sfx/index.json", {"engine": response.engine.value,
                                               "effects": index})

    def _effect_files(self, job: JobInput) -> dict[int, str]:
        index = self._get_json(job, "sfx/index.json")
        return {e["source_index"]: e["file"] for e in index["effects"]}

    def _roles(self, job: JobInput, progress: Callable[[float], None]) -> None:
        effects = []
        for source_index, name in self._effect_files(job).items():
            audio = self._get_audio(job, name)
            effects.append((source_index, _mono(audio.to_array()), audio.sample_rate))
        assignment = assign_roles(self._scene(job), effects)
        self._put_json(job, "roles.json", assignment.model_dump(mode="json"))

    def _assignment(self, job: JobInput) -> RoleAssignment:
        return RoleAssignment.model_validate(self._get_json(job, "roles.json"))

    def _timbre(self, job: JobInput, progress: Callable[[float], None]) -> None:
        assignment, files = self._assignment(job), self._effect_files(job)
        index: dict[str, dict] = {}
        for done, role in enumerate(MELODIC_ROLES):
            choice = assignment.for_role(role)
            response = self.clients.timbre(TimbreRequest(
                audio=self._get_audio(job, files[choice.source_index]), instrument=role,
                engine=job.options.engines.timbre))
            name = f"timbre/{role.value}.wav"
            self.store.put_bytes(job.job_id, name, response.audio.wav_bytes())
            index[role.value] = {"file": name, "root_pitch": response.root_pitch,
                                 "source_index": choice.source_index,
                                 "engine": response.engine.value}
            progress((done + 1) / len(MELODIC_ROLES))
        self._put_json(job, "timbre/index.json", index)

    def _instruments(self, job: JobInput, progress: Callable[[float], None]) -> None:
        timbres = self._get_json(job, "timbre/index.json")
        drum_source = self._assignment(job).for_role(Role.drums).source_index
        drum_file = self._effect_files(job)[drum_source]
        index: dict[str, list[str]] = {}
        for done, role in enumerate(Role):
            if role is Role.drums:
                audio, root_pitch = self._get_audio(job, drum_file), None
            else:
                audio = self._get_audio(job, timbres[role.value]["file"])
                root_pitch = timbres[role.value]["root_pitch"]
            response = self.clients.instrument(InstrumentRequest(audio=audio, role=role,
                                                                 root_pitch=root_pitch))
            for payload in response.files:
                name = f"instruments/{role.value}/{payload.name}"
                self.store.put_bytes(job.job_id, name, payload.data())
            index[role.value] = [p.name for p in response.files]
            # A few seconds of this instrument alone, for people to audition it.
            self._preview(job, role, response.files)
            progress((done + 1) / len(Role))
        self._put_json(job, "instruments/index.json", index)

    def _preview(self, job: JobInput, role: Role, files: list[FilePayload]) -> None:
        midi = FilePayload.from_bytes("preview.mid", preview_midi(role))
        response = self.clients.render(RenderRequest(midi=midi, instruments={role: files},
                                                     role_overrides={0: role}))
        self.store.put_bytes(job.job_id, f"instruments/{role.value}/preview.wav",
                             response.mix.wav_bytes())

    def _arrangement(self, job: JobInput, progress: Callable[[float], None]) -> None:
        if job.midi_name:
            self.store.put_bytes(job.job_id, "arrangement.mid",
                                 self.store.get_bytes(job.job_id, job.midi_name))
            summary: dict[str, object] = {"source": "uploaded"}
        else:
            response = self.clients.arrange(ArrangementRequest(
                scene=self._scene(job), audio_length_in_s=job.options.audio_length_in_s,
                seed=job.options.seed))
            self.store.put_bytes(job.job_id, "arrangement.mid", response.midi.data())
            summary = {"source": "generated", **response.summary}
        self._put_json(job, "arrangement.json", summary)

    def _render(self, job: JobInput, progress: Callable[[float], None]) -> None:
        index = self._get_json(job, "instruments/index.json")
        instruments = {
            Role(role): [FilePayload.from_bytes(
                name, self.store.get_bytes(job.job_id, f"instruments/{role}/{name}"))
                for name in names]
            for role, names in index.items()
        }
        midi = FilePayload.from_bytes("arrangement.mid",
                                      self.store.get_bytes(job.job_id, "arrangement.mid"))
        # The picture in the song: its effects under and between the phrases of the music.
        effects = [FilePayload.from_bytes(name.rsplit("/", 1)[-1],
                                          self.store.get_bytes(job.job_id, name))
                   for name in self._effect_files(job).values()]
        response = self.clients.render(RenderRequest(
            midi=midi, instruments=instruments, role_overrides=job.options.role_overrides,
            effects=effects, cues_s=arrangement_cues(self._get_json(job, "arrangement.json"))))
        for payload in response.files:
            self.store.put_bytes(job.job_id, payload.name, payload.data())
        self.store.put_bytes(job.job_id, "mix.wav", response.mix.wav_bytes())


def arrangement_cues(summary: dict) -> list[float]:
    """Where the arrangement summary says phrases end and sections change (seconds): the
    composer's `phrase_ends_s` and the `start_s` of its `sections` after the first; empty when
    it names none (an uploaded MIDI), and the renderer falls back to bar boundaries."""
    cues: set[float] = set()
    for value in summary.get("phrase_ends_s") or []:
        if isinstance(value, int | float):
            cues.add(float(value))
    for section in (summary.get("sections") or [])[1:]:
        start = section.get("start_s") if isinstance(section, dict) else None
        if isinstance(start, int | float):
            cues.add(float(start))
    return sorted(cues)


def _mono(samples: np.ndarray) -> np.ndarray:
    return samples.mean(axis=1) if samples.ndim == 2 else samples
