"""The dsp timbre engine: each voice keeps the effect's envelope, sits at its stated root, and
the three voices are measurably different instruments."""

from __future__ import annotations

import numpy as np
import pytest

from imagewave.analysis import envelope_correlation, harmonicity, spectral_centroid_hz
from imagewave.contracts.audio import AudioPayload
from imagewave.contracts.scene import Role, Scene, SoundSource
from imagewave.contracts.stages import TimbreRequest
from imagewave.errors import InvalidInput
from services.t2a.engines.procedural import ProceduralSfxEngine
from services.timbre.engines.dsp import DspTimbreEngine
from services.timbre.serving import TimbreServing
from services.timbre.settings import TimbreSettings

SR = 48_000
MELODIC = (Role.keyboard, Role.bass, Role.guitar)

# Effects of every kind the sfx stage makes: hits, textures, voices, machines, beds.
EFFECT_SOURCES = [
    ("oak table", "wood", "knuckles knocking"),
    ("metal barricades", "steel", "light rattle"),
    ("brook", "water", "water flowing over rocks"),
    ("leaking tap", "water", "dripping"),
    ("wind", "air", "wind blowing"),
    ("palm trees", "fronds", "breeze rustling fronds"),
    ("dog", "", "barking"),
    ("cat", "fur", "purring"),
    ("car", "metal", "engine idling"),
    ("crowd", "people", "people chatting"),
    ("pedestrian", "", "footsteps on pavement"),
    ("cathedral bell tower", "metal bells", "hourly bell chime"),
]


@pytest.fixture(scope="module")
def effects() -> dict[str, np.ndarray]:
    sources = [SoundSource(name=n, material=m, variants=[{"play_method": p}])
               for n, m, p in EFFECT_SOURCES]
    scene = Scene(scene_description="test", mood_description="test", sound_sources=sources)
    rendered = ProceduralSfxEngine().generate(scene, audio_length_in_s=3.0, sample_rate=SR,
                                              seed=11)
    return {sources[e.source_index].name: e.samples for e in rendered}


@pytest.fixture(scope="module")
def voices(effects) -> dict[tuple[str, Role], tuple[np.ndarray, float]]:
    engine = DspTimbreEngine.from_settings(TimbreSettings())
    out = {}
    for name, samples in effects.items():
        for role in MELODIC:
            result = engine.transfer(samples, SR, role)
            assert result.sample_rate == SR
            out[name, role] = (result.samples, result.root_pitch)
    return out


def test_every_voice_keeps_the_effect_envelope(effects, voices) -> None:
    correlations = {(name, role.value): envelope_correlation(effects[name], samples, SR)
                    for (name, role), (samples, _) in voices.items()}
    weak = {key: round(c, 3) for key, c in correlations.items() if c < 0.8}
    assert not weak


def test_voices_have_the_effect_length_and_a_sane_level(effects, voices) -> None:
    for (name, role), (samples, _) in voices.items():
        assert samples.dtype == np.float32 and len(samples) == len(effects[name]), (name, role)
        assert np.all(np.isfinite(samples))
        assert 0.5 < np.max(np.abs(samples)) <= 1.0, (name, role)


def test_the_three_voices_are_different_instruments(voices) -> None:
    """Per effect: bass darkest, guitar brightest (centroid); keyboard most harmonic."""
    for name, _, _ in EFFECT_SOURCES:
        centroid = {role: spectral_centroid_hz(voices[name, role][0], SR) for role in MELODIC}
        periodic = {role: harmonicity(voices[name, role][0], SR) for role in MELODIC}
        assert centroid[Role.bass] * 1.3 < centroid[Role.keyboard], (name, centroid)
        assert centroid[Role.keyboard] * 1.3 < centroid[Role.guitar], (name, centroid)
        assert periodic[Role.keyboard] > periodic[Role.bass] + 0.05, (name, periodic)
        assert periodic[Role.keyboard] > periodic[Role.guitar] + 0.02, (name, periodic)


def _measured_pitch(samples: np.ndarray, near_pitch: float) -> float:
    """The f0 (as MIDI) within ±6 semitones of `near_pitch` whose first five harmonics gather
    the most spectral magnitude."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    bin_hz = SR / len(samples)
    candidates = near_pitch + np.arange(-600, 601, 2) / 100
    frequencies = 440.0 * 2 ** ((candidates - 69) / 12)
    scores = [sum(spectrum[int(round(k * f / bin_hz))] for k in range(1, 6)) for f in frequencies]
    return float(candidates[int(np.argmax(scores))])


@pytest.mark.parametrize("role", MELODIC)
def test_voice_sounds_at_its_stated_root(voices, role: Role) -> None:
    for name in ("brook", "wind", "crowd"):
        samples, root = voices[name, role]
        assert abs(_measured_pitch(samples, root) - root) < 0.25, (name, role, root)


def test_roots_are_in_each_instruments_register(voices) -> None:
    roots = {role: voices["brook", role][1] for role in MELODIC}
    assert 30 <= roots[Role.bass] <= 43
    assert 48 <= roots[Role.guitar] <= 64
    assert 55 <= roots[Role.keyboard] <= 72


def test_deterministic(effects) -> None:
    engine = DspTimbreEngine()
    first = engine.transfer(effects["dog"], SR, Role.guitar).samples
    np.testing.assert_array_equal(first, engine.transfer(effects["dog"], SR, Role.guitar).samples)


def test_other_sample_rates() -> None:
    rng = np.random.default_rng(0)
    effect = rng.standard_normal(16_000) * np.exp(-np.arange(16_000) / 4000)
    for role in MELODIC:
        result = DspTimbreEngine().transfer(effect, 16_000, role)
        assert result.sample_rate == 16_000 and len(result.samples) == 16_000
        assert envelope_correlation(effect, result.samples, 16_000) > 0.8


@pytest.mark.parametrize(("samples", "instrument", "field"), [
    (np.zeros(48_000), Role.drums, "instrument"),
    (np.full(48_000, np.nan), Role.bass, "audio"),
    (np.zeros(100), Role.bass, "audio"),
])
def test_bad_input_is_named(samples: np.ndarray, instrument: Role, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        DspTimbreEngine().transfer(samples, SR, instrument)
    assert error.value.field == field


def test_silence_stays_silent() -> None:
    result = DspTimbreEngine().transfer(np.zeros(SR), SR, Role.keyboard)
    assert np.max(np.abs(result.samples)) == 0.0


def test_serving_round_trip(effects) -> None:
    serving = TimbreServing(TimbreSettings())
    request = TimbreRequest(audio=AudioPayload.from_array(effects["brook"], SR),
                            instrument=Role.bass)
    response = serving.transfer(request)
    assert response.engine.value == "dsp" and response.root_pitch is not None
    voice = response.audio.to_array()
    assert len(voice) == len(effects["brook"])
    assert envelope_correlation(effects["brook"], voice, SR) > 0.8
    with pytest.raises(InvalidInput):
        serving.transfer(TimbreRequest(audio=request.audio, instrument=Role.drums))


def test_keyboard_takes_the_effects_colour(effects) -> None:
    """A bright effect makes a brighter keyboard than a dark one (spectral envelope transfer),
    while both stay at the same root."""
    engine = DspTimbreEngine()
    bright = engine.transfer(effects["palm trees"], SR, Role.keyboard)
    dark = engine.transfer(effects["car"], SR, Role.keyboard)
    assert spectral_centroid_hz(effects["palm trees"], SR) > 2 * spectral_centroid_hz(
        effects["car"], SR)
    assert spectral_centroid_hz(bright.samples, SR) > 1.2 * spectral_centroid_hz(dark.samples, SR)
    assert bright.root_pitch == dark.root_pitch


@pytest.mark.parametrize("sample_rate", [16_000, 96_000])
def test_steady_effects_give_steady_voices(sample_rate: int) -> None:
    """A steady hiss has no envelope shape; its voices must stay steady too (within ±0.4 dB),
    and a slowly swelling one must swell with it."""
    rng = np.random.default_rng(9)
    t = np.arange(2 * sample_rate) / sample_rate
    hiss = rng.standard_normal(len(t)) * 0.3
    swelling = hiss * (0.2 + np.sin(np.pi * t / 2.0) ** 2)
    for role in MELODIC:
        steady = DspTimbreEngine().transfer(hiss, sample_rate, role).samples
        assert envelope_correlation(hiss, steady, sample_rate) == 1.0, role
        swell = DspTimbreEngine().transfer(swelling, sample_rate, role).samples
        assert envelope_correlation(swelling, swell, sample_rate) > 0.95, role
