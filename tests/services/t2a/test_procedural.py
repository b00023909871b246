"""The procedural sfx engine: right synthesiser per source, non-musical output, exact format,
deterministic, materials that sound different — measured on the audio it really makes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from imagewave.analysis import (
    NON_MUSICAL_TONALITY_MAX,
    spectral_centroid_hz,
    sustain,
    tonality,
)
from imagewave.contracts.audio import AudioPayload
from imagewave.contracts.scene import Scene, SoundSource
from imagewave.contracts.stages import SfxRequest
from imagewave.errors import InvalidInput
from services.t2a.engines.procedural import ProceduralSfxEngine, ambience_bed
from services.t2a.engines.procedural.examples import EXAMPLE_SOURCES
from services.t2a.engines.procedural.recipes import choose_recipe
from services.t2a.serving import T2aServing
from services.t2a.settings import T2aSettings
from tests.conftest import SEED_EXAMPLES

VARIED_SOURCES = EXAMPLE_SOURCES


def _source(name: str, material: str, play_method: str, timbre: list[str]) -> SoundSource:
    return SoundSource(name=name, material=material,
                       variants=[{"play_method": play_method, "timbre": timbre}])


def _scenes(sources: list[SoundSource]) -> list[Scene]:
    """Scenes of at most 16 sources (the contract's limit)."""
    return [Scene(scene_description="test scene", mood_description="neutral",
                  sound_sources=sources[i:i + 16]) for i in range(0, len(sources), 16)]


@pytest.fixture(scope="module")
def engine() -> ProceduralSfxEngine:
    return ProceduralSfxEngine.from_settings(T2aSettings())


@pytest.fixture(scope="module")
def varied_effects(engine: ProceduralSfxEngine) -> list[tuple[str, str, np.ndarray]]:
    sources = [_source(*row[:4]) for row in VARIED_SOURCES]
    rendered = []
    for scene in _scenes(sources):
        for effect in engine.generate(scene, audio_length_in_s=3.0, sample_rate=48_000, seed=7):
            rendered.append((scene.sound_sources[effect.source_index].name, effect.prompt,
                             effect.samples))
    return rendered


@pytest.mark.parametrize(("name", "material", "play_method", "timbre", "family", "word"),
                         VARIED_SOURCES, ids=[row[0] for row in VARIED_SOURCES])
def test_recipe_matches_the_source(name: str, material: str, play_method: str,
                                   timbre: list[str], family: str, word: str) -> None:
    source = _source(name, material, play_method, timbre)
    recipe = choose_recipe(source, source.variants[0])
    assert recipe.family == family, recipe.summary
    assert word in recipe.summary, recipe.summary


def test_every_varied_effect_is_non_musical(varied_effects) -> None:
    scores = {name: tonality(samples, 48_000) for name, _, samples in varied_effects}
    too_tonal = {name: round(s, 3) for name, s in scores.items() if s >= NON_MUSICAL_TONALITY_MAX}
    assert not too_tonal
    assert len(scores) == len(VARIED_SOURCES)


def test_recipes_are_non_musical_without_the_masking_guard(varied_effects) -> None:
    """The guard that raises a noise bed under a too-tonal effect is a safety net, not the
    design: at most one example in twenty may need it."""
    masked = [name for name, prompt, _ in varied_effects if "noise bed raised" in prompt]
    assert len(masked) <= len(varied_effects) // 20, masked


def test_effects_have_the_requested_format(varied_effects) -> None:
    for name, prompt, samples in varied_effects:
        assert samples.dtype == np.float32 and samples.ndim == 1, name
        assert len(samples) == 3 * 48_000, name
        assert np.all(np.isfinite(samples)), name
        peak = np.max(np.abs(samples))
        assert 0.1 < peak <= 1.0, (name, peak)
        assert prompt.startswith(name + ":") and "→" in prompt, prompt


@pytest.mark.parametrize(("audio_length_in_s", "sample_rate"),
                         [(1.337, 22_050), (0.3, 8_000), (6.0, 44_100)])
def test_exact_length_at_any_rate(engine: ProceduralSfxEngine, audio_length_in_s: float,
                                  sample_rate: int) -> None:
    scene = _scenes([_source("rain", "water", "rain on leaves", []),
                     _source("dog", "", "barking", [])])[0]
    effects = engine.generate(scene, audio_length_in_s=audio_length_in_s,
                              sample_rate=sample_rate, seed=1)
    assert [e.source_index for e in effects] == [0, 1]
    for effect in effects:
        assert len(effect.samples) == round(audio_length_in_s * sample_rate)
        assert np.max(np.abs(effect.samples)) > 0.1


def test_seeded_and_deterministic(engine: ProceduralSfxEngine) -> None:
    scene = _scenes([_source("metal barricades", "steel", "rattling", []),
                     _source("palm trees", "fronds", "rustling", [])])[0]

    def render(seed: int) -> list[np.ndarray]:
        return [e.samples for e in engine.generate(scene, audio_length_in_s=2.0,
                                                   sample_rate=16_000, seed=seed)]

    first, again, other = render(3), render(3), render(4)
    for a, b, c in zip(first, again, other, strict=True):
        np.testing.assert_array_equal(a, b)
        assert not np.allclose(a, c)


def test_a_source_does_not_depend_on_its_neighbours(engine: ProceduralSfxEngine) -> None:
    dog = _source("dog", "", "barking", [])
    alone = engine.generate(_scenes([dog])[0], audio_length_in_s=2.0, sample_rate=16_000, seed=5)
    with_cat = engine.generate(_scenes([dog, _source("cat", "", "purring", [])])[0],
                               audio_length_in_s=2.0, sample_rate=16_000, seed=5)
    np.testing.assert_array_equal(alone[0].samples, with_cat[0].samples)


def test_materials_sound_different(engine: ProceduralSfxEngine) -> None:
    """Glass rings higher than wood; metal rings longer than stone."""
    names = ["wood", "glass", "metal", "stone"]
    scene = _scenes([_source(f"{m} object", m, "knocked once", []) for m in names])[0]
    centroids, sustains = {}, {}
    for seed in range(3):
        for effect in engine.generate(scene, audio_length_in_s=3.0, sample_rate=48_000,
                                      seed=seed):
            material = names[effect.source_index]
            centroids.setdefault(material, []).append(spectral_centroid_hz(effect.samples,
                                                                           48_000))
            sustains.setdefault(material, []).append(_ring_time_s(effect.samples, 48_000))
    assert np.median(centroids["glass"]) > 1.5 * np.median(centroids["wood"])
    assert np.median(sustains["metal"]) > 2 * np.median(sustains["stone"])


def _ring_time_s(samples: np.ndarray, sample_rate: int) -> float:
    """Mean time each hit stays within 20 dB of its own peak (10 ms blocks)."""
    blocks = np.abs(samples[: len(samples) // 480 * 480]).reshape(-1, 480).max(axis=1)
    loud = blocks > blocks.max() * 0.1
    return float(loud.sum() * 0.01 / max(1, np.sum(np.diff(loud.astype(int)) == 1)))


def test_variants_are_layered(engine: ProceduralSfxEngine) -> None:
    plants = SoundSource(name="potted plants", material="leaves and stems", variants=[
        {"play_method": "leaves rustling softly"},
        {"play_method": "knocking on the ceramic pot"}])
    effect = engine.generate(_scenes([plants])[0], audio_length_in_s=2.0, sample_rate=16_000,
                             seed=0)[0]
    assert "rustle" in effect.prompt and "ceramic" in effect.prompt


def test_seed_examples_render(engine: ProceduralSfxEngine) -> None:
    for path in sorted(SEED_EXAMPLES.glob("*.json")):
        scene = Scene.model_validate(json.loads(path.read_text()))
        effects = engine.generate(scene, audio_length_in_s=2.0, sample_rate=16_000, seed=0)
        assert len(effects) == len(scene.sound_sources)
        for effect in effects:
            assert tonality(effect.samples, 16_000) < NON_MUSICAL_TONALITY_MAX, effect.prompt


def test_ambience_bed_follows_the_place() -> None:
    beach = Scene(scene_description="a sandy beach with waves under a clear sky",
                  mood_description="calm", sound_sources=[_source("gull", "", "calling", [])])
    bed, description = ambience_bed(beach, audio_length_in_s=3.0, sample_rate=22_050, seed=0)
    assert "sea waves" in description
    assert len(bed) == 3 * 22_050 and bed.dtype == np.float32
    assert tonality(bed, 22_050) < NON_MUSICAL_TONALITY_MAX
    assert sustain(bed, 22_050) > 0.3  # a bed is continuous, not events
    room = Scene(scene_description="close-up of a cup on a kitchen table",
                 mood_description="quiet", sound_sources=[_source("cup", "ceramic", "clink", [])])
    _, description = ambience_bed(room, audio_length_in_s=1.0, sample_rate=22_050, seed=0)
    assert "room tone" in description and "sea" not in description


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"audio_length_in_s": 0.1, "sample_rate": 48_000, "seed": 0}, "audio_length_in_s"),
    ({"audio_length_in_s": 2.0, "sample_rate": 1_000, "seed": 0}, "sample_rate"),
    ({"audio_length_in_s": 2.0, "sample_rate": 48_000, "seed": -1}, "seed"),
])
def test_bad_arguments_are_named(engine: ProceduralSfxEngine, kwargs: dict, field: str) -> None:
    scene = _scenes([_source("dog", "", "barking", [])])[0]
    with pytest.raises(InvalidInput) as error:
        engine.generate(scene, **kwargs)
    assert error.value.field == field and field in error.value.message


def test_serving_returns_wav_payloads() -> None:
    scene = Scene.model_validate(json.loads((SEED_EXAMPLES / "plaza.json").read_text()))
    response = T2aServing(T2aSettings()).generate(
        SfxRequest(scene=scene, audio_length_in_s=1.5, sample_rate=24_000, seed=2))
    assert response.engine.value == "procedural"
    assert [e.source_index for e in response.effects] == list(range(len(scene.sound_sources)))
    audio = AudioPayload.model_validate(response.effects[0].audio.model_dump()).to_array()
    assert response.effects[0].audio.sample_rate == 24_000 and len(audio) == 36_000


def _hit_count(samples: np.ndarray, sample_rate: int) -> int:
    """Attacks: 10 ms blocks whose level jumps 12 dB over the block before."""
    block = sample_rate // 100
    level = 20 * np.log10(np.abs(samples[: len(samples) // block * block]).reshape(-1, block)
                          .max(axis=1) + 1e-6)
    return int(np.sum(np.diff(level) > 12))


def test_an_energetic_scene_is_busier_than_a_calm_one(engine: ProceduralSfxEngine) -> None:
    tap = _source("table", "wood", "knocking", [])

    def hits(mood_description: str) -> int:
        scene = Scene(scene_description="a table", mood_description=mood_description,
                      sound_sources=[tap])
        return sum(_hit_count(engine.generate(scene, audio_length_in_s=6.0, sample_rate=16_000,
                                              seed=seed)[0].samples, 16_000)
                   for seed in range(4))

    assert hits("bustling, energetic") > 1.4 * hits("calm, peaceful")


def test_any_mix_of_known_words_renders(engine: ProceduralSfxEngine) -> None:
    """Random sources built from every keyword the recipes know (plus junk) all render: right
    length, finite, audible, within [-1, 1]."""
    import random
    import re

    from services.t2a.engines.procedural import recipes

    patterns = [k for k, _ in recipes._RULES + recipes._WEAK_RULES]
    patterns += list(recipes._MATERIAL_WORDS.values()) + [recipes._DENSE, recipes._SMALL]
    vocabulary = sorted({re.sub(r"\\b|[^a-z ]", "", w) for p in patterns for w in p.split("|")}
                        - {""}) + ["ßü", "!!", "of", "the"]
    rng = random.Random(0)

    def words(count: int) -> str:
        return " ".join(rng.choice(vocabulary) for _ in range(count))[:100]

    for trial in range(8):
        sources = [SoundSource(name=words(2), material=words(3), variants=[
            {"play_method": words(4), "timbre": [words(1)]} for _ in range(rng.randint(1, 2))])
            for _ in range(16)]
        scene = Scene(scene_description="fuzz", mood_description=words(2) or "x",
                      sound_sources=sources)
        for effect in engine.generate(scene, audio_length_in_s=0.5, sample_rate=8_000,
                                      seed=trial):
            assert len(effect.samples) == 4_000, effect.prompt
            assert np.all(np.isfinite(effect.samples)), effect.prompt
            assert 0 < np.max(np.abs(effect.samples)) <= 1.0, effect.prompt
