"""The render service's work, without HTTP: instruments, arrangement and the mixed song.

Instruments travel as their files (SFZ + samples + SF2), exactly what a user downloads and
loads in a sampler; rendering reads them back through the same SFZ loader.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from pathlib import Path

import soundfile as sf

from imagewave.audio import to_mono
from imagewave.contracts import layout
from imagewave.contracts.audio import AudioPayload, FilePayload
from imagewave.contracts.stages import (
    ArrangementRequest,
    ArrangementResponse,
    ArrangementTrack,
    InstrumentRequest,
    InstrumentResponse,
    RenderRequest,
    RenderResponse,
)
from imagewave.errors import InvalidInput
from services.render.arrangement.composer import generate_arrangement
from services.render.instruments.build import build_instrument, gm_set_font
from services.render.playback.midi import assign_track_roles, load_midi
from services.render.playback.sampler import render_song
from services.render.settings import RenderSettings

# The response holds the mix as a float WAV payload (8 bytes a frame), its base64 text and the
# JSON that carries it (~11 each), and mix.flac (~4): counted against the memory budget.
RESPONSE_BYTES_PER_FRAME = 36


def _read_dir(root: Path) -> list[FilePayload]:
    return [FilePayload.from_bytes(p.relative_to(root).as_posix(), p.read_bytes())
            for p in sorted(root.rglob("*")) if p.is_file()]


def _write_files(root: Path, files: list[FilePayload]) -> None:
    for payload in files:
        path = root / payload.name
        # FilePayload's name type already refuses `..` and absolute paths; a second look here
        # because this is the line that writes to disk.
        if not path.resolve().is_relative_to(root.resolve()):
            raise InvalidInput(f"file name {payload.name!r} leaves the request's directory",
                               field="name")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload.data())


WORK_PREFIX = "imagewave-render-work."


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_dead_work_dirs(temp_root: Path) -> list[Path]:
    """Remove the work folders of render processes that are gone: a process killed mid-request
    (OOM, SIGKILL) never ran its TemporaryDirectory cleanup."""
    removed = []
    for path in temp_root.glob(WORK_PREFIX + "*"):
        pid = path.name.removeprefix(WORK_PREFIX)
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


class RenderServing:
    def __init__(self, settings: RenderSettings) -> None:
        self.settings = settings
        # Every request's temporary files live under one folder per process, so the next
        # process can tell a dead one's leftovers from a living one's.
        temp_root = Path(tempfile.gettempdir())
        sweep_dead_work_dirs(temp_root)
        self.work_root = temp_root / f"{WORK_PREFIX}{os.getpid()}"
        self.work_root.mkdir(exist_ok=True)

    def warm_up(self) -> None:
        """Nothing to load: rendering is plain numpy."""

    def _work_dir(self, prefix: str) -> tempfile.TemporaryDirectory:
        self.work_root.mkdir(exist_ok=True)  # a tmp cleaner may have taken it
        return tempfile.TemporaryDirectory(prefix=prefix, dir=self.work_root)

    def build_instrument(self, request: InstrumentRequest) -> InstrumentResponse:
        samples = to_mono(request.audio.to_array())
        with self._work_dir("instrument-") as tmp:
            out_dir = Path(tmp)
            build_instrument(samples, request.audio.sample_rate, request.role, out_dir,
                             root_pitch=request.root_pitch, output_rate=self.settings.sample_rate)
            return InstrumentResponse(role=request.role, files=_read_dir(out_dir))

    def arrange(self, request: ArrangementRequest) -> ArrangementResponse:
        midi, summary = generate_arrangement(request.scene, length_s=request.audio_length_in_s,
                                             seed=request.seed, style=request.style)
        buffer = io.BytesIO()
        midi.write(buffer)
        return ArrangementResponse(midi=FilePayload.from_bytes("arrangement.mid",
                                                               buffer.getvalue()),
                                   summary=summary)

    def render(self, request: RenderRequest) -> RenderResponse:
        midi = load_midi(request.midi.data(), max_notes=self.settings.max_midi_notes,
                         max_seconds=self.settings.max_midi_seconds)
        effects = [_effect(payload, self.settings.sample_rate) for payload in request.effects]
        with self._work_dir("render-") as tmp:
            root = Path(tmp)
            sfz_paths = {}
            for role, files in request.instruments.items():
                _write_files(root / role.value, files)
                sfz_paths[role] = root / role.value / f"{role.value}.sfz"
            song = render_song(midi, sfz_paths, role_overrides=request.role_overrides,
                               sample_rate=self.settings.sample_rate,
                               target_lufs=self.settings.target_lufs,
                               true_peak_dbtp=self.settings.true_peak_dbtp,
                               effects=effects, cues_s=request.cues_s,
                               stems_dir=root / "stems",
                               max_memory_bytes=self.settings.max_render_memory_mb * 2**20,
                               extra_bytes_per_frame=RESPONSE_BYTES_PER_FRAME)
            files = [FilePayload.from_bytes(layout.MIX_FLAC, _flac(song.mix, song.sample_rate))]
            files += [FilePayload.from_bytes(f"{layout.STEMS_DIR}/{name}.flac", path.read_bytes())
                      for name, path in song.stems.items()]
            fonts = {role: payload.data() for role, payloads in request.instruments.items()
                     for payload in payloads if payload.name == f"{role.value}.sf2"}
            if len(fonts) > 1:  # a whole set (not one instrument's preview): one GM-mapped font
                files.append(FilePayload.from_bytes(layout.INSTRUMENT_SET_FONT,
                                                    gm_set_font(fonts)))
            roles = assign_track_roles(midi, request.role_overrides)
            tracks = [ArrangementTrack(index=index, name=track.name or f"track {index}",
                                       role=roles[index], program=track.program,
                                       is_drum=track.is_drum, notes=len(track.notes))
                      for index, track in enumerate(midi.instruments)]
        return RenderResponse(mix=AudioPayload.from_array(song.mix, song.sample_rate),
                              files=files, duration_s=len(song.mix) / song.sample_rate,
                              loudness_lufs=song.loudness_lufs, tracks=tracks)


def _effect(payload: FilePayload, sample_rate: int):
    """An effect file as mono float32 at the render rate; a 4xx naming `effects` if unreadable."""
    import numpy as np
    import soxr

    try:
        samples, rate = sf.read(io.BytesIO(payload.data()), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises several types for broken files
        raise InvalidInput(f"effects: {payload.name} is not a readable audio file: {exc}",
                           field="effects") from exc
    mono = to_mono(samples)
    if rate != sample_rate and mono.size:
        mono = soxr.resample(mono, rate, sample_rate)
    return np.asarray(mono, np.float32)


def _flac(samples, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, format="FLAC", subtype="PCM_24")
    return buffer.getvalue()
