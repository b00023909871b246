"""Role assignment on sounds whose character is known: every role filled, no doubling while
there are enough sounds, the scene's hints and the measured features both count."""

from __future__ import annotations

import json

import numpy as np
import pytest

from imagewave.contracts.scene import Role, Scene, SoundSource
from imagewave.errors import InvalidInput
from imagewave.roles import assign_roles
from services.t2a.engines.procedural import ProceduralSfxEngine
from tests.conftest import SEED_EXAMPLES

SR = 22_050


def _t(seconds: float = 3.0) -> np.ndarray:
    return np.arange(int(seconds * SR)) / SR


def _rumble(rng: np.random.Generator) -> np.ndarray:
    """Low, continuous: a bass candidate."""
    noise = np.cumsum(rng.standard_normal(len(_t())))
    noise -= np.convolve(noise, np.ones(401) / 401, mode="same")
    return noise / np.max(np.abs(noise))


def _clicks(rng: np.random.Generator) -> np.ndarray:
    """Sharp, short, bright hits: a drums candidate."""
    out = np.zeros(len(_t()))
    for start in np.arange(0.1, 2.9, 0.35):
        i = int(start * SR)
        out[i:i + 600] += rng.standard_normal(600) * np.exp(-np.arange(600) / 80)
    return out / np.max(np.abs(out))


def _hum(rng: np.random.Generator) -> np.ndarray:
    """Steady and tonal: a keyboard candidate."""
    t = _t()
    return 0.5 * sum(np.sin(2 * np.pi * 330 * k * t) / k for k in (1, 2, 3)) \
        + 0.05 * rng.standard_normal(len(t))


def _chirps(rng: np.random.Generator) -> np.ndarray:
    """Mid-bright, pitched, with attacks: a guitar candidate."""
    t = _t()
    gate = (np.sin(2 * np.pi * 2 * t) > 0).astype(float)
    gate = np.convolve(gate, np.ones(100) / 100, mode="same")
    return np.sin(2 * np.pi * 1400 * t + 3 * np.sin(2 * np.pi * 9 * t)) * gate \
        + 0.05 * rng.standard_normal(len(t))


def _scene(names: list[str], hints: list[Role | None] | None = None) -> Scene:
    hints = hints or [None] * len(names)
    return Scene(scene_description="test", mood_description="test", sound_sources=[
        SoundSource(name=n, variants=[{"play_method": "sounding",
                                       "mapping_to_music_instrument": h}])
        for n, h in zip(names, hints, strict=True)])


def _roles(assignment) -> dict[Role, int]:
    return {c.role: c.source_index for c in assignment.choices}


def test_features_decide_when_the_scene_gives_no_hints() -> None:
    rng = np.random.default_rng(0)
    sounds = [_clicks(rng), _rumble(rng), _hum(rng), _chirps(rng)]
    scene = _scene(["clicks", "rumble", "hum", "chirps"])
    # Shuffle the order so position cannot be what decides.
    order = [2, 0, 3, 1]
    assignment = assign_roles(scene, [(i, sounds[i], SR) for i in order])
    assert _roles(assignment) == {Role.drums: 0, Role.bass: 1, Role.keyboard: 2, Role.guitar: 3}
    for choice in assignment.choices:
        assert choice.reasons and all(isinstance(r, str) and r for r in choice.reasons)
        assert choice.source_name == scene.sound_sources[choice.source_index].name


def test_scene_hints_decide_between_similar_sounds() -> None:
    rng = np.random.default_rng(1)
    noise = [rng.standard_normal(2 * SR) * 0.3 for _ in range(4)]
    hints = [Role.guitar, Role.drums, Role.bass, Role.keyboard]
    assignment = assign_roles(_scene(["a", "b", "c", "d"], hints),
                              [(i, x, SR) for i, x in enumerate(noise)])
    assert _roles(assignment) == {hint: i for i, hint in enumerate(hints)}
    assert all(any("scene maps" in r for r in c.reasons) for c in assignment.choices)


def test_no_sound_is_doubled_when_there_are_enough() -> None:
    rng = np.random.default_rng(2)
    makers = [_clicks, _rumble, _hum, _chirps, _clicks, _rumble]
    # Every source hinted as drums: the seed's habit; still one sound per role.
    scene = _scene([f"s{i}" for i in range(6)], [Role.drums] * 6)
    assignment = assign_roles(scene, [(i, m(rng), SR) for i, m in enumerate(makers)])
    chosen = [c.source_index for c in assignment.choices]
    assert sorted(c.role.value for c in assignment.choices) == sorted(r.value for r in Role)
    assert len(set(chosen)) == 4


@pytest.mark.parametrize("count", [1, 2, 3])
def test_fewer_sounds_than_roles_are_all_used_then_reused(count: int) -> None:
    rng = np.random.default_rng(3)
    makers = [_rumble, _clicks, _hum][:count]
    assignment = assign_roles(_scene([f"s{i}" for i in range(count)]),
                              [(i, m(rng), SR) for i, m in enumerate(makers)])
    chosen = [c.source_index for c in assignment.choices]
    assert {c.role for c in assignment.choices} == set(Role)
    assert set(chosen) == set(range(count))
    reused = [c for c in assignment.choices if any("reused" in r for r in c.reasons)]
    assert len(reused) == 4 - count


def test_seed_scenes_with_procedural_effects() -> None:
    engine = ProceduralSfxEngine()
    for path in sorted(SEED_EXAMPLES.glob("*.json")):
        scene = Scene.model_validate(json.loads(path.read_text()))
        effects = engine.generate(scene, audio_length_in_s=3.0, sample_rate=SR, seed=0)
        assignment = assign_roles(scene, [(e.source_index, e.samples, SR) for e in effects])
        assert {c.role for c in assignment.choices} == set(Role)
        assert len({c.source_index for c in assignment.choices}) == 4
        assert assignment.for_role(Role.drums).source_index is not None


def test_bad_input_is_named() -> None:
    with pytest.raises(InvalidInput) as error:
        assign_roles(_scene(["a"]), [])
    assert error.value.field == "effects"
    with pytest.raises(InvalidInput, match="source_index 5"):
        assign_roles(_scene(["a"]), [(5, np.zeros(SR), SR)])


def test_confidence_breaks_a_tie_between_equal_sounds() -> None:
    rng = np.random.default_rng(4)
    clicks = _clicks(rng)
    scene = _scene(["unsure", "sure"], [Role.drums, Role.drums])
    scene.sound_sources[0].confidence = 0.3
    scene.sound_sources[1].confidence = 0.95
    # The same clip twice: only the describer's confidence tells them apart.
    assignment = assign_roles(scene, [(0, clicks, SR), (1, clicks, SR)])
    assert assignment.for_role(Role.drums).source_index == 1
