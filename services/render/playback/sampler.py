"""The renderer: a vectorised SFZ sampler for whole songs, then the master chain.

Speed comes from caching, not from a per-sample loop: a song plays each (region, key) at one
pitch ratio, so every such voice is resampled once with soxr (its loop unrolled first) and every
note is then a slice of it times an envelope, added into its role's stem. Envelopes follow
sfizz's ADSR (linear attack, exponential decay and release reaching -78 dB after the stage's
time), so an instrument sounds the same here as in sfizz. `loop_sustain` regions keep looping
through the release: our instruments follow the loop end with copies of the loop, so that is
exactly what sfizz and FluidSynth play too.

Per track: roles from `services.render.playback.midi.assign_track_roles`, stereo placement (MIDI pan
CC10 when present, else a spread per role), volume CC7, sustain pedal CC64, a voice limit that
releases the voice closest to its end, and SFZ `group`/`off_by` choke (hi-hats).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pretty_midi
import soxr

from imagewave.cancellation import check_canceled
from imagewave.contracts.scene import Role
from imagewave.errors import InvalidInput
from services.render.instruments.sfz import Region, SfzInstrument, load_sample, read_sfz
from services.render.playback.mastering import BLOCK, db_to_gain, master
from services.render.playback.midi import assign_track_roles

MAX_VOICES_PER_TRACK = 48
NOTE_CACHE_BYTES = 256 * 2**20  # per instrument
STOLEN_RELEASE_S = 0.01
CHOKE_RELEASE_S = 0.006  # sfizz's off_mode=fast
MIN_EXP_STAGE_S = 0.025  # sfizz clamps exponential stages to at least 25 ms
STAGE_DECAY = 9.0  # exp(-9): sfizz's exponential stages fall 78 dB over their time
# When a role has no instrument, the nearest one plays its tracks.
FALLBACK_ROLES: dict[Role, tuple[Role, ...]] = {
    Role.keyboard: (Role.guitar, Role.bass, Role.drums),
    Role.guitar: (Role.keyboard, Role.bass, Role.drums),
    Role.bass: (Role.guitar, Role.keyboard, Role.drums),
    Role.drums: (Role.keyboard, Role.guitar, Role.bass),
}
ROLE_PAN = {Role.drums: 0.0, Role.bass: 0.0, Role.keyboard: -0.25, Role.guitar: 0.3}


@dataclass
class RenderedSong:
    mix: np.ndarray  # (frames, 2) float32
    sample_rate: int
    stems: dict[Role, np.ndarray]  # (frames, 2) float32, pre-limiter, at the master's gain
    loudness_lufs: float
    true_peak_dbtp: float = float("-inf")


@dataclass
class _LoadedRegion:
    region: Region
    samples: np.ndarray  # mono float32 at the render rate, offset/end applied
    loop: tuple[int, int] | None  # [start, end) in `samples` frames, when looping
    one_shot: bool


@dataclass
class _Instrument:
    sfz: SfzInstrument
    regions: list[_LoadedRegion]
    lookup: dict[tuple[int, int], list[int]] = field(default_factory=dict)

    def regions_for(self, key: int, velocity: int) -> list[int]:
        cached = self.lookup.get((key, velocity))
        if cached is None:
            cached = [i for i, r in enumerate(self.regions) if r.region.matches(key, velocity)]
            self.lookup[(key, velocity)] = cached
        return cached


def load_instrument(sfz_path: Path, sample_rate: int) -> _Instrument:
    """Read an SFZ file and its samples at the render rate (loop points scaled if resampled)."""
    sfz = read_sfz(sfz_path)
    if not sfz.regions:
        raise InvalidInput(f"instrument {sfz_path.name} has no playable regions",
                           field="instruments")
    cache: dict[Path, tuple[np.ndarray, float]] = {}
    regions = []
    for region in sfz.regions:
        path = sfz.sample_path(region)
        if path not in cache:
            if not path.is_file():
                raise InvalidInput(f"instrument {sfz_path.name} refers to a missing sample "
                                   f"{region.sample!r}", field="instruments")
            cache[path] = load_sample(path, sample_rate)
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
    return _Instrument(sfz=sfz, regions=regions)


@dataclass
class _Note:
    region: int
    key: int
    start: int  # frame
    held: int  # frames until note-off (before release)
    release_s: float
    gain: float
    pan_left: float
    pan_right: float


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


def _velocity_gain(velocity: int, veltrack_percent: float) -> float:
    """SFZ amp_veltrack with sfizz's default curve (velocity squared)."""
    curve = (velocity / 127.0) ** 2
    track = veltrack_percent / 100.0
    return (1.0 - track) + track * curve if track >= 0 else 1.0 + track * curve


def _envelope(region: Region, held: int, release_s: float, length: int,
              sample_rate: int) -> np.ndarray:
    """sfizz-style ADSR for a note held `held` frames, `length` frames long in total."""
    t = np.arange(length, dtype=np.float32)
    attack = int(region.ampeg_attack * sample_rate)
    hold = int(region.ampeg_hold * sample_rate)
    sustain = float(np.clip(region.ampeg_sustain / 100.0, 0.0, 1.0))
    env = np.ones(length, dtype=np.float32)
    if attack > 0:
        env[:attack] = t[:attack] / attack
    decay_start = attack + hold
    if region.ampeg_decay > 0 and sustain < 1.0 and decay_start < length:
        decay_s = max(region.ampeg_decay, MIN_EXP_STAGE_S)
        rate = STAGE_DECAY / (decay_s * sample_rate)
        tail = t[decay_start:] - decay_start
        env[decay_start:] = np.maximum(np.exp(-rate * tail), sustain)
    if held < length:
        level = env[held - 1] if held > 0 else 0.0
        rate = STAGE_DECAY / (max(release_s, 1e-3) * sample_rate)
        env[held:] = level * np.exp(-rate * (t[held:] - held))
    return env


class _VoiceCache:
    """Pitched voices per (region, key), resampled once; enveloped notes per duration."""

    def __init__(self, instrument: _Instrument, sample_rate: int) -> None:
        self.instrument = instrument
        self.sample_rate = sample_rate
        self.voices: dict[tuple[int, int], np.ndarray] = {}
        self.notes: dict[tuple[int, int, int, float], np.ndarray] = {}
        self.cached_bytes = 0

    def speed(self, region_index: int, key: int) -> float:
        region = self.instrument.regions[region_index].region
        cents = ((key - region.pitch_keycenter) * region.pitch_keytrack + region.tune
                 + 100 * region.transpose)
        return 2.0 ** (cents / 1200.0)

    def natural_length(self, region_index: int, key: int) -> int | None:
        """Frames the voice lasts on its own (unlooped samples end), None when it loops."""
        loaded = self.instrument.regions[region_index]
        if loaded.loop is not None:
            return None
        return int(len(loaded.samples) / self.speed(region_index, key))

    def prepare(self, region_index: int, key: int, frames: int) -> None:
        """Make the (region, key) voice at least `frames` long (called with the longest need)."""
        loaded = self.instrument.regions[region_index]
        speed = self.speed(region_index, key)
        source_frames = int(math.ceil(frames * speed)) + 64
        samples = loaded.samples
        if loaded.loop is not None and source_frames > len(samples):
            loop_start, loop_end = loaded.loop
            cycle = samples[loop_start:loop_end]
            repeats = int(math.ceil((source_frames - loop_end) / len(cycle))) + 1
            source = np.concatenate([samples[:loop_end], np.tile(cycle, repeats)])
        else:
            source = samples
        source = source[:source_frames]
        if abs(speed - 1.0) > 1e-9:
            voice = soxr.resample(source, self.sample_rate * speed, self.sample_rate)
        else:
            voice = source
        if len(voice) < frames:
            voice = np.pad(voice, (0, frames - len(voice)))
        self.voices[(region_index, key)] = np.asarray(voice, dtype=np.float32)

    def note(self, region_index: int, key: int, held: int, release_s: float) -> np.ndarray:
        cache_key = (region_index, key, held, release_s)
        cached = self.notes.get(cache_key)
        if cached is None:
            region = self.instrument.regions[region_index].region
            length = self.note_length(region_index, key, held, release_s)
            voice = self.voices[(region_index, key)]
            cached = voice[:length] * _envelope(region, held, release_s, length,
                                                self.sample_rate)
            # Arranged songs repeat the same note thousands of times; a long uploaded song of
            # all-different durations must not keep every note in memory.
            if self.cached_bytes + cached.nbytes <= NOTE_CACHE_BYTES:
                self.notes[cache_key] = cached
                self.cached_bytes += cached.nbytes
        return cached

    def note_length(self, region_index: int, key: int, held: int, release_s: float) -> int:
        natural = self.natural_length(region_index, key)
        loaded = self.instrument.regions[region_index]
        if loaded.one_shot:
            return max(1, min(natural or 0, held + int(release_s * self.sample_rate)))
        length = held + int(release_s * self.sample_rate)
        return max(1, length if natural is None else min(length, natural))


def _track_notes(track: pretty_midi.Instrument, instrument: _Instrument, cache: _VoiceCache,
                 pan: float, track_gain: float, sample_rate: int) -> list[_Note]:
    """The track's notes as voices: regions, pedal, one-shots, choke and the voice limit."""
    pedal = _pedal_intervals(track)
    pedal_starts = np.array([p[0] for p in pedal])
    notes: list[_Note] = []
    note_ons: dict[int, int] = {}  # region → note-ons it has matched (round robin)
    for count, midi_note in enumerate(sorted(track.notes, key=lambda n: (n.start, n.pitch))):
        if count % 512 == 0:
            check_canceled()
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
                region_held = cache.natural_length(region_index, midi_note.pitch) or held
            left, right = _pan_gains(pan + region.pan / 100.0)
            gain = (track_gain * 10.0 ** (region.volume / 20.0)
                    * _velocity_gain(midi_note.velocity, region.amp_veltrack))
            notes.append(_Note(region_index, midi_note.pitch, start, region_held,
                               region.ampeg_release, gain, left, right))
    _apply_choke(notes, instrument)
    _apply_voice_limit(notes, cache)
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


def _apply_voice_limit(notes: list[_Note], cache: _VoiceCache) -> None:
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
        length = cache.note_length(note.region, note.key, note.held, note.release_s)
        heapq.heappush(sounding, (note.start + length, index))


def _add_track(stem: np.ndarray, cache: _VoiceCache, notes: list[_Note],
               scratch: np.ndarray) -> np.ndarray:
    """Add a track's notes into a (2, frames) stem; returns the (maybe grown) scratch buffer.

    A track whose notes overlap a lot (strummed chords) is summed in mono first and panned
    once, which halves the work per note; a sparse one is added note by note in stereo.
    """
    if not notes:
        return scratch
    lengths = [cache.note_length(n.region, n.key, n.held, n.release_s) for n in notes]
    first = min(n.start for n in notes)
    last = max(n.start + length for n, length in zip(notes, lengths, strict=True))
    if len(scratch) < max(lengths):
        scratch = np.empty(2 * max(lengths), np.float32)
    same_pan = len({(n.pan_left, n.pan_right) for n in notes}) == 1
    if same_pan and sum(lengths) > 2 * (last - first):
        mono = np.zeros(last - first, np.float32)
        for note in notes:
            wave = cache.note(note.region, note.key, note.held, note.release_s)
            scaled = scratch[: len(wave)]  # reused: no allocation per note
            np.multiply(wave, np.float32(note.gain), out=scaled)
            target = mono[note.start - first:note.start - first + len(wave)]
            np.add(target, scaled, out=target)
        for channel, pan in ((0, notes[0].pan_left), (1, notes[0].pan_right)):
            target = stem[channel, first:last]
            if abs(pan - 1.0) < 1e-6:  # centre: constant-power gain 1, no scaled copy
                target += mono
            else:
                target += mono * np.float32(pan)
        return scratch
    left_channel, right_channel = stem[0], stem[1]
    for index, note in enumerate(notes):
        if index % 256 == 0:
            check_canceled()  # the caller gave up: stop (imagewave/cancellation.py)
        wave = cache.note(note.region, note.key, note.held, note.release_s)
        stop = note.start + len(wave)
        scaled = scratch[: len(wave)]
        np.multiply(wave, np.float32(note.gain * note.pan_left), out=scaled)
        target = left_channel[note.start:stop]
        np.add(target, scaled, out=target)
        np.multiply(wave, np.float32(note.gain * note.pan_right), out=scaled)
        target = right_channel[note.start:stop]
        np.add(target, scaled, out=target)
    return scratch


def _resolve(role: Role, instruments: dict[Role, _Instrument]) -> _Instrument:
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


def render_song(midi: pretty_midi.PrettyMIDI, instruments: dict[Role, Path], *,
                role_overrides: dict[int, Role], sample_rate: int, target_lufs: float,
                true_peak_dbtp: float) -> RenderedSong:
    """Render every track of `midi` with the instrument of its role, then master the mix."""
    check_inputs(midi, instruments, sample_rate)
    loaded = {Role(role): load_instrument(Path(path), sample_rate)
              for role, path in instruments.items()}
    roles = assign_track_roles(midi, role_overrides)
    caches = {id(instrument): _VoiceCache(instrument, sample_rate)
              for instrument in loaded.values()}

    # Pass 1: every track's voices, and the longest each (region, key) must be.
    planned: list[tuple[Role, _VoiceCache, list[_Note]]] = []
    spread = {role: 0 for role in Role}
    for index, track in enumerate(midi.instruments):
        check_canceled()
        if not track.notes:
            continue
        role = roles[index]
        instrument = _resolve(role, loaded)
        cache = caches[id(instrument)]
        pan_cc = _initial_controller(track, 10)
        if pan_cc is not None:
            pan = (pan_cc - 64) / 64.0
        else:  # alternate same-role tracks around the role's place
            offset = 0.2 * ((spread[role] + 1) // 2) * (-1) ** spread[role]
            pan = ROLE_PAN[role] + offset
            spread[role] += 1
        volume_cc = _initial_controller(track, 7)
        track_gain = (volume_cc / 127.0) ** 2 if volume_cc is not None else 1.0
        planned.append((role, cache, _track_notes(track, instrument, cache, pan, track_gain,
                                                  sample_rate)))
    needs: dict[tuple[int, int, int], int] = {}
    total_frames = int(math.ceil(midi.get_end_time() * sample_rate))
    for _, cache, notes in planned:
        for note in notes:
            length = cache.note_length(note.region, note.key, note.held, note.release_s)
            key = (id(cache), note.region, note.key)
            needs[key] = max(needs.get(key, 0), length)
            total_frames = max(total_frames, note.start + length)
    # Whole master blocks (at most 1.3 ms of extra silence) let the master chain work on views.
    total_frames = -(-total_frames // BLOCK) * BLOCK
    for _, cache, _ in planned:
        for (cache_id, region_index, key), frames in needs.items():
            check_canceled()
            if cache_id == id(cache) and (region_index, key) not in cache.voices:
                cache.prepare(region_index, key, frames)

    # Pass 2: add every note into its role's stem (channels first: contiguous rows).
    stems: dict[Role, np.ndarray] = {}
    scratch = np.empty(sample_rate, np.float32)
    for role, cache, notes in planned:
        check_canceled()
        stem = stems.get(role)
        if stem is None:
            stem = stems[role] = np.zeros((2, total_frames), dtype=np.float32)
        scratch = _add_track(stem, cache, notes, scratch)
    mix = np.zeros((2, total_frames), dtype=np.float32)
    for stem in stems.values():
        mix += stem
    check_canceled()
    result = master(mix, sample_rate, target_lufs=target_lufs, true_peak_dbtp=true_peak_dbtp)
    stem_gain = np.float32(db_to_gain(result.gain_db))
    for stem in stems.values():
        stem *= stem_gain
    # (frames, 2) views of channel-first buffers: the shape callers expect, without the cost of
    # re-interleaving minutes of audio.
    return RenderedSong(mix=result.audio.T, sample_rate=sample_rate,
                        stems={role: stem.T for role, stem in stems.items()},
                        loudness_lufs=result.loudness_lufs, true_peak_dbtp=result.true_peak_dbtp)
