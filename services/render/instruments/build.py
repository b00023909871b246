"""Instrument builder: one sound → a playable, in-tune SFZ + SF2 instrument for a role.

Melodic roles get multi-sample zones every `zone_step` semitones over the role's range, each
resampled with soxr from one trimmed, steady source (its strongest gap-free stretch, or its
sounding stretches joined), declicked, with a long crossfaded sustain loop (`loop_sustain`:
loops while the key is held, then plays on through the release, the same in sfizz, FluidSynth's
SF2 sample mode 3 and our sampler). Unless the source is cleanly periodic, each zone is given
its exact pitch by a harmonic resonator (resonator.py) with some of the source kept on top, so
every key plays in tune whatever came in: wind, rain, or the timbre stage's noisy plucks.

Character per role, chosen from the source's own envelope (`source_character`) and written to
`<role>.json` (an `InstrumentCard`): guitar and bass pluck (die away), the keyboard strikes
when the source comes in hits and pads when it holds steady. Each zone has a soft (darker) and
a loud velocity layer, and every note also plays one of ROUND_ROBIN short transients cut from
the source's own onsets (seq_length/seq_position), tracking velocity fully: loud notes are
brighter and noisier, repeated notes differ. Drums are built by drums.py.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from scipy import ndimage, signal

from imagewave.audio import SAMPLE_RATE, to_mono
from imagewave.contracts.instrument import EnvelopeCard, InstrumentCard, SourceCharacter
from imagewave.contracts.scene import Role
from imagewave.errors import InvalidInput
from services.render.instruments.loops import crossfade_loop, find_sustain_loop
from services.render.instruments.pitch import PitchEstimate, estimate_pitch, midi_to_hz
from services.render.instruments.resonator import harmonic_resonance, synthetic_excitation
from services.render.instruments.sf2 import FontPresets, merge_sf2, write_sf2_from_sfz
from services.render.instruments.sfz import Region, write_sfz

log = logging.getLogger(__name__)

SAMPLE_SUBTYPE = "PCM_16"  # as in the SF2; half the bytes of PCM_24 to write and stream
STAGE_DECAY_DB = 20 * np.log10(np.e**9)  # 78.2 dB: sfizz's exponential stages, exp(-9)


@dataclass(frozen=True)
class RoleProfile:
    """How one role plays: its key range, where its default root sits, its envelope."""

    lowest_key: int
    highest_key: int
    default_root: int
    gm_programs: range  # where the role sits in the combined GM-mapped font of a whole set
    attack_s: float
    release_s: float
    amp_veltrack: float
    # How far a held note falls in 6 s: plucked and struck roles die away like strings
    # (a GM guitar falls 33-57 dB, a GM bass 23 dB); more when the source itself is a hit.
    fall_db_at_6s: float
    percussive_fall_db_at_6s: float
    may_pad: bool = False  # a steady source makes a pad (sustains) instead of a struck sound
    zone_step: int = 3
    zone_length_s: float = 2.0  # each zone's sample; the (long) loop sustains longer notes


PROFILES: dict[Role, RoleProfile] = {
    Role.keyboard: RoleProfile(36, 96, 60, range(0, 8), attack_s=0.003, release_s=0.4,
                               amp_veltrack=80.0, fall_db_at_6s=30.0,
                               percussive_fall_db_at_6s=40.0, may_pad=True),
    Role.guitar: RoleProfile(40, 88, 52, range(24, 32), attack_s=0.002, release_s=0.3,
                             amp_veltrack=80.0, fall_db_at_6s=30.0,
                             percussive_fall_db_at_6s=45.0),
    Role.bass: RoleProfile(28, 64, 40, range(32, 40), attack_s=0.003, release_s=0.2,
                           amp_veltrack=70.0, fall_db_at_6s=24.0, percussive_fall_db_at_6s=34.0),
}
# A pad (keyboard from a steady source): slow swell, a gentle fall to a held level, long release.
PAD = EnvelopeCard(kind="pad", attack_s=0.06, decay_s=0.0, sustain_percent=60.0,
                   release_s=0.8, fall_db_at_6s=-20 * float(np.log10(0.6)))
PAD_DECAY_TO_SUSTAIN_S = 1.5
# Level: sfizz plays a full-scale sample at velocity 100 near 0.1 peak (its CC7 default of 100
# and velocity curve); this <global> volume brings our instruments to about -6 dBFS there.
MELODIC_VOLUME_DB = 12.0
# Transient layer: short hits cut from the source's own onsets, cycled round robin and tracking
# velocity fully (the body tracks it less), so loud notes are brighter and noisier, soft notes
# rounder, and repeated notes never sound quite the same.
ROUND_ROBIN = 3
TRANSIENT_S = 0.12
TRANSIENT_DECAY_S = 0.035
TRANSIENT_VOLUME_DB = -6.0
TRANSIENT_HIGHPASS_HZ = 1000.0
TRANSIENT_KEYS = 12  # one set of transient samples per octave of the role's range
# Two body layers: soft notes play a darker copy of each zone, loud ones the full colour.
VELOCITY_LAYERS = ((1, 79), (80, 127))

# A source counts as pitched when YIN finds a clear period in most frames.
PITCHED_VOICED_FRACTION = 0.7
# A source is used as it is only when it is cleanly periodic (YIN dips under 0.01): pyin, and
# ears, hear a pluck with YIN clarity 0.92 as barely voiced, so such sources are resonated too,
# with more of their own (already pitched) sound kept in the mix.
PITCHED_CLARITY = 0.99
# Share of the dry source mixed back over a resonated (weakly pitched) source: more in the attack
# (the source's own onset), little in the sustain, so pitch trackers stay locked on the
# resonance (at 0.2 pyin's voicing drops to about 50 % of frames on bright, crackly sources).
DRY_MIX = 0.1
# For sources that are periodic but noisy (clarity 0.9 and up). At 0.35 a rain-made guitar
# was unvoiced (pyin) on 5 of its 49 keys; the texture is carried by the transient layer too.
PITCHED_DRY_MIX = 0.2
# How far each harmonic's level moves from the source's towards a 1/h instrument spectrum: a
# source whose energy sits in one upper harmonic (rain's 3-4 kHz) leaves pyin unsure of the
# fundamental at 0.5.
TONAL_WEIGHT = 0.85
ATTACK_DRY_MIX = 0.6
ATTACK_S = 0.03


def sfz_decay_time(to_sustain_s: float, sustain_percent: float) -> float:
    """`ampeg_decay` that reaches `sustain_percent` after `to_sustain_s` seconds.

    sfizz (and our sampler, which follows it) decays exponentially at 78.2 dB per
    `ampeg_decay` seconds until the sustain level, so a shallow sustain needs a long decay time.
    """
    drop_db = -20 * np.log10(max(sustain_percent, 0.1) / 100.0)
    return round(to_sustain_s * STAGE_DECAY_DB / max(drop_db, 0.1), 3)


def check_inputs(samples: np.ndarray, source_rate: int, root_pitch: float | None,
                 output_rate: int) -> np.ndarray:
    samples = to_mono(np.asarray(samples, dtype=np.float64))
    if samples.ndim != 1 or samples.size == 0:
        raise InvalidInput(f"audio must be a non-empty mono or stereo clip, got shape "
                           f"{np.shape(samples)}", field="audio")
    if source_rate < 8_000 or source_rate > 384_000:
        raise InvalidInput(f"sample_rate must be in 8000..384000, got {source_rate}",
                           field="audio.sample_rate")
    if samples.size < 0.05 * source_rate:
        raise InvalidInput(f"audio must be at least 50 ms long, got {samples.size} frames at "
                           f"{source_rate} Hz", field="audio")
    if not np.all(np.isfinite(samples)):
        raise InvalidInput("audio contains NaN or infinite samples", field="audio")
    if root_pitch is not None and not 0 <= root_pitch <= 127:
        raise InvalidInput(f"root_pitch must be a MIDI pitch in 0..127, got {root_pitch}",
                           field="root_pitch")
    if output_rate < 8_000:
        raise InvalidInput(f"output_rate must be at least 8000, got {output_rate}",
                           field="output_rate")
    return samples


def build_instrument(samples: np.ndarray, source_rate: int, role: Role, out_dir: Path, *,
                     root_pitch: float | None = None, output_rate: int = SAMPLE_RATE) -> Path:
    """Write `out_dir/<role>.sfz`, its samples under `out_dir/samples/` and `out_dir/<role>.sf2`.

    `root_pitch` is the source's MIDI pitch when the caller knows it (the timbre engine made the
    voice at that pitch); otherwise it is estimated. Returns the .sfz path.
    """
    role = Role(role)
    samples = check_inputs(samples, source_rate, root_pitch, output_rate)
    out_dir = Path(out_dir)
    (out_dir / "samples").mkdir(parents=True, exist_ok=True)
    if source_rate != output_rate:
        samples = soxr.resample(samples, source_rate, output_rate)
    if role is Role.drums:
        from services.render.instruments.drums import build_drum_kit

        written: dict[str, tuple[np.ndarray, int]] = {}
        sfz_path = build_drum_kit(samples, output_rate, out_dir, written=written)
        write_sf2_from_sfz(sfz_path, out_dir / "drums.sf2", name="imagewave drums", bank=128,
                           programs=[0], samples=written)
        return sfz_path
    return _build_melodic(samples, output_rate, role, out_dir, root_pitch)


def trim(samples: np.ndarray, sample_rate: int, *, floor_db: float = -45.0,
         max_length_s: float = 6.0) -> np.ndarray:
    """Drop leading/trailing silence (relative to the peak) and cap the length."""
    hop = max(1, int(0.005 * sample_rate))
    frames = len(samples) // hop
    if frames < 2:
        return samples
    rms = np.sqrt(np.mean(samples[: frames * hop].reshape(frames, hop) ** 2, axis=1))
    loud = np.flatnonzero(rms > rms.max() * 10 ** (floor_db / 20))
    if loud.size == 0:
        return samples[: int(max_length_s * sample_rate)]
    start = max(0, loud[0] * hop - hop)
    stop = min(len(samples), (loud[-1] + 2) * hop)
    return samples[start:stop][: int(max_length_s * sample_rate)]


def sounding_segment(samples: np.ndarray, sample_rate: int, *, floor_db: float = -30.0,
                     min_length_s: float = 0.4) -> np.ndarray:
    """The strongest stretch of the clip without gaps: effects come in bursts (waves, steps,
    gusts), and a sustain loop taken across a gap would pulse or fall silent."""
    hop = max(1, int(0.01 * sample_rate))
    frames = len(samples) // hop
    if frames < 2:
        return samples
    rms = np.sqrt(np.mean(samples[: frames * hop].reshape(frames, hop) ** 2, axis=1))
    # Smooth over 50 ms so the dips between a crackle's droplets do not split it.
    smooth = np.convolve(rms, np.ones(5) / 5, mode="same")
    sounding = smooth > smooth.max() * 10 ** (floor_db / 20)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], sounding.astype(int), [0]])))
    runs = list(zip(edges[::2], edges[1::2], strict=True))
    if not runs:  # silence
        return samples
    start, stop = max(runs, key=lambda run: float(np.sum(rms[run[0]:run[1]] ** 2)))
    if (stop - start) * hop < min_length_s * sample_rate:
        # No long enough stretch (knocks, chirps): the sounding stretches joined end to end,
        # so the body has no silent holes for a loop (or the resonance) to pulse through.
        return _joined(samples, [(max(0, a * hop - hop), min(len(samples), b * hop))
                                 for a, b in runs], int(0.01 * sample_rate))
    return samples[max(0, start * hop - hop):min(len(samples), stop * hop)]


def _joined(samples: np.ndarray, spans: list[tuple[int, int]], crossfade: int) -> np.ndarray:
    """The spans of `samples` one after another, each joined to the last with an equal-power
    crossfade of `crossfade` frames (shorter spans join with what they have)."""
    out = np.asarray(samples[spans[0][0]:spans[0][1]], dtype=np.float64)
    for start, stop in spans[1:]:
        piece = np.asarray(samples[start:stop], dtype=np.float64)
        overlap = min(crossfade, len(out) // 2, len(piece) // 2)
        if overlap < 2:
            out = np.concatenate([out, piece])
            continue
        ramp = np.linspace(0.0, 0.5 * np.pi, overlap)
        blended = out[-overlap:] * np.cos(ramp) + piece[:overlap] * np.sin(ramp)
        out = np.concatenate([out[:-overlap], blended, piece[overlap:]])
    return out


def fade_edges(samples: np.ndarray, sample_rate: int, *, fade_in_s: float = 0.002,
               fade_out_s: float = 0.01) -> np.ndarray:
    """Short fades so a sample never starts or stops with a click."""
    out = np.array(samples, dtype=np.float64, copy=True)
    n_in = min(len(out) // 2, int(fade_in_s * sample_rate))
    n_out = min(len(out) // 2, int(fade_out_s * sample_rate))
    if n_in:
        out[:n_in] *= np.linspace(0.0, 1.0, n_in)
    if n_out:
        out[-n_out:] *= np.linspace(1.0, 0.0, n_out)
    return out


def steady_sustain(samples: np.ndarray, sample_rate: int, *, attack_s: float = 0.08,
                   max_gain_db: float = 24.0) -> np.ndarray:
    """Keep the natural attack, then level the rest to the attack's end level.

    The amplitude envelope comes from the SFZ envelope (per role), and a level body is what
    makes a sustain loop seamless.
    """
    hop = max(1, int(0.01 * sample_rate))
    frames = len(samples) // hop
    if frames < 4:
        return samples
    rms = np.sqrt(np.mean(samples[: frames * hop].reshape(frames, hop) ** 2, axis=1)) + 1e-9
    kernel = np.hanning(9)
    smooth = np.convolve(np.pad(rms, 4, mode="edge"), kernel / kernel.sum(), mode="valid")
    attack_frame = min(frames - 1, int(np.argmax(smooth[: max(1, frames // 3)])) +
                       int(attack_s * sample_rate / hop))
    target = smooth[attack_frame]
    gain = np.ones(frames)
    gain[attack_frame:] = np.minimum(target / smooth[attack_frame:], 10 ** (max_gain_db / 20))
    centres = np.arange(frames) * hop + hop / 2
    per_sample = np.interp(np.arange(len(samples)), centres, gain)
    return samples * per_sample


def _choose_root(estimate: PitchEstimate, profile: RoleProfile, root_pitch: float | None,
                 pitched: bool) -> float:
    if root_pitch is not None:
        return float(root_pitch)
    if estimate.pitch is not None and (pitched or (estimate.voiced_fraction >= 0.5
                                                   and estimate.clarity >= 0.8)):
        return estimate.pitch  # fractional: the source's own sound lands on each zone's pitch
    # Unpitched: the resonator can make any pitch; choose the role's centre so zones are
    # resampled by as little as possible.
    if estimate.pitch is not None and profile.lowest_key <= estimate.pitch <= profile.highest_key:
        return float(round(estimate.pitch))
    return float(profile.default_root)


def dry_mix_for(clarity: float) -> float:
    """How much of the source to keep under the resonance: more the more periodic it is."""
    share = float(np.clip((clarity - 0.8) / 0.1, 0.0, 1.0))
    return DRY_MIX + share * (PITCHED_DRY_MIX - DRY_MIX)


def source_character(samples: np.ndarray, sample_rate: int) -> tuple[bool, float, float]:
    """(percussive, fill, decay dB/s): does the source come in decaying hits or hold steady?

    `fill` is the share of 10 ms frames within 12 dB of the source's top level (a steady wind or
    crowd fills most of its length, knocks and chirps little); the decay is the level slope over
    the 300 ms after the loudest frame.
    """
    hop = max(1, int(0.01 * sample_rate))
    frames = len(samples) // hop
    if frames < 8:
        return True, 0.0, 0.0
    level = 20 * np.log10(np.sqrt(np.mean(samples[: frames * hop].reshape(frames, hop) ** 2,
                                          axis=1)) + 1e-9)
    top = float(np.percentile(level, 95))
    fill = float(np.mean(level > top - 12.0))
    peak = int(np.argmax(level))
    after = level[peak:peak + 30]
    slope = float(np.polyfit(np.arange(len(after)) * 0.01, after, 1)[0]) if len(after) > 3 else 0.0
    return bool(fill < 0.45 or slope < -30.0), fill, slope


def choose_envelope(role: Role, percussive: bool) -> EnvelopeCard:
    """The role's envelope, from the source's own: plucked for guitar and bass (always: a bass
    line of organ notes is what listeners disliked), struck or pad for the keyboard."""
    profile = PROFILES[role]
    if role is Role.keyboard and not percussive:
        return PAD.model_copy(update={
            "decay_s": sfz_decay_time(PAD_DECAY_TO_SUSTAIN_S, PAD.sustain_percent)})
    fall_db = profile.percussive_fall_db_at_6s if percussive else profile.fall_db_at_6s
    # Decaying to silence, sfizz's exponential decay stage falls 78.2 dB per ampeg_decay.
    return EnvelopeCard(kind="struck" if role is Role.keyboard else "plucked",
                        attack_s=profile.attack_s,
                        decay_s=round(6.0 * STAGE_DECAY_DB / fall_db, 3), sustain_percent=0.0,
                        release_s=profile.release_s, fall_db_at_6s=fall_db)


def extend_texture(samples: np.ndarray, frames: int, sample_rate: int, *, seed: int,
                   grain_s: float = 0.2) -> np.ndarray:
    """`samples` made `frames` long by overlap-adding Hann grains taken from random places of
    its steady part: a short noisy source (or one played an octave or two up) still gives a zone
    long enough for a slow loop, with its own grain and no repeated pattern."""
    if len(samples) >= frames:
        return samples[:frames]
    grain = min(int(grain_s * sample_rate), len(samples) // 2)
    if grain < 64:
        return np.resize(samples, frames)
    hop = grain // 2
    window = np.hanning(grain)
    rng = np.random.default_rng(seed)
    head = len(samples) - grain // 2  # keep the original attack and body, then grains
    out = np.zeros(frames + grain)
    out[:len(samples)] = samples
    fade = np.ones(len(samples))
    fade[head:] = np.linspace(1.0, 0.0, len(samples) - head)
    out[:len(samples)] *= fade
    lowest = min(len(samples) // 4, len(samples) - grain)
    for start in range(head - hop, frames, hop):
        source = int(rng.integers(lowest, len(samples) - grain + 1))
        out[start:start + grain] += samples[source:source + grain] * window
    # Hann grains at half overlap sum to a flat gain, so the level carries on unchanged.
    return out[:frames]


def _zone_sample(body: np.ndarray, sample_rate: int, *, root: float, centre: int, pitched: bool,
                 length_s: float, dry_mix: float = DRY_MIX, seed: int = 0) -> np.ndarray:
    """The sample for the zone centred on `centre`: the body resampled (soxr) from `root`.

    A weakly pitched body is resampled the same way, so its texture moves with the key like a
    real multi-sampled instrument, and then given the zone's exact pitch by the harmonic
    resonator: resonating per zone keeps the bands a few hertz wide on every key, where
    resonating once at the root would widen them eightfold three octaves up and blur the pitch.
    A body too short for the zone (played faster for a high key) is extended with its own grains
    first, so every zone is long enough for a loop that does not throb.
    """
    speed = 2.0 ** ((centre - root) / 12.0)  # > 1: the zone plays the body faster (higher)
    wanted = int(length_s * sample_rate * speed) + 256
    if not pitched:
        body = extend_texture(body, wanted, sample_rate, seed=seed)
    source_frames = min(len(body), wanted)
    zone = soxr.resample(body[:source_frames], sample_rate * speed, sample_rate)
    if pitched:
        return zone
    fundamental_hz = float(midi_to_hz(centre))
    # Narrower bands for low notes: a band's phase wanders over ~1 / bandwidth seconds, and a
    # low note must stay the same over the ten-odd periods a listener (or pyin) needs.
    bandwidth_hz = float(np.clip(fundamental_hz / 150.0, 0.3, 3.0))
    resonated = harmonic_resonance(zone, sample_rate, fundamental_hz, bandwidth_hz=bandwidth_hz,
                                   tonal_weight=TONAL_WEIGHT)
    zone = zone[: len(resonated)]
    dry = zone * (np.sqrt(np.mean(resonated**2)) / (np.sqrt(np.mean(zone**2)) + 1e-12))
    t = np.arange(len(zone)) / sample_rate
    dry_gain = dry_mix + (ATTACK_DRY_MIX - dry_mix) * np.exp(-t / ATTACK_S)
    # The resonance swells in within 10 ms under the source's own attack (note onsets must
    # land on time), then carries the note.
    swell = np.minimum(1.0, t / 0.01)
    # The dry layer is declicked again at the zone's speed: a fast zone moves what the body's
    # pass left under its split up into the treble.
    mixed = _without_quiet_end(resonated * swell + dry_gain * _declick(dry, sample_rate),
                               sample_rate)
    # Levelled once more: what is left of the source's bursts after resonating would pulse at
    # 2-8 Hz on every held note, the very rate heard as a throb.
    return steady_sustain(mixed, sample_rate)


def _without_quiet_end(samples: np.ndarray, sample_rate: int, *, below_db: float = 12.0,
                       keep: float = 0.6) -> np.ndarray:
    """Cut a zone's fading end (more than `below_db` under its median level): levelled up to
    the body's level, its noise crackled inside the loop that ends there."""
    hop = max(1, int(0.01 * sample_rate))
    frames = len(samples) // hop
    if frames < 10:
        return samples
    rms = np.sqrt(np.mean(samples[: frames * hop].reshape(frames, hop) ** 2, axis=1))
    smooth = np.convolve(rms, np.ones(5) / 5, mode="same")
    loud = np.flatnonzero(smooth >= np.median(smooth) * 10 ** (-below_db / 20))
    stop = (int(loud[-1]) + 1) * hop if loud.size else len(samples)
    return samples[:max(stop, int(keep * len(samples)))]


def _declick(samples: np.ndarray, sample_rate: int, *, ratio: float = 2.0,
             split_hz: float = 800.0) -> np.ndarray:
    """Tame isolated clicks (a droplet, a knock, a crackle) in the dry layer: a click inside a
    sustain loop ticks at the loop rate on every held note. Clicks live in the treble, where a
    tone has little, so the band above `split_hz` is taken apart (zero-phase, so a click's
    ringing stays within the frames found) and its 2 ms frames louder than
    `ratio` times their local median (over 100 ms) are brought down to it, smoothly."""
    hop = max(1, int(0.002 * sample_rate))
    frames = len(samples) // hop
    if frames < 60 or split_hz >= sample_rate / 2:
        return samples
    sos = signal.butter(4, split_hz, "highpass", fs=sample_rate, output="sos")
    high = signal.sosfiltfilt(sos, samples)
    rms = np.sqrt(np.mean(high[: frames * hop].reshape(frames, hop) ** 2, axis=1)) + 1e-12
    local = ndimage.median_filter(rms, size=51, mode="nearest")
    gain = np.minimum(1.0, ratio * local / rms)
    gain = ndimage.minimum_filter1d(gain, 5)  # so the smoothing below keeps the dip
    gain = np.convolve(np.pad(gain, 2, mode="edge"), np.ones(5) / 5, mode="valid")
    per_sample = np.interp(np.arange(len(samples)), np.arange(frames) * hop + hop / 2, gain)
    return samples - high * (1.0 - per_sample)


def _softer(zone: np.ndarray, sample_rate: int, fundamental_hz: float) -> np.ndarray:
    """The soft velocity layer: the zone darker (low-passed near its 6th harmonic, at least
    700 Hz) at the same loudness. The samples before the loop's start and end already match
    (crossfaded), so the filter's memory is the same at the wrap and the loop stays seamless."""
    cutoff_hz = min(max(6.0 * fundamental_hz, 700.0), 0.45 * sample_rate)
    sos = signal.butter(2, cutoff_hz, "lowpass", fs=sample_rate, output="sos")
    soft = signal.sosfilt(sos, zone)
    return soft * (np.sqrt(np.mean(zone**2)) / (np.sqrt(np.mean(soft**2)) + 1e-12))


def _transients(voice: np.ndarray, sample_rate: int, count: int) -> list[np.ndarray]:
    """`count` short hits cut from the voice's strongest onsets (different ones when it has
    them, different places of one attack otherwise), each with a quick decay."""
    from services.render.instruments.drums import detect_onsets

    length = int(TRANSIENT_S * sample_rate)
    onsets = (detect_onsets(voice, sample_rate) * sample_rate).astype(int)
    onsets = onsets[onsets + length <= len(voice)]
    if onsets.size == 0:
        onsets = np.array([0])
    strength = [float(np.sum(voice[o:o + length // 4] ** 2)) for o in onsets]
    chosen = [int(onsets[i]) for i in np.argsort(strength)[::-1][:count]]
    while len(chosen) < count:  # few onsets: later starts into the strongest one
        chosen.append(min(len(voice) - length, chosen[0] + len(chosen) * length // 8))
    t = np.arange(length) / sample_rate
    shape = np.exp(-t / TRANSIENT_DECAY_S) * np.minimum(1.0, t / 0.0005)
    # The noisy, bright part of the onset (the body carries the pitch): a scrape, a tap, a
    # splash of the source's own.
    treble = signal.sosfiltfilt(signal.butter(2, TRANSIENT_HIGHPASS_HZ, "highpass",
                                              fs=sample_rate, output="sos"), voice)
    hits = []
    for start in chosen:
        hit = np.asarray(treble[max(0, start):max(0, start) + length], dtype=np.float64)
        hit = np.pad(hit, (0, length - len(hit))) * shape
        hits.append(0.8 * hit / (np.max(np.abs(hit)) + 1e-12))
    return hits


def _build_melodic(samples: np.ndarray, sample_rate: int, role: Role, out_dir: Path,
                   root_pitch: float | None) -> Path:
    profile = PROFILES[role]
    trimmed = trim(samples, sample_rate)
    percussive, fill, decay_db_per_s = source_character(trimmed, sample_rate)
    body = sounding_segment(trimmed, sample_rate)
    if np.sqrt(np.mean(body**2)) < 1e-5:  # silent input: tune a soft noise instead
        body = 0.1 * synthetic_excitation(len(body), sample_rate, seed=len(body))
        trimmed = body
    estimate = estimate_pitch(body, sample_rate, fmin_hz=float(midi_to_hz(profile.lowest_key - 3)),
                              fmax_hz=float(midi_to_hz(profile.highest_key + 3)))
    pitched = (estimate.voiced_fraction >= PITCHED_VOICED_FRACTION
               and estimate.clarity >= PITCHED_CLARITY)
    root = _choose_root(estimate, profile, root_pitch, pitched)
    # Clicks out of the body (the transient layer keeps the source's attacks).
    body = steady_sustain(fade_edges(_declick(body, sample_rate), sample_rate), sample_rate)
    body = fade_edges(body, sample_rate)
    body *= 0.8 / (np.max(np.abs(body)) + 1e-12)
    envelope = choose_envelope(role, percussive)
    log.info("%s: root %.2f (%s, voiced %.0f%%, clarity %.2f), %s", role.value, root,
             "pitched" if pitched else "resonated", 100 * estimate.voiced_fraction,
             estimate.clarity, envelope.kind)

    centres = list(range(profile.lowest_key + profile.zone_step // 2, profile.highest_key + 1,
                         profile.zone_step))
    tail_frames = int((envelope.release_s + 0.1) * sample_rate)
    regions: list[Region] = []
    written: dict[str, tuple[np.ndarray, int]] = {}
    loop_lengths_s: list[float] = []
    for index, centre in enumerate(centres):
        zone = _zone_sample(body, sample_rate, root=root, centre=centre, pitched=pitched,
                            dry_mix=dry_mix_for(estimate.clarity),
                            length_s=profile.zone_length_s, seed=centre)
        period = sample_rate / float(midi_to_hz(centre))
        # A loop shorter than half a second repeats at 2 Hz or faster, which ears hear as a
        # throb; only a short (pitched, high) zone gets a proportionally shorter one.
        zone_s = len(zone) / sample_rate
        crossfade_s = min(0.08, zone_s / 10)
        loop = find_sustain_loop(zone, sample_rate, period_frames=period,
                                 earliest_start=int(min(0.25, zone_s / 4) * sample_rate),
                                 min_length_s=min(0.7, zone_s / 2.5), max_length_s=1.5,
                                 crossfade_s=crossfade_s)
        if loop is not None:
            zone = crossfade_loop(zone, loop, sample_rate, tail_frames=tail_frames,
                                  crossfade_s=crossfade_s)
            loop_lengths_s.append((loop.end - loop.start) / sample_rate)
        zone = fade_edges(zone, sample_rate, fade_in_s=0.0, fade_out_s=0.005)
        zone *= 0.8 / (np.max(np.abs(zone)) + 1e-12)  # every zone at the same peak level
        low = 0 if index == 0 else centre - profile.zone_step // 2
        high = 127 if index == len(centres) - 1 else centre + (profile.zone_step - 1) // 2
        for layer, (lovel, hivel) in enumerate(VELOCITY_LAYERS):
            audio = zone if layer == len(VELOCITY_LAYERS) - 1 else _softer(
                zone, sample_rate, float(midi_to_hz(centre)))
            name = f"{role.value}_{centre:03d}_v{layer + 1}.wav"
            written[name] = (audio.astype(np.float32), sample_rate)
            regions.append(Region(
                sample=name, lokey=low, hikey=high, lovel=lovel, hivel=hivel,
                pitch_keycenter=float(centre), loop_mode="loop_sustain" if loop else "no_loop",
                loop_start=loop.start if loop else None,
                loop_end=loop.end - 1 if loop else None,
                ampeg_attack=envelope.attack_s, ampeg_decay=envelope.decay_s,
                ampeg_sustain=envelope.sustain_percent, ampeg_release=envelope.release_s,
                amp_veltrack=profile.amp_veltrack))
    regions += _transient_regions(trimmed, sample_rate, role, root, written)
    for name, (audio, rate) in written.items():
        sf.write(out_dir / "samples" / name, audio, rate, subtype=SAMPLE_SUBTYPE)
    shared = Region(sample="", volume=MELODIC_VOLUME_DB, ampeg_attack=envelope.attack_s,
                    ampeg_decay=envelope.decay_s, ampeg_sustain=envelope.sustain_percent,
                    ampeg_release=envelope.release_s, amp_veltrack=profile.amp_veltrack)
    for region in regions:
        region.volume += MELODIC_VOLUME_DB
    sfz_path = write_sfz(
        out_dir / f"{role.value}.sfz", regions, global_opcodes=shared,
        comment=(f"imagewave {role.value}: {len(centres)} zones, root {root:.2f} "
                 f"({'pitched source' if pitched else 'resonated source'}), "
                 f"{envelope.kind} envelope, {ROUND_ROBIN} round-robin transients"))
    write_sf2_from_sfz(sfz_path, out_dir / f"{role.value}.sf2", name=f"imagewave {role.value}",
                       bank=0, programs=[0], samples=written)
    card = InstrumentCard(
        role=role, root_pitch=round(root, 3),
        source=SourceCharacter(percussive=percussive, fill=round(fill, 3),
                               decay_db_per_s=round(decay_db_per_s, 1), pitched=pitched,
                               voiced_fraction=round(estimate.voiced_fraction, 3),
                               clarity=round(float(np.clip(estimate.clarity, 0, 1)), 3)),
        envelope=envelope, zones=len(centres), round_robin=ROUND_ROBIN,
        velocity=(f"{len(VELOCITY_LAYERS)} body layers (soft darker, split at velocity "
                  f"{VELOCITY_LAYERS[-1][0]}), amp_veltrack {profile.amp_veltrack:g}; source "
                  "transients amp_veltrack 100: louder notes are brighter and noisier"),
        loop_s_min=round(min(loop_lengths_s), 3) if loop_lengths_s else None,
        loop_s_median=round(float(np.median(loop_lengths_s)), 3) if loop_lengths_s else None,
        volume_db=MELODIC_VOLUME_DB)
    (out_dir / f"{role.value}.json").write_text(card.model_dump_json(indent=2) + "\n")
    return sfz_path


def _transient_regions(voice: np.ndarray, sample_rate: int, role: Role, root: float,
                       written: dict[str, tuple[np.ndarray, int]]) -> list[Region]:
    """The round-robin transient layer: per octave of the role's range, ROUND_ROBIN hits from
    the source resampled to the octave's centre (so they move with the key like the body)."""
    profile = PROFILES[role]
    hits = _transients(voice, sample_rate, ROUND_ROBIN)
    regions = []
    lows = list(range(profile.lowest_key, profile.highest_key + 1, TRANSIENT_KEYS))
    for index, low in enumerate(lows):
        high = min(profile.highest_key, low + TRANSIENT_KEYS - 1)
        centre = (low + high) // 2
        speed = 2.0 ** ((centre - root) / 12.0)
        for position, hit in enumerate(hits, start=1):
            audio = soxr.resample(hit, sample_rate * speed, sample_rate)
            audio = fade_edges(audio, sample_rate, fade_in_s=0.0, fade_out_s=0.005)
            name = f"{role.value}_hit_{centre:03d}_{position}.wav"
            written[name] = (audio.astype(np.float32), sample_rate)
            regions.append(Region(
                sample=name, lokey=0 if index == 0 else low,
                hikey=127 if index == len(lows) - 1 else high, pitch_keycenter=float(centre),
                volume=TRANSIENT_VOLUME_DB, loop_mode="one_shot", ampeg_release=0.05,
                amp_veltrack=100.0, seq_length=ROUND_ROBIN, seq_position=position))
    return regions


def gm_set_font(sf2_by_role: dict[Role, bytes]) -> bytes:
    """The whole set in one GM-mapped SF2 (keyboard on programs 0-7, guitar 24-31, bass 32-39,
    drums bank 128 program 0), merged from each instrument's own font, for a General MIDI file
    played on one synth. Each instrument's own SF2 keeps its sound at bank 0 / program 0."""
    fonts = []
    for role in (Role.keyboard, Role.guitar, Role.bass, Role.drums):
        if role in sf2_by_role:
            bank, programs = (128, (0,)) if role is Role.drums else (
                0, tuple(PROFILES[role].gm_programs))
            fonts.append(FontPresets(sf2_by_role[role], f"imagewave {role.value}", bank,
                                     programs))
    return merge_sf2(fonts, name="imagewave set (GM)")
