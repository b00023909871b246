"""`audioldm2` sfx engine on a tiny random AudioLDM2 saved to disk and loaded back through the
engine's production loader. Random weights make near-silent audio: these tests check structure
(count, length, rate, range, determinism, ranking), not loudness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from imagewave.contracts.engines import SfxEngineName
from imagewave.contracts.scene import Scene
from imagewave.contracts.stages import SfxRequest
from imagewave.errors import EngineUnavailable, InvalidInput
from services.t2a.engines.audioldm2 import AudioLdm2SfxEngine
from services.t2a.prompt import sound_prompt
from services.t2a.serving import T2aServing
from services.t2a.settings import T2aSettings
from services.vlm.prompt import load_few_shot_examples

pytestmark = pytest.mark.models


def _settings(model_dir: Path, **overrides: object) -> T2aSettings:
    values = dict(default_engine=SfxEngineName.audioldm2, engines=[SfxEngineName.audioldm2],
                  model_id=str(model_dir), device="cpu", num_inference_steps=2,
                  num_waveforms_per_prompt=2, max_batch_prompts=4)
    values.update(overrides)
    return T2aSettings(**values)


@pytest.fixture(scope="module")
def engine(tiny_audioldm2_dir: Path) -> AudioLdm2SfxEngine:
    return AudioLdm2SfxEngine.from_settings(_settings(tiny_audioldm2_dir))


@pytest.fixture(scope="module")
def scene() -> Scene:
    return load_few_shot_examples()[1].scene  # veranda: five sources


def test_one_clip_per_source_at_the_requested_rate(engine: AudioLdm2SfxEngine,
                                                   scene: Scene) -> None:
    # 5 sources x 2 candidates with max_batch_prompts=4: three diffusion batches
    effects = engine.generate(scene, audio_length_in_s=1.5, sample_rate=44_100, seed=3)
    assert [e.source_index for e in effects] == list(range(len(scene.sound_sources)))
    for effect, source in zip(effects, scene.sound_sources, strict=True):
        assert effect.samples.shape == (round(1.5 * 44_100),)
        assert effect.samples.dtype == np.float32
        assert np.all(np.isfinite(effect.samples)) and np.max(np.abs(effect.samples)) <= 1.0
        assert source.name in effect.prompt and "not a musical note" in effect.prompt
    assert engine.model_sample_rate == 16_000


def test_seed_makes_the_effects_repeatable(engine: AudioLdm2SfxEngine, scene: Scene) -> None:
    scene = scene.model_copy(update={"sound_sources": scene.sound_sources[:2]})
    first = engine.generate(scene, audio_length_in_s=1.0, sample_rate=16_000, seed=7)
    again = engine.generate(scene, audio_length_in_s=1.0, sample_rate=16_000, seed=7)
    other = engine.generate(scene, audio_length_in_s=1.0, sample_rate=16_000, seed=8)
    for a, b, c in zip(first, again, other, strict=True):
        np.testing.assert_array_equal(a.samples, b.samples)
        assert not np.array_equal(a.samples, c.samples)


def test_each_source_ranks_only_its_own_candidates(engine: AudioLdm2SfxEngine,
                                                   scene: Scene) -> None:
    prompts = [sound_prompt(scene, i) for i in range(3)]
    rng = np.random.default_rng(0)
    audio = torch.from_numpy(rng.standard_normal((3, 3, 16_000)).astype(np.float32) * 0.1)
    chosen = engine.rank_candidates(prompts, audio)
    # the pipeline's own CLAP scoring, one prompt at a time, is the reference
    for i, prompt in enumerate(prompts):
        ranked = engine.pipeline.score_waveforms(text=[prompt], audio=audio[i],
                                                 num_waveforms_per_prompt=3,
                                                 device=torch.device("cpu"),
                                                 dtype=torch.float32)
        assert torch.equal(ranked[0], audio[i, chosen[i]])


def test_bad_length_is_a_clear_error(engine: AudioLdm2SfxEngine, scene: Scene) -> None:
    with pytest.raises(InvalidInput, match="audio_length_in_s"):
        engine.generate(scene, audio_length_in_s=0.1, sample_rate=16_000, seed=0)


def test_deployment_default_and_per_request_engine(tiny_audioldm2_dir: Path,
                                                   scene: Scene) -> None:
    request = SfxRequest(scene=scene, audio_length_in_s=1.0, sample_rate=22_050, seed=1)
    settings = _settings(tiny_audioldm2_dir, num_waveforms_per_prompt=1, warm_up=False)
    response = T2aServing(settings).generate(request)
    assert response.engine is SfxEngineName.audioldm2
    assert len(response.effects) == len(scene.sound_sources)
    assert response.effects[0].audio.sample_rate == 22_050
    assert response.effects[0].audio.to_array().shape == (22_050,)
    # a deployment without audioldm2 refuses it per request, naming the engine
    procedural_only = _settings(tiny_audioldm2_dir, default_engine=SfxEngineName.procedural,
                                engines=[SfxEngineName.procedural])
    with pytest.raises(EngineUnavailable, match="audioldm2"):
        T2aServing(procedural_only).generate(request.model_copy(
            update={"engine": SfxEngineName.audioldm2}))
