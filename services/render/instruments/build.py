"""Instrument builder: one sound → a playable, in-tune SFZ + SF2 instrument for a role.

Melodic roles get multi-sample zones every `zone_step` semitones over the role's range, each
resampled with soxr from one trimmed, steady source, with a crossfaded sustain loop
(`loop_sustain`: loops while the key is held, then plays on through the release, the same in
sfizz, FluidSynth's SF2 sample mode 3 and our sampler), and an amplitude envelope and velocity
response per role. The sample comes from the source's strongest gap-free stretch. Unless the
source is cleanly periodic, each zone is given its exact pitch by a harmonic resonator
(resonator.py) with some of the source kept on top, so every key plays in tune
whatever came in: wind, rain, or the timbre stage's noisy plucks. Drums are built by
drums.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from imagewave.audio import SAMPLE_RATE, to_mono
from imagewave.contracts.scene import Role
from imagewave.errors import InvalidInput
from services.render.instruments.loops import crossfade_loop, find_sustain_loop
from services.render.instruments.pitch import PitchEstimate, estimate_pitch, midi_to_hz
from services.render.instruments.resonator import harmonic_resonance, synthetic_excitation
from services.render.instruments.sf2 import write_sf2_from_sfz
from services.render.instruments.sfz import Region, write_sfz

log = logging.getLogger(__name__)

SAMPLE_SUBTYPE = "PCM_24"
STAGE_DECAY_DB = 20 * np.log10(np.e**9)  # 78.2 dB: sfizz's exponential stages, exp(-9)


@dataclass(frozen=True)
class RoleProfile:
    """How one role plays: its key range, where its default root sits, its envelope."""

    lowest_key: int
    highest_key: int
    default_root: int
    gm_programs: range
    attack_s: float
    decay_s: float  # time to fall from the peak to the sustain level
    sustain_percent: float
    release_s: float
    amp_veltrack: float
    zone_step: int = 3
    zone_length_s: float = 1.5  # each zone's sample; the loop sustains longer notes


PROFILES: dict[Role, RoleProfile] = {
    Role.keyboard: RoleProfile(36, 96, 60, range(0, 8), attack_s=0.004, decay_s=1.6,
                               sustain_percent=35.0, release_s=0.35, amp_veltrack=90.0),
    Role.guitar: RoleProfile(40, 88, 52, range(24, 32), attack_s=0.002, decay_s=1.2,
                             sustain_percent=25.0, release_s=0.25, amp_veltrack=85.0),
    Role.bass: RoleProfile(28, 64, 40, range(32, 40), attack_s=0.004, decay_s=0.9,
                           sustain_percent=55.0, release_s=0.15, amp_veltrack=75.0),
}

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
PITCHED_DRY_MIX = 0.35  # for sources that are periodic but noisy (clarity 0.9 and up)
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
        return samples  # no long enough stretch: keep the whole clip
    return samples[max(0, start * hop - hop):min(len(samples), stop * hop)]


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


def _zone_sample(body: np.ndarray, sample_rate: int, *, root: float, centre: int, pitched: bool,
                 length_s: float, dry_mix: float = DRY_MIX) -> np.ndarray:
    """The sample for the zone centred on `centre`: the body resampled (soxr) from `root`.

    A weakly pitched body is resampled the same way, so its texture moves with the key like a
    real multi-sampled instrument, and then given the zone's exact pitch by the harmonic
    resonator: resonating per zone keeps the bands a few hertz wide on every key, where
    resonating once at the root would widen them eightfold three octaves up and blur the pitch.
    """
    speed = 2.0 ** ((centre - root) / 12.0)  # > 1: the zone plays the body faster (higher)
    source_frames = min(len(body), int(length_s * sample_rate * speed) + 256)
    zone = soxr.resample(body[:source_frames], sample_rate * speed, sample_rate)
    if pitched:
        return zone
    fundamental_hz = float(midi_to_hz(centre))
    # Narrower bands for low notes: a band's phase wanders over ~1 / bandwidth seconds, and a
    # low note must stay the same over the ten-odd periods a listener (or pyin) needs.
    bandwidth_hz = float(np.clip(fundamental_hz / 150.0, 0.3, 3.0))
    resonated = harmonic_resonance(zone, sample_rate, fundamental_hz, bandwidth_hz=bandwidth_hz)
    zone = zone[: len(resonated)]
    dry = zone * (np.sqrt(np.mean(resonated**2)) / (np.sqrt(np.mean(zone**2)) + 1e-12))
    t = np.arange(len(zone)) / sample_rate
    dry_gain = dry_mix + (ATTACK_DRY_MIX - dry_mix) * np.exp(-t / ATTACK_S)
    # The resonance swells in within 10 ms under the source's own attack (note onsets must
    # land on time), then carries the note.
    swell = np.minimum(1.0, t / 0.01)
    return resonated * swell + dry_gain * dry


def _build_melodic(samples: np.ndarray, sample_rate: int, role: Role, out_dir: Path,
                   root_pitch: float | None) -> Path:
    profile = PROFILES[role]
    body = sounding_segment(trim(samples, sample_rate), sample_rate)
    if np.sqrt(np.mean(body**2)) < 1e-5:  # silent input: tune a soft noise instead
        body = 0.1 * synthetic_excitation(len(body), sample_rate, seed=len(body))
    estimate = estimate_pitch(body, sample_rate, fmin_hz=float(midi_to_hz(profile.lowest_key - 3)),
                              fmax_hz=float(midi_to_hz(profile.highest_key + 3)))
    pitched = (estimate.voiced_fraction >= PITCHED_VOICED_FRACTION
               and estimate.clarity >= PITCHED_CLARITY)
    root = _choose_root(estimate, profile, root_pitch, pitched)
    body = steady_sustain(fade_edges(body, sample_rate), sample_rate)
    body = fade_edges(body, sample_rate)
    body *= 0.8 / (np.max(np.abs(body)) + 1e-12)
    log.info("%s: root %.2f (%s, voiced %.0f%%, clarity %.2f)", role.value, root,
             "pitched" if pitched else "resonated", 100 * estimate.voiced_fraction,
             estimate.clarity)

    centres = list(range(profile.lowest_key + profile.zone_step // 2, profile.highest_key + 1,
                         profile.zone_step))
    tail_frames = int((profile.release_s + 0.1) * sample_rate)
    regions = []
    written: dict[str, tuple[np.ndarray, int]] = {}
    for index, centre in enumerate(centres):
        zone = _zone_sample(body, sample_rate, root=root, centre=centre, pitched=pitched,
                            dry_mix=dry_mix_for(estimate.clarity),
                            length_s=profile.zone_length_s)
        period = sample_rate / float(midi_to_hz(centre))
        # Short zones (a short source played three octaves up) get a proportionally early,
        # short loop rather than none: every key must sustain.
        zone_s = len(zone) / sample_rate
        loop = find_sustain_loop(zone, sample_rate, period_frames=period,
                                 earliest_start=int(min(0.12, zone_s / 3) * sample_rate),
                                 min_length_s=min(0.15, zone_s / 4),
                                 crossfade_s=min(0.03, zone_s / 10))
        if loop is not None:
            zone = crossfade_loop(zone, loop, sample_rate, tail_frames=tail_frames,
                                  crossfade_s=min(0.03, zone_s / 10))
        zone = fade_edges(zone, sample_rate, fade_in_s=0.0, fade_out_s=0.005)
        zone *= 0.8 / (np.max(np.abs(zone)) + 1e-12)  # every zone at the same peak level
        name = f"{role.value}_{centre:03d}.wav"
        written[name] = (zone.astype(np.float32), sample_rate)
        sf.write(out_dir / "samples" / name, written[name][0], sample_rate,
                 subtype=SAMPLE_SUBTYPE)
        low = 0 if index == 0 else centre - profile.zone_step // 2
        high = 127 if index == len(centres) - 1 else centre + (profile.zone_step - 1) // 2
        regions.append(Region(
            sample=name, lokey=low, hikey=high, pitch_keycenter=float(centre),
            loop_mode="loop_sustain" if loop else "no_loop",
            loop_start=loop.start if loop else None,
            loop_end=loop.end - 1 if loop else None))
    envelope = Region(sample="", ampeg_attack=profile.attack_s,
                      ampeg_decay=sfz_decay_time(profile.decay_s, profile.sustain_percent),
                      ampeg_sustain=profile.sustain_percent, ampeg_release=profile.release_s,
                      amp_veltrack=profile.amp_veltrack)
    for region in regions:
        for name in ("ampeg_attack", "ampeg_decay", "ampeg_sustain", "ampeg_release",
                     "amp_veltrack"):
            setattr(region, name, getattr(envelope, name))
    sfz_path = write_sfz(
        out_dir / f"{role.value}.sfz", regions, global_opcodes=envelope,
        comment=(f"imagewave {role.value}: {len(regions)} zones, root {root:.2f} "
                 f"({'pitched source' if pitched else 'resonated source'})"))
    write_sf2_from_sfz(sfz_path, out_dir / f"{role.value}.sf2", name=f"imagewave {role.value}",
                       bank=0, programs=list(profile.gm_programs), samples=written)
    return sfz_path
