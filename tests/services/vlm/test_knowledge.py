"""The sound knowledge table covers ImageNet-1k and says sensible things about it."""

from __future__ import annotations

import numpy as np

from imagewave.contracts.scene import SoundSource
from services.vlm.knowledge import load_knowledge


def test_every_class_belongs_to_exactly_one_family():
    knowledge = load_knowledge()
    assert len(knowledge.class_names) == 1000
    assert knowledge.membership.shape == (1000, len(knowledge.families))
    assert np.all(knowledge.membership.sum(axis=1) == 1.0)
    # Summed family mass of a probability vector is still a probability vector.
    probs = np.random.default_rng(0).dirichlet(np.ones(1000))
    assert np.isclose(knowledge.family_mass(probs).sum(), 1.0)


def _family(knowledge, class_name: str):
    return knowledge.families[knowledge.family_of_class[knowledge.class_names.index(class_name)]]


def test_sounding_things_have_sounding_families():
    knowledge = load_knowledge()
    for name in ("tabby", "golden retriever", "bullfrog", "cricket", "bee", "moped", "airliner",
                 "steam locomotive", "acoustic guitar", "grand piano", "chain saw", "hammer",
                 "analog clock", "espresso", "church", "fountain", "schooner"):
        family = _family(knowledge, name)
        assert not family.silent, name
        assert family.variants, name
    # every dog breed lands in the same family, so their probabilities add up
    dogs = {knowledge.family_of_class[i] for i in range(151, 269)}
    assert len(dogs) == 1


def test_places_vote_for_their_ambience():
    knowledge = load_knowledge()
    assert _family(knowledge, "seashore").places["sea"] > 0.5
    assert _family(knowledge, "lakeside").places["lake"] > 0.5
    assert _family(knowledge, "valley").places["mountain"] > 0.5
    for place in knowledge.places.values():
        assert place.ambience, place.id
        assert any(not a.wildlife for a in place.ambience), place.id


def test_every_entry_makes_a_valid_source():
    knowledge = load_knowledge()
    for family in knowledge.families:
        if family.silent:
            continue
        source = family.source(knowledge.class_names[family.class_indices[0]], 0.5)
        assert SoundSource.model_validate(source.model_dump()) == source
        assert "{class}" not in source.name
        assert all(v.mapping_to_music_instrument is not None for v in source.variants), family.id
    for place in knowledge.places.values():
        for ambience in place.ambience:
            assert ambience.source(0.4).variants


def test_display_names_read_like_speech():
    knowledge = load_knowledge()
    assert knowledge.display_names[knowledge.class_names.index("sorrel")] == "horse"
    assert knowledge.display_names[knowledge.class_names.index("tabby")] == "tabby"
    assert len(knowledge.display_names) == len(knowledge.class_names)
