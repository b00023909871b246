"""The renderer: an SFZ sampler that renders a song in blocks, then mixes and masters it.

Memory is bounded by polyphony, not by note or song length:
- each (region, key) is resampled once with soxr into a *voice*: the sample up to a little
  after its loop start plus exactly one loop period (a whole number of frames, the pitch ratio
  nudged by well under a cent to make it so); a held note plays the period over and over, so a
  300 s note costs no more than a 1 s one. Voices live in a byte-bounded cache.
- a short note is enveloped once and kept (songs repeat the same note thousands of times); a
  long one is enveloped block by block as it streams.
- the song is made BLOCK_FRAMES at a time: the notes sounding in the block are summed per
  strip and stereo place in mono, panned once, sent to the reverb, and added to the mix; stems
  go to disk as they are made. Only the mix (what the master needs to see whole) is held.

Envelopes follow sfizz's ADSR (linear attack, exponential decay and release reaching -78 dB
after the stage's time), so an instrument sounds the same here as in sfizz. `loop_sustain`
regions keep looping through the release. Per track: role from
`services.render.playback.midi.assign_track_roles`, the part's channel strip
(`services.render.playback.mix`), MIDI pan CC10 and volume CC7 when present, sustain pedal
CC64, a voice limit that releases the voice closest to its end, and SFZ `group`/`off_by`
choke (hi-hats). With `effects`, the scene's sounds join as an ambience bed and as events on
the cues (`services.render.playback.ambience`).
"""

from __future__ import annotations

import heapq
import math
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pretty_midi
import soundfile as sf

from imagewave.cancellation import check_canceled
from imagewave.contracts.scene import Role
from imagewave.errors import InvalidInput, InvalidMidi
from services.render.instruments.sfz import Region, SfzInstrument, load_sample, read_sfz
from services.render.playback.ambience import (
    AmbienceBed,
    fallback_cues,
    plan_events,
    spaced_cues,
)
from services.render.playback.mastering import BLOCK, db_to_gain, master
from services.render.playback.midi import assign_track_roles
from services.render.playback.mix import (
    REFERENCE_LEVEL_DB,
    STEM_OF_PART,
    STRIPS,
    Part,
    Space,
    sample_level_db,
    track_part,
)

BLOCK_FRAMES = 1 << 16  # 1.37 s at 48 kHz; a multiple of the master's BLOCK
MAX_VOICES_PER_TRACK = 48
VOICE_CACHE_BYTES = 160 * 2**20  # resampled voices, all instruments together
NOTE_CACHE_BYTES = 96 * 2**20  # enveloped short notes
MAX_KEPT_NOTE_S = 6.0  # longer notes are enveloped as they stream
MIN_LOOP_PERIOD = 4096  # frames: a looped voice repeats whole cycles at least this long
REVERB_TAIL_S = 1.5  # the space rings on after the last note
STOLEN_RELEASE_S = 0.01
CHOKE_RELEASE_S = 0.006  # sfizz's off_mode=fast
MIN_EXP_STAGE_S = 0.025  # sfizz clamps exponential stages to at least 25 ms
STAGE_DECAY = 9.0  # exp(-9): sfizz's exponential stages fall 78 dB over their time
# What one second of song costs while rendering, in bytes: the stereo float32 mix (8) and the
# master's per-block bookkeeping; plus a fixed part for the interpreter, libraries and caches.
BYTES_PER_FRAME = 10
FIXED_BYTES = 160 * 2**20 + VOICE_CACHE_BYTES + NOTE_CACHE_BYTES
# When a role has no instrument, the nearest one plays its tracks.
FALLBACK_ROLES: dict[Role, tuple[Role, ...]] = {
    Role.keyboard: (Role.guitar, Role.bass, Role.drums),
    Role.guitar: (Role.keyboard, Role.bass, Role.drums),
    Role.bass: (Role.guitar, Role.keyboard, Role.drums),
    Role.drums: (Role.keyboard, Role.guitar, Role.bass),
}


@dataclass
class RenderedSong:
    mix: np.ndarray  # (frames, 2) float32
    sample_rate: int
    stems: dict[str, Path]  # stem name → FLAC file (pre-limiter, at the master's gain)
    loudness_lufs: float
    true_peak_dbtp: float = float("-inf")


@dataclass
class _LoadedRegion:
    region: Region
    samples: np.ndarray  # mono float32 at the render rate, offset/end applied, strip EQ'd
    loop: tuple[int, int] | None  # [start, end) in `samples` frames, when looping
    one_shot: bool


@dataclass
class _Instrument:
    sfz: SfzInstrument
    regions: list[_LoadedRegion]
    level_db: float  # loudness of its samples (see mix.sample_level_db)
    lookup: dict[tuple[int, int], list[int]] = field(default_factory=dict)

    def regions_for(self, key: int, velocity: int) -> list[int]:
        cached = self.lookup.get((key, velocity))
        if cached is None:
            cached = [i for i, r in enumerate(self.regions) if r.region.matches(key, velocity)]
            self.lookup[(key, velocity)] = cached
        return cached


def load_instrument(sfz_path: Path, sample_rate: int, part: Part | None = None) -> _Instrument:
    """Read an SFZ file and its samples at the render rate (loop points scaled if resampled),
    through `part`'s strip EQ when given."""
    sfz = read_sfz(sfz_path)
    if not sfz.regions:
        raise InvalidInput(f"instrument {sfz_path.name} has no playable regions",
                           field="instruments")
    board = STRIPS[part].board() if part is not None else None
    cache: dict[Path, tuple[np.ndarray, float]] = {}
    regions = []
    for region in sfz.regions:
        path = sfz.sample_path(region)
        if path not in cache:
            if not path.is_file():
                raise InvalidInput(f"instrument {sfz_path.name} refers to a missing sample "
                                   f"{region.sample!r}", field="instruments")
            samples, scale = load_sample(path, sample_rate)
            if board is not None and samples.size:
                samples = board(samples[None, :], sample_rate)[0]
            cache[path] = samples, scale
        samples, scale = cache[path]
        end = len(samples) if region.end is None else min(len(samples),
                                                          int((region.end + 1) * scale))
        offset = min(int(region.offset * scale), end)
        loop = None
        if region.loop_mode in ("loop_continuous", "loop_sustain"):
            loop_start = int(round((region.loop_start or 0) * scale)) - offset
            loop_end = (end if region.loop_end is None
                        else int(round((region.loop_end + 1) * scale))) - offset
            if 0 <= loop_start < loop_end <= end - offset:
                loop = (loop_start, loop_end)
        regions.append(_LoadedRegion(region, samples[offset:end], loop,
                                     region.loop_mode == "one_shot"))
    levels = [sample_level_db(samples) for samples, _ in cache.values()]
    level_db = 10 * math.log10(np.mean([10 ** (db / 10) for db in levels]))
    return _Instrument(sfz=sfz, regions=regions, level_db=level_db)


@dataclass
class _Voice:
    """A (region, key) resampled to its pitch: `wave`, whose frames from `loop_start` on repeat
    with `period` (no loop: `loop_start` None, silent after the wave)."""

    wave: np.ndarray
    loop_start: int | None
    period: int

    def read(self, start: int, count: int) -> np.ndarray:
        stop = start + count
        if stop <= len(self.wave):
            return self.wave[start:stop]
        if self.loop_start is None:
            out = np.zeros(count, np.float32)
            if start < len(self.wave):
                out[: len(self.wave) - start] = self.wave[start:]
            return out
        positions = np.arange(start, stop)
        looped = positions >= len(self.wave)
        positions[looped] = (self.loop_start
                             + (positions[looped] - self.loop_start) % self.period)
        return self.wave[positions]


def _make_voice(loaded: _LoadedRegion, speed: float, sample_rate: int) -> _Voice:
    import soxr

    samples = loaded.samples
    if loaded.loop is None or loaded.one_shot:
        if abs(speed - 1.0) < 1e-9:
            return _Voice(samples, None, 0)
        wave = soxr.resample(samples, sample_rate * speed, sample_rate)
        return _Voice(np.asarray(wave, np.float32), None, 0)
    loop_start, loop_end = loaded.loop
    cycle_frames = loop_end - loop_start
    if abs(speed - 1.0) < 1e-9:
        return _Voice(samples[:loop_end], loop_start, cycle_frames)
    cycles = max(1, math.ceil(MIN_LOOP_PERIOD * speed / cycle_frames))
    period = max(1, round(cycles * cycle_frames / speed))
    exact_speed = cycles * cycle_frames / period  # within 0.5 frame per period of `speed`
    margin = max(cycle_frames, 2048)  # the resampler's filter settles before the loop is cut
    output_loop_start = math.ceil((loop_start + margin) / exact_speed)
    needed = math.ceil((output_loop_start + period) * exact_speed) + 2048
    repeats = max(0, math.ceil((needed - loop_end) / cycle_frames)) + 1
    cycle = samples[loop_start:loop_end]
    source = np.concatenate([samples[:loop_end], np.tile(cycle, repeats)])[:needed]
    wave = soxr.resample(source, sample_rate * exact_speed, sample_rate)
    return _Voice(np.ascontiguousarray(wave[: output_loop_start + period], np.float32),
                  output_loop_start, period)


def _stage_levels(region: Region, t: np.ndarray, sample_rate: int) -> np.ndarray:
    """Attack, hold, decay and sustain levels at frames `t` after note-on (no release)."""
    env = np.ones(len(t), dtype=np.float64)
    attack = int(region.ampeg_attack * sample_rate)
    hold = int(region.ampeg_hold * sample_rate)
    sustain = float(np.clip(region.ampeg_sustain / 100.0, 0.0, 1.0))
    if attack > 0:
        rising = t < attack
        env[rising] = t[rising] / attack
    decay_start = attack + hold
    if region.ampeg_decay > 0 and sustain < 1.0:
        decaying = t >= decay_start
        rate = STAGE_DECAY / (max(region.ampeg_decay, MIN_EXP_STAGE_S) * sample_rate)
        env[decaying] = np.maximum(np.exp(-rate * (t[decaying] - decay_start)), sustain)
    return env


def _envelope(region: Region, held: int, release_s: float, start: int, count: int,
              sample_rate: int) -> np.ndarray:
    """sfizz-style ADSR over frames [start, start + count) of a note held `held` frames."""
    t = np.arange(start, start + count, dtype=np.float64)
    env = _stage_levels(region, t, sample_rate)
    if held < start + count:
        level = float(_stage_levels(region, np.array([held - 1.0]), sample_rate)[0]) \
            if held > 0 else 0.0
        rate = STAGE_DECAY / (max(release_s, 1e-3) * sample_rate)
        releasing = t >= held
        env[releasing] = level * np.exp(-rate * (t[releasing] - held))
    return env.astype(np.float32)


def _velocity_gain(velocity: int, veltrack_percent: float) -> float:
    """SFZ amp_veltrack with sfizz's default curve (velocity squared)."""
    curve = (velocity / 127.0) ** 2
    track = veltrack_percent / 100.0
    return (1.0 - track) + track * curve if track >= 0 else 1.0 + track * curve


@dataclass
class _Note:
    strip: int  # index into the song's strips
    region: int
    key: int
    start: int  # frame
    held: int  # frames until note-off (before release)
    release_s: float
    gain: float
    pan_left: float
    pan_right: float
    length: int = 0  # frames it sounds, release included


@dataclass
class _StripInstance:
    """One instrument played through one part's strip (a track's sound), with its caches."""

    instrument: _Instrument
    part: Part
    sample_rate: int
    gain: float  # the part's level target against the instrument's own level
    voices: OrderedDict = field(default_factory=OrderedDict)
    notes: dict = field(default_factory=dict)

    def speed(self, region_index: int, key: int) -> float:
        region = self.instrument.regions[region_index].region
        cents = ((key - region.pitch_keycenter) * region.pitch_keytrack + region.tune
                 + 100 * region.transpose)
        return 2.0 ** (cents / 1200.0)

    def natural_length(self, region_index: int, key: int) -> int | None:
        """Frames the voice lasts on its own (unlooped samples end), None when it loops."""
        loaded = self.instrument.regions[region_index]
        if loaded.loop is not None and not loaded.one_shot:
            return None
        return int(len(loaded.samples) / self.speed(region_index, key))

    def note_length(self, region_index: int, key: int, held: int, release_s: float) -> int:
        natural = self.natural_length(region_index, key)
        if self.instrument.regions[region_index].one_shot:
            return max(1, min(natural or 0, held + int(release_s * self.sample_rate)))
        length = held + int(release_s * self.sample_rate)
        return max(1, length if natural is None else min(length, natural))


class _Caches:
    """Byte-bounded caches shared by every strip of a song: voices (LRU) and kept notes."""

    def __init__(self) -> None:
        self.voice_bytes = 0
        self.note_bytes = 0
        self.voices: OrderedDict[tuple, _Voice] = OrderedDict()
        self.shapes: dict[tuple, np.ndarray] = {}  # enveloped notes at unit gain
        self.notes: dict[tuple, np.ndarray] = {}  # the same at the gains they are played at

    def voice(self, strip: _StripInstance, region_index: int, key: int) -> _Voice:
        cache_key = (id(strip.instrument), region_index, key)
        voice = self.voices.get(cache_key)
        if voice is not None:
            self.voices.move_to_end(cache_key)
            return voice
        voice = _make_voice(strip.instrument.regions[region_index],
                            strip.speed(region_index, key), strip.sample_rate)
        self.voices[cache_key] = voice
        self.voice_bytes += voice.wave.nbytes
        while self.voice_bytes > VOICE_CACHE_BYTES and len(self.voices) > 1:
            # Sounding notes keep their own reference: eviction only drops idle voices.
            _, evicted = self.voices.popitem(last=False)
            self.voice_bytes -= evicted.wave.nbytes
        return voice

    def kept_note(self, strip: _StripInstance, note: _Note, voice: _Voice) -> np.ndarray | None:
        """The whole enveloped note at its gain when it is short and there is room to keep it
        (an arranged song plays a few hundred such notes thousands of times: adding a kept
        note is one pass over memory)."""
        if note.length > MAX_KEPT_NOTE_S * strip.sample_rate:
            return None
        shape_key = (id(strip.instrument), note.region, note.key, note.held, note.release_s)
        cache_key = (*shape_key, note.gain)
        scaled = self.notes.get(cache_key)
        if scaled is not None:
            return scaled
        shape = self.shapes.get(shape_key)
        if shape is None:
            region = strip.instrument.regions[note.region].region
            shape = voice.read(0, note.length) * _envelope(region, note.held, note.release_s, 0,
                                                           note.length, strip.sample_rate)
            if self.note_bytes + shape.nbytes <= NOTE_CACHE_BYTES:
                self.shapes[shape_key] = shape
                self.note_bytes += shape.nbytes
        scaled = shape * np.float32(note.gain)
        if self.note_bytes + scaled.nbytes <= NOTE_CACHE_BYTES:
            self.notes[cache_key] = scaled
            self.note_bytes += scaled.nbytes
        return scaled


def _pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power pan, pan in -1 .. 1."""
    angle = (min(1.0, max(-1.0, pan)) + 1) * math.pi / 4
    return math.cos(angle) * math.sqrt(2), math.sin(angle) * math.sqrt(2)


def _initial_controller(track: pretty_midi.Instrument, number: int) -> int | None:
    first_note = min((n.start for n in track.notes), default=0.0)
    values = [c.value for c in track.control_changes if c.number == number and
              c.time <= first_note + 1e-6]
    return values[-1] if values else None


def _pedal_intervals(track: pretty_midi.Instrument) -> list[tuple[float, float]]:
    intervals, down_at = [], None
    for change in sorted((c for c in track.control_changes if c.number == 64),
                         key=lambda c: c.time):
        if change.value >= 64 and down_at is None:
            down_at = change.time
        elif change.value < 64 and down_at is not None:
            intervals.append((down_at, change.time))
            down_at = None
    if down_at is not None:
        intervals.append((down_at, math.inf))
    return intervals


def _track_notes(track: pretty_midi.Instrument, strip: _StripInstance, strip_index: int,
                 pan: float, track_gain: float, sample_rate: int) -> list[_Note]:
    """The track's notes as voices: regions, pedal, one-shots, choke and the voice limit."""
    instrument = strip.instrument
    pedal = _pedal_intervals(track)
    pedal_starts = np.array([p[0] for p in pedal])
    notes: list[_Note] = []
    note_ons: dict[int, int] = {}  # region → note-ons it has matched (round robin)
    for count, midi_note in enumerate(sorted(track.notes, key=lambda n: (n.start, n.pitch))):
        if count % 512 == 0:
            check_canceled()  # the caller gave up: stop (imagewave/cancellation.py)
        end_s = midi_note.end
        if pedal:  # a note released while the pedal is down rings until the pedal lifts
            index = int(np.searchsorted(pedal_starts, end_s, side="right")) - 1
            if index >= 0 and pedal[index][0] <= end_s < pedal[index][1]:
                end_s = min(pedal[index][1], midi_note.end + 30.0)
        start = int(round(midi_note.start * sample_rate))
        held = max(1, int(round(end_s * sample_rate)) - start)
        for region_index in instrument.regions_for(midi_note.pitch, midi_note.velocity):
            loaded = instrument.regions[region_index]
            region = loaded.region
            if region.seq_length > 1:
                count = note_ons.get(region_index, 0)
                note_ons[region_index] = count + 1
                if not region.plays_in_sequence(count):
                    continue
            region_held = held
            if loaded.one_shot:  # one-shots ignore note-off and play the sample out
                region_held = strip.natural_length(region_index, midi_note.pitch) or held
            left, right = _pan_gains(pan + region.pan / 100.0)
            gain = (track_gain * strip.gain * 10.0 ** (region.volume / 20.0)
                    * _velocity_gain(midi_note.velocity, region.amp_veltrack))
            notes.append(_Note(strip_index, region_index, midi_note.pitch, start, region_held,
                               region.ampeg_release, gain, left, right))
    _apply_choke(notes, instrument)
    _apply_voice_limit(notes, strip)
    for note in notes:
        note.length = strip.note_length(note.region, note.key, note.held, note.release_s)
    return notes


def _apply_choke(notes: list[_Note], instrument: _Instrument) -> None:
    """SFZ off_by: a note in group G cuts sounding notes whose region has off_by=G."""
    groups: dict[int, list[int]] = {}
    for note in notes:
        group = instrument.regions[note.region].region.group
        if group:
            groups.setdefault(group, []).append(note.start)
    if not groups:
        return
    starts = {group: np.array(sorted(values)) for group, values in groups.items()}
    for note in notes:
        off_by = instrument.regions[note.region].region.off_by
        if off_by is None or off_by not in starts:
            continue
        later = starts[off_by]
        index = int(np.searchsorted(later, note.start, side="right"))
        if index < len(later) and later[index] - note.start < note.held:
            note.held = max(1, int(later[index] - note.start))
            note.release_s = CHOKE_RELEASE_S


def _apply_voice_limit(notes: list[_Note], strip: _StripInstance) -> None:
    """At most MAX_VOICES_PER_TRACK sounding: the voice closest to its end is released fast."""
    sounding: list[tuple[int, int]] = []  # (end frame, note index)
    for index, note in enumerate(notes):
        while sounding and sounding[0][0] <= note.start:
            heapq.heappop(sounding)
        if len(sounding) >= MAX_VOICES_PER_TRACK:
            _, stolen = heapq.heappop(sounding)
            victim = notes[stolen]
            victim.held = max(1, min(victim.held, note.start - victim.start))
            victim.release_s = STOLEN_RELEASE_S
        length = strip.note_length(note.region, note.key, note.held, note.release_s)
        heapq.heappush(sounding, (note.start + length, index))


def _resolve(role: Role, instruments: dict[Role, Path]) -> Path:
    if role in instruments:
        return instruments[role]
    for fallback in FALLBACK_ROLES[role]:
        if fallback in instruments:
            return instruments[fallback]
    raise InvalidInput("no instruments to render with", field="instruments")


def check_inputs(midi: pretty_midi.PrettyMIDI, instruments: dict[Role, Path],
                 sample_rate: int) -> None:
    if not instruments:
        raise InvalidInput("instruments must name at least one role's .sfz", field="instruments")
    for role, path in instruments.items():
        if not Path(path).is_file():
            raise InvalidInput(f"instruments[{Role(role).value}]: no SFZ file at {path}",
                               field="instruments")
    if sample_rate < 8_000:
        raise InvalidInput(f"sample_rate must be at least 8000, got {sample_rate}",
                           field="sample_rate")
    if not any(track.notes for track in midi.instruments):
        raise InvalidInput("midi has no notes", field="midi")


def memory_needed(frames: int, extra_bytes_per_frame: int = 0) -> int:
    """Bytes a render of `frames` frames needs at most (see BYTES_PER_FRAME, FIXED_BYTES), plus
    what the caller keeps per frame of the result (e.g. an encoded copy of the mix)."""
    return FIXED_BYTES + (BYTES_PER_FRAME + extra_bytes_per_frame) * frames


@dataclass
class _Plan:
    strips: list[_StripInstance]
    notes: list[_Note]  # sorted by start
    stems_of_strips: list[str]
    total_frames: int


def _plan(midi: pretty_midi.PrettyMIDI, instruments: dict[Role, Path],
          role_overrides: dict[int, Role], sample_rate: int, strips: bool = True) -> _Plan:
    roles = assign_track_roles(midi, role_overrides)
    loaded: dict[tuple[Path, Part], _Instrument] = {}
    strips: dict[tuple[Path, Part], int] = {}
    instances: list[_StripInstance] = []
    notes: list[_Note] = []
    spread: dict[Part, int] = {}
    for index, track in enumerate(midi.instruments):
        if not track.notes:
            continue
        role = roles[index]
        path = Path(_resolve(role, instruments))
        part = track_part(track, role)
        key = (path, part)
        if key not in strips:
            if key not in loaded:
                loaded[key] = load_instrument(path, sample_rate, part if strips else None)
            instrument = loaded[key]
            gain = 10 ** ((REFERENCE_LEVEL_DB + STRIPS[part].level_db - instrument.level_db)
                          / 20) if strips else 1.0
            strips[key] = len(instances)
            instances.append(_StripInstance(instrument, part, sample_rate, gain))
        strip_index = strips[key]
        pan_cc = _initial_controller(track, 10)
        if pan_cc is not None:
            pan = (pan_cc - 64) / 64.0
        else:  # alternate same-part tracks around the part's place
            count = spread.get(part, 0)
            pan = STRIPS[part].pan + 0.2 * ((count + 1) // 2) * (-1) ** count
            spread[part] = count + 1
        volume_cc = _initial_controller(track, 7)
        track_gain = (volume_cc / 127.0) ** 2 if volume_cc is not None else 1.0
        notes += _track_notes(track, instances[strip_index], strip_index, pan, track_gain,
                              sample_rate)
    # The stem of a role is named after the role that asked for it, even when a fallback plays.
    stems = []
    for instance in instances:
        stem = STEM_OF_PART[instance.part]
        stems.append(stem)
    total = int(math.ceil(midi.get_end_time() * sample_rate))
    total = max([total] + [n.start + n.length for n in notes])
    notes.sort(key=lambda n: n.start)
    return _Plan(instances, notes, stems, total)


class _StemWriter:
    """Stems as they are made, to float WAVs on disk; scaled to the master's gain into FLAC at
    the end (so stems cost disk, not memory)."""

    def __init__(self, directory: Path | None, names: list[str], sample_rate: int) -> None:
        self.directory = directory
        self.sample_rate = sample_rate
        self.scratch = None
        self.files: dict[str, sf.SoundFile] = {}
        if directory is None:
            return
        directory.mkdir(parents=True, exist_ok=True)
        self.scratch = tempfile.TemporaryDirectory(prefix="stems-", dir=directory)
        for name in dict.fromkeys(names):
            self.files[name] = sf.SoundFile(Path(self.scratch.name) / f"{name}.wav", "w",
                                            samplerate=sample_rate, channels=2, subtype="FLOAT")

    def write(self, name: str, block: np.ndarray) -> None:
        if name in self.files:
            self.files[name].write(block.T)

    def finish(self, gain: float) -> dict[str, Path]:
        """Close the raw stems and encode them at `gain` as FLAC (two at a time: libsndfile
        releases the GIL while it encodes)."""
        from concurrent.futures import ThreadPoolExecutor

        if self.directory is None:
            return {}
        for raw in self.files.values():
            raw.close()
        with ThreadPoolExecutor(max_workers=2) as pool:
            targets = dict(zip(self.files, pool.map(lambda raw: self._encode(raw.name, gain),
                                                    self.files.values()), strict=True))
        self.scratch.cleanup()
        return targets

    def _encode(self, raw_path: str, gain: float) -> Path:
        target = self.directory / f"{Path(raw_path).stem}.flac"
        with sf.SoundFile(raw_path) as source, sf.SoundFile(
                target, "w", samplerate=self.sample_rate, channels=2, format="FLAC",
                subtype="PCM_24") as flac:
            for block in source.blocks(BLOCK_FRAMES, dtype="float32"):
                flac.write(np.clip(block * np.float32(gain), -1.0, 1.0))
        return target


def render_song(midi: pretty_midi.PrettyMIDI, instruments: dict[Role, Path], *,
                role_overrides: dict[int, Role], sample_rate: int, target_lufs: float,
                true_peak_dbtp: float, effects: list[np.ndarray] | None = None,
                cues_s: list[float] | None = None, stems_dir: Path | None = None,
                space: bool = True, max_memory_bytes: int | None = None,
                extra_bytes_per_frame: int = 0, audition: bool = False) -> RenderedSong:
    """Render every track of `midi` with the instrument of its role, mix and master it.

    `effects`: the scene's sounds (mono float32 at `sample_rate`) for the ambience bed and the
    events, placed on `cues_s` (phrase ends, section changes; default: bar boundaries).
    `stems_dir`: write <stem>.flac there. `space`: the reverb bus (off for a dry audition).
    `max_memory_bytes`: refuse (InvalidMidi, field "midi") a song that would need more,
    counting `extra_bytes_per_frame` the caller will spend on the result. `audition`: the
    instruments as built (no strip EQ or part levels, no space), to judge an instrument itself.
    """
    check_inputs(midi, instruments, sample_rate)
    space = space and not audition
    plan = _plan(midi, instruments, role_overrides, sample_rate, strips=not audition)
    music_end = plan.total_frames
    effects = [np.asarray(e, np.float32) for e in (effects or []) if np.size(e)]
    events = []
    if effects:
        board = STRIPS[Part.effects].board()
        filtered = [board(e[None, :], sample_rate)[0] for e in effects]
        end_s = music_end / sample_rate
        cues = spaced_cues(list(cues_s) if cues_s else
                           fallback_cues(midi.get_downbeats(), end_s), end_s)
        events = plan_events(filtered, cues, sample_rate,
                             REFERENCE_LEVEL_DB + STRIPS[Part.effects].level_db)
        plan.total_frames = max([plan.total_frames]
                                + [e.start + len(e.wave) for e in events])
    if space:
        plan.total_frames += int(REVERB_TAIL_S * sample_rate)
    # Whole master blocks (at most 1.3 ms of extra silence) let the master chain work on views.
    total_frames = -(-plan.total_frames // BLOCK) * BLOCK
    needed = memory_needed(total_frames, extra_bytes_per_frame)
    if max_memory_bytes is not None and needed > max_memory_bytes:
        raise InvalidMidi(
            f"midi would need about {needed / 2**20:.0f} MB to render "
            f"({total_frames / sample_rate:.0f} s of audio), more than the render limit of "
            f"{max_memory_bytes / 2**20:.0f} MB", field="midi")
    bed = AmbienceBed(effects, sample_rate, total_frames) if effects else None

    stem_names = list(plan.stems_of_strips)
    if bed:
        stem_names.append("ambience")
    if events:
        stem_names.append("effects")
    writer = _StemWriter(stems_dir, stem_names, sample_rate)
    reverb = Space(sample_rate) if space else None
    caches = _Caches()
    mix = np.zeros((2, total_frames), dtype=np.float32)
    active: list[tuple[_Note, np.ndarray | None, _Voice]] = []
    next_note = 0
    next_event = 0
    live_events: list = []
    for block_start in range(0, total_frames, BLOCK_FRAMES):
        check_canceled()
        block_end = min(total_frames, block_start + BLOCK_FRAMES)
        frames = block_end - block_start
        while next_note < len(plan.notes) and plan.notes[next_note].start < block_end:
            note = plan.notes[next_note]
            strip = plan.strips[note.strip]
            voice = caches.voice(strip, note.region, note.key)
            active.append((note, caches.kept_note(strip, note, voice), voice))
            next_note += 1
        # Notes summed in mono per (strip, place): panned and sent once per block.
        groups: dict[tuple[int, float, float], np.ndarray] = {}
        still = []
        for item in active:
            note, wave, voice = item
            first = max(note.start, block_start)
            last = min(note.start + note.length, block_end)
            if last > first:
                offset = first - note.start
                count = last - first
                group_key = (note.strip, note.pan_left, note.pan_right)
                target = groups.get(group_key)
                if target is None:
                    target = groups[group_key] = np.zeros(frames, np.float32)
                window = target[first - block_start:last - block_start]
                if wave is not None:  # kept: already enveloped and at the note's gain
                    np.add(window, wave[offset:offset + count], out=window)
                else:
                    region = plan.strips[note.strip].instrument.regions[note.region].region
                    segment = voice.read(offset, count) * _envelope(
                        region, note.held, note.release_s, offset, count, sample_rate)
                    segment *= np.float32(note.gain)
                    np.add(window, segment, out=window)
            if note.start + note.length > block_end:
                still.append(item)
        active = still

        stems: dict[str, np.ndarray] = {}
        send = np.zeros(frames, np.float32)
        for (strip_index, left, right), mono in groups.items():
            name = plan.stems_of_strips[strip_index]
            stem = stems.get(name)
            if stem is None:
                stem = stems[name] = np.zeros((2, frames), np.float32)
            stem[0] += mono * np.float32(left)
            stem[1] += mono * np.float32(right)
            send += mono * np.float32(STRIPS[plan.strips[strip_index].part].send)
        music = np.zeros((2, frames), np.float32)
        for stem in stems.values():
            music += stem
        if events:
            while next_event < len(events) and events[next_event].start < block_end:
                live_events.append(events[next_event])
                next_event += 1
            lane = np.zeros((2, frames), np.float32)
            for event in live_events:
                first = max(event.start, block_start)
                last = min(event.start + len(event.wave), block_end)
                if last > first:
                    segment = event.wave[first - event.start:last - event.start]
                    lane[0, first - block_start:last - block_start] += segment * event.pan_left
                    lane[1, first - block_start:last - block_start] += segment * event.pan_right
            live_events = [e for e in live_events if e.start + len(e.wave) > block_end]
            stems["effects"] = lane
            send += lane.mean(axis=0) * np.float32(STRIPS[Part.effects].send)
        if bed:
            ambience = bed.block(block_start, frames, music)
            stems["ambience"] = ambience
            send += ambience.mean(axis=0) * np.float32(STRIPS[Part.ambience].send)
        out = mix[:, block_start:block_end]
        for stem in stems.values():
            out += stem
        for name in dict.fromkeys(stem_names):
            writer.write(name, stems.get(name, np.zeros((2, frames), np.float32)))
        if reverb is not None:
            out += reverb.process(send, last=block_end >= total_frames)

    result = master(mix, sample_rate, target_lufs=target_lufs, true_peak_dbtp=true_peak_dbtp)
    stem_files = writer.finish(float(db_to_gain(result.gain_db)))
    # A (frames, 2) view of the channel-first buffer: the shape callers expect, without the
    # cost of re-interleaving minutes of audio.
    return RenderedSong(mix=result.audio.T, sample_rate=sample_rate, stems=stem_files,
                        loudness_lufs=result.loudness_lufs, true_peak_dbtp=result.true_peak_dbtp)
