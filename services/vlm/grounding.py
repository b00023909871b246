"""From classifier evidence to the sound sources a picture supports, and nothing more.

Input: class probabilities for a few views of one picture (whole, centre, tiles) and the
picture's statistics. Output: the chosen sources with confidences, and the chosen place.

The hallucination guard works on three levels:
1. probability: a family (classes that sound alike) counts only when its summed probability in
   the whole picture, or clearly in one tile, clears a floor; families the classifier often
   invents for empty sky (aircraft, missiles, balloons) need more;
2. consistency: a source whose habitat contradicts a confident place is dropped (no whale in
   a kitchen, no fridge on a lake), weak sources beside a dominant one are dropped;
3. implication only from evidence: a person only from clothes we saw, a table only under
   tableware we saw, an ambience only for a place we recognised.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imagewave.contracts.scene import Role, SoundSource, SoundVariant
from services.vlm.knowledge import Place, SoundFamily, SoundKnowledge, load_region_sources
from services.vlm.landscape import LandscapeEvidence
from services.vlm.scene_words import ImageStatistics

# Evidence = max(mean over whole-picture views, LOCAL_WEIGHT × best tile): a tile only speaks
# for part of the picture, so it is trusted a little less.
LOCAL_WEIGHT = 0.75
# Families often seen in featureless sky or haze need this much more evidence, and lose to a
# landscape that is more certain than they are.
SKY_OBJECT_MARGIN = 0.05
# Families the classifier "sees" in brushwork, fur or foliage need this much more.
TEXTURE_LIKE_MARGIN = 0.25
# Evidence that the picture itself is a painting, print or graphic (ImageNet's jigsaw puzzle,
# comic book, book jacket...): then busy brushwork says nothing about walls and ceilings.
PICTURE_MEDIUM_FLOOR = 0.15
# Snow is the one habitat the pixels can confirm: this much white or no snow scene.
SNOW_WHITE_FRACTION = 0.15
# A source weaker than this share of the strongest one is background noise.
RELATIVE_FLOOR = 0.25
# Total summed class evidence for a material before a generic surface of it is named.
MATERIAL_FLOOR = 0.3
# A place needs this much vote to be named; a confident one can veto contradicting sources.
PLACE_FLOOR = 0.12
PLACE_VETO = 0.35
NIGHT_LANDSCAPE_FLOOR = 0.2
MAX_OBJECT_SOURCES = 5
NATURAL_PLACES = frozenset({"lake", "sea", "water", "forest", "field", "garden", "mountain",
                            "snow", "night"})
WATER_PLACES = frozenset({"lake", "sea", "water", "underwater"})
LANDSCAPES = frozenset({"lake", "sea", "water", "forest", "field", "mountain", "snow"})
LARGE_KINDS = frozenset({"building", "structure", "place", "plant"})
# A surface (planks, leaf litter) is named only when no object is this sure: otherwise the
# picture is about the object, and its material is already said.
SURFACE_MAX_OBJECT = 0.5
# An object this sure makes the picture a close-up of it: its place keeps only plain ambience.
CLOSE_UP_EVIDENCE = 0.6
# Outdoors (the pixels show sky, water, foliage...), an object of a kind that does not live
# outdoors needs this much evidence: on a landscape or a painting the classifier's clocks,
# modems and shower curtains are texture, not things.
OUTDOOR_KINDS = frozenset({"animal", "vehicle", "building", "structure", "plant", "place",
                           "person"})
OUTDOOR_STRAY_OBJECT = 0.75
# Outdoors, a building or structure class with no straight edges in the picture is texture
# (a tiled roof "seen" in the waves) unless the classifier is this sure.
UNBUILT_EDGE_FLOOR = 0.05
LARGE_STRUCTURES = frozenset({"building"})
# How much a place the regions show adds to its vote, per unit of region strength.
REGION_PLACE_WEIGHT = 0.6
# Region sources already said by a source of these words.
REGION_ALIASES = {"gulls": ("gull", "bird"), "birds": ("bird",), "breeze": ("breeze", "wind"),
                  "storm_wind": ("storm", "gust"), "ripples": ("water", "ripple", "wave")}


@dataclass
class Candidate:
    family: SoundFamily
    evidence: float
    class_name: str


@dataclass
class Grounding:
    sources: list[SoundSource]
    place: Place | None
    place_confidence: float
    objects: list[Candidate] = field(default_factory=list)
    energy: float = 0.0  # −1..1, what the sources add to arousal


def family_evidence(knowledge: SoundKnowledge, view_probs: np.ndarray,
                    n_global_views: int) -> tuple[np.ndarray, np.ndarray]:
    """(evidence per family, mean class probabilities) from (views, 1000) probabilities.

    A small object may fill one tile only; a building, a landscape or a plant cover more of
    the picture, so for them a single tile is not enough: two tiles must agree.
    """
    masses = knowledge.family_mass(view_probs)
    global_mass = masses[:n_global_views].mean(axis=0)
    tiles = np.sort(masses[n_global_views:], axis=0)
    if len(tiles) >= 2:
        large = np.array([f.kind in LARGE_KINDS for f in knowledge.families])
        local_mass = np.where(large, tiles[-2], tiles[-1])
    else:
        local_mass = tiles[-1] if len(tiles) else np.zeros_like(global_mass)
    evidence = np.maximum(global_mass, LOCAL_WEIGHT * local_mass)
    return evidence, view_probs.mean(axis=0)


def place_votes(knowledge: SoundKnowledge, evidence: np.ndarray, stats: ImageStatistics,
                landscape: LandscapeEvidence | None = None) -> dict[str, float]:
    votes = dict.fromkeys(knowledge.places, 0.0)
    for family, weight in zip(knowledge.families, evidence, strict=True):
        for place, strength in family.places.items():
            votes[place] += float(weight) * strength
    # What the light says. Night needs an open dark sky above. Landscapes speak through colour
    # too, which matters for paintings and for kinds of place ImageNet has no class for (a
    # forest, a meadow): open sky above, blue below, green all over.
    sky_above = stats.top_smooth_fraction > 0.6
    if stats.is_night and sky_above:
        votes["night"] += 0.4
    # (Colours at night are the lamps' and the blue hour's, not the landscape's.)
    if stats.bottom_blue_fraction > 0.3 and sky_above and not stats.is_night:
        votes["water"] += 0.1
    if stats.green_fraction > 0.3 and not stats.is_night:
        if sky_above:
            votes["field"] += 0.15
        else:
            votes["forest"] += 0.1
            votes["garden"] += 0.1
    if stats.white_fraction < SNOW_WHITE_FRACTION:
        votes["snow"] = 0.0
    # A busy top third with no sky or foliage colours: a ceiling, shelves, a wall (in a
    # photograph; in a painting it is more likely brushwork).
    painted = any(weight >= PICTURE_MEDIUM_FLOOR and family.id == "picture_medium"
                  for family, weight in zip(knowledge.families, evidence, strict=True))
    outdoors = landscape is not None and landscape.outdoors
    if landscape is not None and landscape.place is not None:
        votes[landscape.place] += REGION_PLACE_WEIGHT * landscape.place_strength
    enclosed = (stats.top_smooth_fraction < 0.3 and stats.green_fraction < 0.2
                and stats.blue_fraction < 0.2 and not painted and not outdoors)
    if enclosed:
        for place_id, place in knowledge.places.items():
            if not place.indoor:
                votes[place_id] *= 0.4
        votes["indoor"] += 0.3
    if outdoors:  # the pixels show sky, water or foliage: no room, whatever the classes say
        for place_id, place in knowledge.places.items():
            if place.indoor:
                votes[place_id] = 0.0
    return votes


def choose_place(knowledge: SoundKnowledge, votes: dict[str, float]) -> tuple[Place | None, float]:
    best = max((p for p in votes if p not in ("night", "garage")), key=votes.__getitem__)
    score = votes[best]
    if best == "water":
        # Open water: say lake or sea when the evidence leans one way.
        lake, sea = votes["lake"], votes["sea"]
        if max(lake, sea) > 0.25 * score:
            best = "lake" if lake >= sea else "sea"
    elif best in ("lake", "sea"):
        score = max(score, votes["water"])
    # Night is the place only when no landscape is clear (a lake at night stays a lake).
    landscape_clear = best in LANDSCAPES and score >= NIGHT_LANDSCAPE_FLOOR
    if votes["night"] >= PLACE_FLOOR and votes["night"] > score and not landscape_clear:
        return knowledge.places["night"], votes["night"]
    if score < PLACE_FLOOR:
        return None, 0.0
    # Indoors with vehicles or tools about: a garage or workshop.
    if knowledge.places[best].indoor and votes["garage"] >= PLACE_FLOOR:
        return knowledge.places["garage"], score
    return knowledge.places[best], score


def _contradicts(family: SoundFamily, evidence: float, place: Place | None,
                 place_confidence: float, stats: ImageStatistics) -> bool:
    if family.places.get("snow", 0.0) >= 0.8 and stats.white_fraction < SNOW_WHITE_FRACTION:
        return True
    if (family.sky_object and place is not None and place.id in LANDSCAPES
            and place_confidence > evidence):
        return True
    if place is None or place_confidence < PLACE_VETO or not family.places:
        return False
    if place.indoor:
        return max(family.places.get(p, 0.0) for p in WATER_PLACES | {"sky"}) >= 0.8
    if place.id in NATURAL_PLACES:
        return family.places.get("indoor", 0.0) >= 0.8
    return False


def _person_source(confidence: float) -> SoundSource:
    return SoundSource(
        name="person", material="a person in clothes", confidence=round(confidence, 3),
        variants=[
            SoundVariant(play_method="clothes rustling as they move", timbre=["soft", "rustly"],
                         mapping_to_music_instrument=Role.drums),
            SoundVariant(play_method="calm breathing and a few footsteps",
                         timbre=["breathy", "soft"], mapping_to_music_instrument=Role.keyboard),
        ])


def _table_source(confidence: float, stats: ImageStatistics) -> SoundSource:
    wooden = stats.brown_fraction > 0.12
    return SoundSource(
        name="table", material="wooden tabletop" if wooden else "tabletop",
        confidence=round(confidence, 3),
        variants=[SoundVariant(play_method="objects set down and knocked on the table",
                               timbre=["woody" if wooden else "hard", "knocking", "dull"],
                               mapping_to_music_instrument=Role.drums)])


def _surface_source(material: str, confidence: float) -> SoundSource | None:
    surfaces = {
        "wood": ("wooden boards", "weathered wooden planks",
                 "boards creaking under footsteps", ["creaky", "woody", "hollow"]),
        "leaves": ("fallen leaves", "dry leaves on the ground",
                   "leaves rustling and crunching underfoot", ["crunchy", "rustly", "dry"]),
        "stone": ("stone", "rough stone and gravel",
                  "footsteps scuffing on stone", ["gritty", "hard"]),
    }
    if material not in surfaces:
        return None
    name, stuff, play, timbre = surfaces[material]
    return SoundSource(name=name, material=stuff, confidence=round(confidence, 3),
                       variants=[SoundVariant(play_method=play, timbre=timbre,
                                              mapping_to_music_instrument=Role.drums)])


def _already_said(source_id: str, name: str, sources: list[SoundSource]) -> bool:
    words = REGION_ALIASES.get(source_id, (name.split()[-1],))
    return any(word in s.name.lower() for s in sources for word in words)


def ground(knowledge: SoundKnowledge, view_probs: np.ndarray, stats: ImageStatistics, *,
           n_global_views: int, min_confidence: float,
           landscape: LandscapeEvidence | None = None) -> Grounding:
    evidence, mean_probs = family_evidence(knowledge, view_probs, n_global_views)
    outdoors = landscape is not None and landscape.outdoors

    # 1. Place, from every family's habitat votes, the light and the regions.
    votes = place_votes(knowledge, evidence, stats, landscape)
    place, place_confidence = choose_place(knowledge, votes)

    # 2. Objects: sounding families above the floor, consistent with the place.
    candidates = []
    for index in np.argsort(-evidence):
        family, weight = knowledge.families[index], float(evidence[index])
        floor = (min_confidence + (SKY_OBJECT_MARGIN if family.sky_object else 0.0)
                 + (TEXTURE_LIKE_MARGIN if family.texture_like else 0.0))
        if weight < min_confidence:
            break  # sorted: everything after is weaker still
        if weight < floor:
            continue
        if family.silent or _contradicts(family, weight, place, place_confidence, stats):
            continue
        indoor_thing = (family.kind not in OUTDOOR_KINDS
                        or family.places.get("indoor", 0.0) >= 0.5)
        unbuilt = (family.kind in LARGE_STRUCTURES and landscape is not None
                   and landscape.straight_edges < UNBUILT_EDGE_FLOOR)
        if outdoors and (indoor_thing or unbuilt) and weight < OUTDOOR_STRAY_OBJECT:
            continue
        class_name = knowledge.top_class_name(int(index), mean_probs)
        candidates.append(Candidate(family, weight, class_name))
    if candidates:
        strongest = candidates[0].evidence
        candidates = [c for c in candidates if c.evidence >= RELATIVE_FLOOR * strongest]
    candidates = candidates[:MAX_OBJECT_SOURCES]
    sources = [c.family.source(c.class_name, c.evidence) for c in candidates]

    # 3. What the objects imply: the wearer of clothes, the table under tableware.
    wearable = float(sum(evidence[i] for i, f in enumerate(knowledge.families) if f.wearable))
    has_person = any(c.family.kind == "person" for c in candidates)
    if wearable >= min_confidence and not has_person:
        sources.append(_person_source(min(wearable, 1.0)))
    tabletop = [c for c in candidates if c.family.tabletop]
    has_table = any(c.family.id == "table" for c in candidates)
    if tabletop and not has_table and (place is None or place.indoor or place.id == "garden"):
        sources.append(_table_source(tabletop[0].evidence * 0.8, stats))

    # 4. Materials seen everywhere but in no confident object (planks, leaf litter).
    named = {m for c in candidates for m in c.family.materials}
    dominated = bool(candidates) and candidates[0].evidence >= SURFACE_MAX_OBJECT
    # Outdoors, the regions say what the ground is (sand, snow, grass, water); the classifier's
    # materials in a landscape are mostly its texture.
    dominated = dominated or (landscape is not None and landscape.place is not None)
    for material in () if dominated else ("wood", "leaves", "stone"):
        mass = float(sum(evidence[i] for i, f in enumerate(knowledge.families)
                         if material in f.materials))
        if mass >= MATERIAL_FLOOR and material not in named:
            surface = _surface_source(material, min(mass, 1.0))
            if surface is not None:
                sources.append(surface)

    # 5. The place's ambience: always at least one source for a recognised place. Indoors, a
    # plain room only sounds when nothing else does (a portrait is about its sitter).
    if place is not None and place.id == "indoor" and sources:
        place = None
    if place is not None:
        # Wildlife only where the picture looks alive and wild: not in monochrome, not where
        # the evidence also says street (a city at night has no crickets worth naming), and
        # not behind a close-up of something else (the picture is about that thing).
        close_up = bool(candidates) and candidates[0].evidence >= CLOSE_UP_EVIDENCE
        crowded = landscape is not None and (landscape.crowded or landscape.stormy)
        natural = (place.id in NATURAL_PLACES and not stats.is_monochrome
                   and votes["street"] < PLACE_FLOOR and not close_up and not crowded)
        for ambience in place.ambience:
            if ambience.wildlife and not natural:
                continue
            sources.append(ambience.source(min(place_confidence, 1.0)))

    # 6. What the regions show that no place's ambience says: a beach, rocks, rain, a crowd.
    if landscape is not None:
        region_sources = load_region_sources()
        for source_id, confidence in landscape.sources:
            region = region_sources[source_id]
            if not _already_said(source_id, region.name, sources):
                sources.append(region.source(confidence))

    # 7. Never empty: a picture with nothing recognisable still has the air around it.
    if not sources:
        open_sky = outdoors or (stats.top_smooth_fraction > 0.6 and stats.top_brightness > 0.5)
        fallback = knowledge.places["sky" if open_sky else "indoor"]
        sources.append(fallback.ambience[0].source(0.3))
        place = place or fallback

    # Engines and launches make a picture tense whatever its colours; a parked bike less so
    # than a rocket or a jet.
    energy = 0.0
    for c in candidates:
        if c.family.kind == "vehicle":
            strength = 1.0 if c.family.sky_object else 0.5
            energy = max(energy, strength * c.evidence)
    if landscape is not None:
        loud = {"thunder": 0.8, "crowd": 0.5, "sea": 0.2}
        for source_id, confidence in landscape.sources:
            energy = max(energy, loud.get(source_id, 0.0) * confidence)
    return Grounding(sources=sources[:16], place=place, place_confidence=place_confidence,
                     objects=candidates, energy=energy)
