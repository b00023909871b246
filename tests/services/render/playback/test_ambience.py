"""The picture in the song: the ambience bed and the effect events, rendered with real
instruments and measured on the stems and the mix."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest
import soundfile as sf
from scipy import signal

from imagewave.analysis import own_match_ranks, spectral_profile
from imagewave.contracts.scene import Role
from services.render.playback.ambience import fallback_cues, seamless_loop, spaced_cues
from services.render.playback.sampler import render_song

RATE = 48_000


def hiss(seconds: float, seed: int) -> np.ndarray:
    """A bright, steady effect (rain, spray): noise above 3 kHz."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(int(seconds * RATE))
    return (0.2 * signal.sosfilt(signal.butter(4, 3000, "highpass", fs=RATE, output="sos"),
                                 noise)).astype(np.float32)


def rumble(seconds: float, seed: int) -> np.ndarray:
    """A dark effect (surf, traffic): noise below 800 Hz."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(int(seconds * RATE))
    return (0.3 * signal.sosfilt(signal.butter(4, 800, "lowpass", fs=RATE, output="sos"),
                                 noise)).astype(np.float32)


def chime(seconds: float) -> np.ndarray:
    """A call: a decaying 2.2 kHz tone burst in the middle of silence (an event to find)."""
    out = np.zeros(int(seconds * RATE), np.float32)
    t = np.arange(int(0.6 * RATE)) / RATE
    start = int(1.0 * RATE)
    out[start:start + len(t)] = 0.5 * np.sin(2 * np.pi * 2200 * t) * np.exp(-5 * t)
    return out


def band_song(seconds: float, music_until_s: float | None = None) -> pretty_midi.PrettyMIDI:
    """Chords every beat and a kick, at 120 bpm (music stops at `music_until_s`)."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    keys = pretty_midi.Instrument(program=0, name="chords")
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    stop = music_until_s if music_until_s is not None else seconds
    for beat in np.arange(0, stop, 0.5):
        for pitch in (60, 64, 67):
            keys.notes.append(pretty_midi.Note(velocity=90, pitch=pitch, start=beat,
                                               end=beat + 0.45))
        drums.notes.append(pretty_midi.Note(velocity=100, pitch=36, start=beat, end=beat + 0.1))
    # A quiet note at the very end keeps the song `seconds` long.
    keys.notes.append(pretty_midi.Note(velocity=1, pitch=60, start=seconds - 0.2, end=seconds))
    midi.instruments += [keys, drums]
    return midi


def render(midi, instruments, tmp_path, **kwargs):
    return render_song(midi, {Role.keyboard: instruments[Role.keyboard],
                              Role.drums: instruments[Role.drums]}, role_overrides={},
                       sample_rate=RATE, target_lufs=-14.0, true_peak_dbtp=-1.0,
                       stems_dir=tmp_path, **kwargs)


def rms_db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.asarray(x, np.float64) ** 2) + 1e-20)


def test_the_bed_is_ducked_by_the_music_and_fades_with_the_song(instruments, tmp_path):
    song = render(band_song(16.0, music_until_s=8.0), instruments, tmp_path,
                  effects=[rumble(4.0, 1), hiss(3.0, 2)])
    bed, rate = sf.read(song.stems["ambience"], dtype="float32")
    assert rate == RATE and bed.shape == song.mix.shape
    with_music = rms_db(bed[int(3 * RATE):int(7 * RATE)])
    alone = rms_db(bed[int(9.5 * RATE):int(13 * RATE)])
    assert alone - with_music > 4.0, (alone, with_music)  # steps back while the band plays
    assert rms_db(bed[: int(0.1 * RATE)]) < alone - 10  # fades in
    assert rms_db(bed[-int(0.2 * RATE):]) < alone - 10  # and out


def test_events_play_on_the_cues(instruments, tmp_path):
    cues = [4.0, 10.0]
    song = render(band_song(14.0), instruments, tmp_path, effects=[chime(3.0)], cues_s=cues)
    lane, _ = sf.read(song.stems["effects"], dtype="float32")
    hop = int(0.005 * RATE)
    usable = len(lane) // hop * hop
    envelope = np.abs(lane[:usable]).max(axis=1).reshape(-1, hop).max(axis=1)
    loud = envelope > 0.2 * envelope.max()
    onsets = np.flatnonzero(loud[1:] & ~loud[:-1]) * hop / RATE
    assert len(onsets) >= len(cues)
    for cue in cues:  # the excerpt starts at the chime's attack: on the cue, within 20 ms
        assert np.min(np.abs(onsets - cue)) < 0.02, (cue, onsets)
    quiet = envelope[int(6 * RATE / hop):int(9.5 * RATE / hop)]
    assert quiet.max() < 1e-3  # nothing between the cues


def test_a_mix_sounds_like_its_own_effects(instruments, tmp_path):
    """The same song over a bright and over a dark picture: each mix's spectrum is closer to
    its own effects than to the other's."""
    midi = band_song(12.0)
    pictures = [[hiss(4.0, 3)], [rumble(4.0, 4)]]
    mixes = []
    for index, effects in enumerate(pictures):
        song = render(midi, instruments, tmp_path / str(index), effects=effects)
        mixes.append(spectral_profile(song.mix, RATE))
    effect_profiles = [spectral_profile(np.concatenate(e), RATE) for e in pictures]
    assert own_match_ranks(mixes, effect_profiles) == [1, 1]


def test_seamless_loop_has_no_seam():
    effect = rumble(3.0, 5)
    loop = seamless_loop(effect, RATE)
    steps = np.abs(np.diff(np.concatenate([loop, loop[:10]])))
    seam = steps[len(loop) - 5:len(loop) + 5].max()
    assert seam < 6 * np.percentile(steps, 99.9)


@pytest.mark.parametrize(("bars", "every"), [(12, 4), (32, 8)])
def test_fallback_cues_fall_on_bar_lines(bars, every):
    downbeats = np.arange(bars) * 2.0
    cues = fallback_cues(downbeats, bars * 2.0)
    assert cues == [float(t) for t in downbeats[every::every] if t < bars * 2.0 - 2.0]
    assert spaced_cues([5.0, 1.0, 2.0, 30.0, 9.0], 20.0) == [1.0, 5.0, 9.0]
