"""The hallucination guard on hand-made classifier outputs: each rule, one picture's worth."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from services.vlm.grounding import ground
from services.vlm.knowledge import load_knowledge
from services.vlm.scene_words import measure

N_GLOBAL = 2


@pytest.fixture(scope="module")
def knowledge():
    return load_knowledge()


def _views(knowledge, global_classes: dict[str, float], tiles: list[dict[str, float]] = ()):
    """(2 + 4, 1000) probabilities: the named classes get their share, the rest is spread."""
    def row(classes: dict[str, float]) -> np.ndarray:
        probs = np.full(1000, (1.0 - sum(classes.values())) / 1000)
        for name, p in classes.items():
            probs[knowledge.class_names.index(name)] += p
        return probs
    tiles = list(tiles) + [{}] * (4 - len(tiles))
    return np.stack([row(global_classes)] * N_GLOBAL + [row(t) for t in tiles])


def _stats(kind: str = "plain"):
    pixels = {
        "plain": np.full((120, 160, 3), 120, np.uint8),
        "lake": np.concatenate([np.full((60, 160, 3), (150, 180, 220), np.uint8),
                                np.full((60, 160, 3), (30, 70, 160), np.uint8)]),
    }[kind]
    return measure(Image.fromarray(pixels))


def _names(grounding) -> list[str]:
    return [s.name for s in grounding.sources]


def test_weak_classes_are_not_sources(knowledge):
    views = _views(knowledge, {"tabby": 0.1, "golden retriever": 0.1, "moped": 0.1})
    grounding = ground(knowledge, views, _stats(), n_global_views=N_GLOBAL, min_confidence=0.3)
    assert not {"cat", "dog", "motorbike"} & set(_names(grounding))


def test_classes_of_one_family_add_up(knowledge):
    views = _views(knowledge, {"tabby": 0.2, "tiger cat": 0.2, "Egyptian cat": 0.2})
    grounding = ground(knowledge, views, _stats(), n_global_views=N_GLOBAL, min_confidence=0.3)
    assert _names(grounding)[0] == "cat"
    assert grounding.sources[0].confidence == pytest.approx(0.6, abs=0.01)


def test_a_small_object_may_fill_one_tile_but_a_building_needs_two(knowledge):
    one_tile = [{"football helmet": 0.9}]
    grounding = ground(knowledge, _views(knowledge, {}, one_tile), _stats(),
                       n_global_views=N_GLOBAL, min_confidence=0.3)
    assert "helmet" in _names(grounding)
    church_once = [{"church": 0.9}]
    grounding = ground(knowledge, _views(knowledge, {}, church_once), _stats(),
                       n_global_views=N_GLOBAL, min_confidence=0.3)
    assert "church" not in _names(grounding)
    church_twice = [{"church": 0.9}, {"church": 0.8}]
    grounding = ground(knowledge, _views(knowledge, {}, church_twice), _stats(),
                       n_global_views=N_GLOBAL, min_confidence=0.3)
    assert "church" in _names(grounding)


def test_an_aircraft_in_a_lake_view_is_haze(knowledge):
    views = _views(knowledge, {"lakeside": 0.5, "airliner": 0.35})
    grounding = ground(knowledge, views, _stats("lake"), n_global_views=N_GLOBAL,
                       min_confidence=0.3)
    assert grounding.place.id == "lake"
    assert "airliner" not in _names(grounding)
    assert "lake water" in _names(grounding)


def test_clothes_imply_a_person_and_tableware_a_table(knowledge):
    grounding = ground(knowledge, _views(knowledge, {"suit": 0.7}), _stats(),
                       n_global_views=N_GLOBAL, min_confidence=0.3)
    assert "person" in _names(grounding)
    grounding = ground(knowledge, _views(knowledge, {"espresso": 0.8}), _stats(),
                       n_global_views=N_GLOBAL, min_confidence=0.3)
    assert "table" in _names(grounding)
    grounding = ground(knowledge, _views(knowledge, {"tabby": 0.8}), _stats(),
                       n_global_views=N_GLOBAL, min_confidence=0.3)
    assert not {"person", "table"} & set(_names(grounding))


def test_snow_vehicles_need_snow(knowledge):
    views = _views(knowledge, {"bobsled": 0.6})
    grounding = ground(knowledge, views, _stats(), n_global_views=N_GLOBAL, min_confidence=0.3)
    assert "bobsled" not in _names(grounding)


def test_nothing_recognised_still_gives_one_ambience(knowledge):
    grounding = ground(knowledge, _views(knowledge, {}), _stats(), n_global_views=N_GLOBAL,
                       min_confidence=0.3)
    assert len(grounding.sources) == 1
    ambience = {a.name for p in knowledge.places.values() for a in p.ambience}
    assert grounding.sources[0].name in ambience
