"""The order of the stages: the one place it lives.

describe → sfx → roles → timbre → instruments → arrangement → render

Each stage reads its inputs from the job's artifacts and writes its outputs there, its marker
file last. A stage whose marker exists is skipped, so a retried job resumes after the last
finished stage. The same steps run over HTTP (RQ workers) and in-process (`imagewave compose`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
import soundfile as sf
from pydantic import BaseModel

from gateway.clients import StageClients
from gateway.previews import preview_midi
from imagewave.artifacts import ArtifactStore
from imagewave.audio import SAMPLE_RATE, to_mono
from imagewave.contracts import layout
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

ModelT = TypeVar("ModelT", bound=BaseModel)


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

    @property
    def worth_retrying(self) -> bool:
        """A job-level retry helps only when the cause may pass on a second try: never for the
        input's fault, nor for a service failure an identical call would get again (an invalid
        model reply, one request's out-of-memory), which the client marks `retryable=False`."""
        return not self.is_input_error and getattr(self.cause, "retryable", True)


@dataclass(frozen=True)
class JobInput:
    job_id: str
    options: JobOptions
    image_name: str  # artifact name of the uploaded picture
    midi_name: str | None = None  # artifact name of an uploaded MIDI, if any


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
        if self.store.exists(job.job_id, layout.STAGE_MARKERS[stage]):
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

    def _put_model(self, job: JobInput, name: str, value: BaseModel, *,
                   exclude_none: bool = False) -> None:
        self.store.put_bytes(job.job_id, name,
                             value.model_dump_json(indent=2, exclude_none=exclude_none).encode())

    def _get_model(self, job: JobInput, name: str, model: type[ModelT]) -> ModelT:
        return model.model_validate_json(self.store.get_bytes(job.job_id, name))

    def _put_wav(self, job: JobInput, name: str, samples: np.ndarray, sample_rate: int) -> None:
        buffer = io.BytesIO()
        sf.write(buffer, samples, sample_rate, format="WAV", subtype="FLOAT")
        self.store.put_bytes(job.job_id, name, buffer.getvalue())

    def _get_audio(self, job: JobInput, name: str) -> AudioPayload:
        return AudioPayload.from_wav_bytes(self.store.get_bytes(job.job_id, name))

    def _scene(self, job: JobInput) -> Scene:
        return self._get_model(job, layout.SCENE, Scene)

    # -- stages --------------------------------------------------------------------------

    def _describe(self, job: JobInput, progress: Callable[[float], None]) -> None:
        image = self.store.get_bytes(job.job_id, job.image_name)
        response = self.clients.describe(image, job.options.engines.describe)
        self._put_model(job, layout.SCENE, response.scene, exclude_none=True)

    def _sfx(self, job: JobInput, progress: Callable[[float], None]) -> None:
        scene = self._scene(job)
        response = self.clients.sfx(SfxRequest(
            scene=scene, audio_length_in_s=job.options.sfx_length_in_s,
            sample_rate=SAMPLE_RATE, seed=job.options.seed, engine=job.options.engines.sfx))
        index = []
        for effect in response.effects:
            name = layout.sfx_file(effect.source_index, effect.name)
            self.store.put_bytes(job.job_id, name, effect.audio.wav_bytes())
            index.append(layout.SfxIndexEntry(source_index=effect.source_index, name=effect.name,
                                              prompt=effect.prompt, file=name))
        self._put_model(job, layout.SFX_INDEX, layout.SfxIndex(engine=response.engine,
                                                               effects=index))

    def _effect_files(self, job: JobInput) -> dict[int, str]:
        return self._get_model(job, layout.SFX_INDEX, layout.SfxIndex).files()

    def _roles(self, job: JobInput, progress: Callable[[float], None]) -> None:
        effects = []
        for source_index, name in self._effect_files(job).items():
            audio = self._get_audio(job, name)
            effects.append((source_index, to_mono(audio.to_array()), audio.sample_rate))
        assignment = assign_roles(self._scene(job), effects)
        self._put_model(job, layout.ROLES, assignment)

    def _assignment(self, job: JobInput) -> RoleAssignment:
        return self._get_model(job, layout.ROLES, layout.RolesIndex)

    def _timbre(self, job: JobInput, progress: Callable[[float], None]) -> None:
        assignment, files = self._assignment(job), self._effect_files(job)
        index: dict[Role, layout.TimbreIndexEntry] = {}
        for done, role in enumerate(MELODIC_ROLES):
            choice = assignment.for_role(role)
            response = self.clients.timbre(TimbreRequest(
                audio=self._get_audio(job, files[choice.source_index]), instrument=role,
                engine=job.options.engines.timbre))
            name = layout.timbre_file(role)
            self.store.put_bytes(job.job_id, name, response.audio.wav_bytes())
            index[role] = layout.TimbreIndexEntry(file=name, root_pitch=response.root_pitch,
                                                  source_index=choice.source_index,
                                                  engine=response.engine)
            progress((done + 1) / len(MELODIC_ROLES))
        self._put_model(job, layout.TIMBRE_INDEX, layout.TimbreIndex(index))

    def _instruments(self, job: JobInput, progress: Callable[[float], None]) -> None:
        timbres = self._get_model(job, layout.TIMBRE_INDEX, layout.TimbreIndex).root
        drum_source = self._assignment(job).for_role(Role.drums).source_index
        drum_file = self._effect_files(job)[drum_source]
        index: dict[Role, list[str]] = {}
        for done, role in enumerate(Role):
            if role is Role.drums:
                audio, root_pitch = self._get_audio(job, drum_file), None
            else:
                audio = self._get_audio(job, timbres[role].file)
                root_pitch = timbres[role].root_pitch
            response = self.clients.instrument(InstrumentRequest(audio=audio, role=role,
                                                                 root_pitch=root_pitch))
            for payload in response.files:
                self.store.put_bytes(job.job_id, layout.instrument_file(role, payload.name),
                                     payload.data())
            index[role] = [p.name for p in response.files]
            # A few seconds of this instrument alone, for people to audition it.
            self._preview(job, role, response.files)
            progress((done + 1) / len(Role))
        self._put_model(job, layout.INSTRUMENTS_INDEX, layout.InstrumentsIndex(index))

    def _preview(self, job: JobInput, role: Role, files: list[FilePayload]) -> None:
        midi = FilePayload.from_bytes("preview.mid", preview_midi(role))
        response = self.clients.render(RenderRequest(midi=midi, instruments={role: files},
                                                     role_overrides={0: role}))
        self.store.put_bytes(job.job_id, layout.instrument_preview(role),
                             response.mix.wav_bytes())

    def _arrangement(self, job: JobInput, progress: Callable[[float], None]) -> None:
        if job.midi_name:
            self.store.put_bytes(job.job_id, layout.ARRANGEMENT_MIDI,
                                 self.store.get_bytes(job.job_id, job.midi_name))
            index = layout.ArrangementIndex(source=layout.ArrangementSource.uploaded)
        else:
            response = self.clients.arrange(ArrangementRequest(
                scene=self._scene(job), audio_length_in_s=job.options.audio_length_in_s,
                seed=job.options.seed, style=job.options.style))
            self.store.put_bytes(job.job_id, layout.ARRANGEMENT_MIDI, response.midi.data())
            index = layout.ArrangementIndex(source=layout.ArrangementSource.generated,
                                            summary=response.summary)
        self._put_model(job, layout.ARRANGEMENT_INDEX, index)

    def _render(self, job: JobInput, progress: Callable[[float], None]) -> None:
        index = self._get_model(job, layout.INSTRUMENTS_INDEX, layout.InstrumentsIndex).root
        instruments = {
            role: [FilePayload.from_bytes(
                name, self.store.get_bytes(job.job_id, layout.instrument_file(role, name)))
                for name in names]
            for role, names in index.items()
        }
        midi = FilePayload.from_bytes(layout.ARRANGEMENT_MIDI,
                                      self.store.get_bytes(job.job_id, layout.ARRANGEMENT_MIDI))
        # The picture in the song: its effects under and between the phrases of the music.
        effects = [FilePayload.from_bytes(name.rsplit("/", 1)[-1],
                                          self.store.get_bytes(job.job_id, name))
                   for name in self._effect_files(job).values()]
        arrangement = self._get_model(job, layout.ARRANGEMENT_INDEX, layout.ArrangementIndex)
        response = self.clients.render(RenderRequest(
            midi=midi, instruments=instruments, role_overrides=job.options.role_overrides,
            effects=effects, cues_s=arrangement_cues(arrangement.summary)))
        for payload in response.files:
            self.store.put_bytes(job.job_id, payload.name, payload.data())
        if job.midi_name:  # an uploaded MIDI: record which role played each of its tracks
            self._put_model(job, layout.ARRANGEMENT_INDEX, layout.ArrangementIndex(
                source=layout.ArrangementSource.uploaded, tracks=response.tracks))
        self.store.put_bytes(job.job_id, layout.MIX_WAV, response.mix.wav_bytes())



def _seconds(value: object, name: str) -> float | None:
    """`value` (a number, or an object / dict holding `name`) as seconds, None otherwise."""
    if isinstance(value, dict):
        value = value.get(name)
    elif not isinstance(value, int | float):
        value = getattr(value, name, None)
    return float(value) if isinstance(value, int | float) else None


def arrangement_cues(summary: object | None) -> list[float]:
    """Where the composer's summary says phrases end and sections change (seconds): the
    `start_s` of its `sections` after the first, each section's `phrase_end_s`, and any
    song-wide `phrase_ends_s`; empty when it names none (an uploaded MIDI, an older summary),
    and the renderer falls back to bar lines."""
    cues: set[float] = set()
    phrase_ends = list(getattr(summary, "phrase_ends_s", None) or [])
    for index, section in enumerate(getattr(summary, "sections", None) or []):
        seconds = _seconds(section, "start_s")
        if seconds is not None and index > 0:
            cues.add(seconds)
        ends = section.get("phrase_end_s") if isinstance(section, dict) else getattr(
            section, "phrase_end_s", None)
        phrase_ends += list(ends or [])
    for value in phrase_ends:
        seconds = _seconds(value, "time_s")
        if seconds is not None:
            cues.add(seconds)
    return sorted(cues)
