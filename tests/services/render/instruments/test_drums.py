"""A drum kit from one sound: distinct GM pieces made from the source's own hits."""

from __future__ import annotations

import shutil
import subprocess
import time

import numpy as np
import pytest
import soundfile as sf

from imagewave.contracts.scene import Role
from services.render.instruments.drums import detect_onsets
from services.render.instruments.sfz import read_sfz
from services.render.playback.sampler import render_song
from tests.services.render.conftest import SOURCE_RATE, knocks, midi_bytes, single_notes_midi

RATE = 48_000
KICK, SNARE, CLOSED_HAT = 36, 38, 42


def spectrum_of(audio: np.ndarray) -> np.ndarray:
    """Log-magnitude spectrum in 64 bands up to 16 kHz (for comparing hits)."""
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    magnitude = np.abs(np.fft.rfft(mono[: RATE // 2], RATE // 2))
    frequencies = np.fft.rfftfreq(RATE // 2, 1 / RATE)
    edges = np.geomspace(30, 16_000, 65)
    bands = [magnitude[(frequencies >= lo) & (frequencies < hi)].mean()
             for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return np.log10(np.asarray(bands) + 1e-9)


def centroid(audio: np.ndarray) -> float:
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    magnitude = np.abs(np.fft.rfft(mono))
    frequencies = np.fft.rfftfreq(len(mono), 1 / RATE)
    return float((magnitude * frequencies).sum() / magnitude.sum())


def test_onsets_found_in_the_source():
    source = knocks()
    onsets = detect_onsets(source.astype(np.float64), SOURCE_RATE)
    assert len(onsets) >= 5  # the source has ten knocks, some close together


def test_kit_maps_gm_keys_to_different_samples(instruments):
    kit = read_sfz(instruments[Role.drums])
    by_key = {k: r for r in kit.regions for k in range(r.lokey, r.hikey + 1)}
    for key in (35, 36, 38, 40, 42, 44, 46, 49, 51, 41, 45, 48):
        assert key in by_key, key
    assert len({by_key[k].sample for k in (KICK, SNARE, CLOSED_HAT, 46, 49, 51, 45)}) == 7
    assert all(r.loop_mode == "one_shot" for r in kit.regions)
    # Hats choke each other (an open hat is cut by the next closed one).
    assert by_key[CLOSED_HAT].group == by_key[46].group == by_key[46].off_by != 0


def _render_keys(instruments, keys):
    spacing_s = 1.0
    midi = single_notes_midi([(k, i * spacing_s, i * spacing_s + 0.1)
                              for i, k in enumerate(keys)], is_drum=True)
    song = render_song(midi, {Role.drums: instruments[Role.drums]}, role_overrides={},
                       sample_rate=RATE, target_lufs=-14.0, true_peak_dbtp=-1.0, audition=True)
    return [song.mix[int(i * spacing_s * RATE):int((i + 1) * spacing_s * RATE)]
            for i in range(len(keys))]


def test_kick_snare_and_hat_sound_different(instruments):
    kick, snare, hat = _render_keys(instruments, [KICK, SNARE, CLOSED_HAT])
    for hit in (kick, snare, hat):
        assert np.abs(hit).max() > 0.05
    assert centroid(kick) < centroid(snare) < centroid(hat)
    spectra = [spectrum_of(hit) for hit in (kick, snare, hat)]
    for i in range(3):
        for j in range(i + 1, 3):
            # Mean log-spectral distance of at least 0.3 decades (6 dB) between any two pieces.
            assert np.mean(np.abs(spectra[i] - spectra[j])) > 0.3, (i, j)


def test_drum_sfz_plays_in_sfizz(instruments):
    import pysfizz

    synth = pysfizz.Synth(sample_rate=RATE)
    assert synth.load_sfz_file(str(instruments[Role.drums]))
    for key in (KICK, SNARE, CLOSED_HAT):  # sfizz loads sample bodies on first use
        synth.render_note(key, 100, 0.1, 0.2)
    time.sleep(0.5)
    hits = [synth.render_note(key, 100, 0.1, 0.5).T for key in (KICK, SNARE, CLOSED_HAT)]
    assert all(np.abs(hit).max() > 1e-3 for hit in hits)
    assert centroid(hits[0]) < centroid(hits[1]) < centroid(hits[2])


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="Debian fluidsynth not installed")
def test_drum_sf2_plays_on_channel_10_in_fluidsynth(instruments, tmp_path):
    midi = single_notes_midi([(KICK, 0.0, 0.1), (CLOSED_HAT, 0.6, 0.7)], is_drum=True)
    (tmp_path / "drums.mid").write_bytes(midi_bytes(midi))
    out = tmp_path / "drums.wav"
    subprocess.run(["fluidsynth", "-ni", "-R", "0", "-C", "0", "-F", str(out), "-r", str(RATE),
                    str(instruments[Role.drums].with_suffix(".sf2")), str(tmp_path / "drums.mid")],
                   check=True, capture_output=True, timeout=60)
    audio, _ = sf.read(out)
    kick, hat = audio[: int(0.5 * RATE)], audio[int(0.6 * RATE):int(1.1 * RATE)]
    assert np.abs(kick).max() > 1e-3 and np.abs(hat).max() > 1e-3
    assert centroid(kick) < centroid(hat)


def test_silent_source_still_builds_a_kit(tmp_path):
    from services.render.instruments.build import build_instrument

    sfz_path = build_instrument(np.zeros(SOURCE_RATE, np.float32), SOURCE_RATE, Role.drums,
                                tmp_path)
    assert len(read_sfz(sfz_path).regions) > 20


def piece(instruments, name: str) -> np.ndarray:
    audio, rate = sf.read(instruments[Role.drums].parent / "samples" / f"drums_{name}.wav")
    assert rate == RATE
    return audio


def share_above(audio: np.ndarray, frequency_hz: float) -> float:
    power = np.abs(np.fft.rfft(audio)) ** 2
    return float(power[np.fft.rfftfreq(len(audio), 1 / RATE) >= frequency_hz].sum() / power.sum())


def seconds_to_fall(audio: np.ndarray, drop_db: float) -> float:
    hop = RATE // 100
    frames = len(audio) // hop
    level = 20 * np.log10(np.sqrt((audio[: frames * hop].reshape(frames, hop) ** 2).mean(axis=1))
                          + 1e-9)
    peak = int(np.argmax(level))
    below = np.flatnonzero(level[peak:] < level[peak] - drop_db)
    return (below[0] if below.size else frames - peak) / 100


def test_cymbals_ring_and_sit_in_the_treble(instruments):
    """Built from knocks that are over in a fraction of a second, the crash still rings about a
    second, the open hat half that, the closed hat is short, and all live above 6 kHz."""
    assert seconds_to_fall(piece(instruments, "crash"), 20) >= 0.8
    assert seconds_to_fall(piece(instruments, "ride"), 20) >= 0.6
    assert 0.25 <= seconds_to_fall(piece(instruments, "open_hat"), 20) <= 0.9
    assert seconds_to_fall(piece(instruments, "closed_hat"), 20) <= 0.15
    for name in ("closed_hat", "open_hat", "crash", "ride"):
        assert share_above(piece(instruments, name), 6000.0) >= 0.5, name
    assert share_above(piece(instruments, "kick"), 200.0) < 0.5
    assert 0.2 < share_above(piece(instruments, "snare"), 1000.0) < 0.95


def test_no_piece_is_a_pure_tone(instruments):
    """Snare, hats and cymbals are noise-like: no 10 Hz band holds a tenth of their energy
    (the old ride held a 3150 Hz sine)."""
    for name in ("snare", "closed_hat", "open_hat", "crash", "ride", "clap"):
        audio = piece(instruments, name)
        power = np.abs(np.fft.rfft(audio)) ** 2
        band = max(1, int(round(10 * len(audio) / RATE)))  # bins per 10 Hz
        strongest = np.convolve(power, np.ones(band), mode="same").max()
        assert strongest / power.sum() < 0.1, name
