"""The sound knowledge table: ImageNet-1k classes → sound families → scene sound sources.

Data lives next to this file as TOML (hand-curated, one file per part of the class list);
this module loads and checks it: every one of the 1000 classes belongs to exactly one family,
every name resolves, every place a family votes for exists. Families group classes that
sound alike so the engine can sum their probabilities.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from imagewave.contracts.scene import Role, SoundSource, SoundVariant

KNOWLEDGE_DIR = Path(__file__).parent
CLASS_NAMES_FILE = KNOWLEDGE_DIR / "imagenet_classes.txt"
PLACES_FILE = KNOWLEDGE_DIR / "places.toml"
DISPLAY_NAMES_FILE = KNOWLEDGE_DIR / "display_names.toml"
FAMILY_FILES = sorted(KNOWLEDGE_DIR.glob("families_*.toml"))
MATERIAL_TAGS = frozenset({"wood", "metal", "fabric", "glass", "ceramic", "plastic", "stone",
                           "paper", "leaves", "leather", "shell"})
KINDS = frozenset({"animal", "instrument", "vehicle", "device", "tool", "object", "clothing",
                   "person", "furniture", "building", "structure", "plant", "food", "place"})


@dataclass(frozen=True)
class Variant:
    play_method: str
    timbre: tuple[str, ...]
    role: Role | None

    def to_contract(self) -> SoundVariant:
        return SoundVariant(play_method=self.play_method, timbre=list(self.timbre),
                            mapping_to_music_instrument=self.role)


@dataclass(frozen=True)
class SoundFamily:
    """Classes that sound alike, and how they sound."""

    id: str
    class_indices: tuple[int, ...]
    name: str  # "{class}" is replaced by the family's most likely class name
    material: str
    kind: str
    variants: tuple[Variant, ...]
    silent: bool = False  # says where or what, but makes no sound of its own
    wearable: bool = False  # worn by someone: implies a person
    tabletop: bool = False  # rests on a table: implies the table
    sky_object: bool = False  # often mistaken for empty sky: needs stronger evidence
    texture_like: bool = False  # often "seen" in mere texture (brushwork, fur, foliage)
    places: dict[str, float] = field(default_factory=dict)
    materials: tuple[str, ...] = ()

    def source(self, class_name: str, confidence: float) -> SoundSource:
        return SoundSource(name=self.name.replace("{class}", class_name), material=self.material,
                           variants=[v.to_contract() for v in self.variants],
                           confidence=round(float(confidence), 3))


@dataclass(frozen=True)
class AmbienceSource:
    name: str
    material: str
    variants: tuple[Variant, ...]
    wildlife: bool = False

    def source(self, confidence: float) -> SoundSource:
        return SoundSource(name=self.name, material=self.material,
                           variants=[v.to_contract() for v in self.variants],
                           confidence=round(float(confidence), 3))


@dataclass(frozen=True)
class Place:
    id: str
    words: str
    indoor: bool
    ambience: tuple[AmbienceSource, ...]


@dataclass(frozen=True)
class SoundKnowledge:
    class_names: tuple[str, ...]  # ImageNet's own names, in class order
    display_names: tuple[str, ...]  # the same, as a listener would say them
    families: tuple[SoundFamily, ...]
    places: dict[str, Place]
    family_of_class: np.ndarray  # (1000,) int: index into `families`
    membership: np.ndarray  # (1000, n_families) float32 one-hot: probs @ membership = family mass

    def family_mass(self, class_probs: np.ndarray) -> np.ndarray:
        """Per-family probability: the sum of its classes' probabilities (works on batches)."""
        return class_probs @ self.membership

    def top_class_name(self, family_index: int, class_probs: np.ndarray) -> str:
        """Display name of the family's most likely class."""
        members = np.asarray(self.families[family_index].class_indices)
        return self.display_names[members[np.argmax(class_probs[members])]]


def _variants(raw: list[dict], where: str) -> tuple[Variant, ...]:
    if not raw:
        raise ValueError(f"{where}: needs at least one variant")
    return tuple(Variant(play_method=v["play"], timbre=tuple(v.get("timbre", ())),
                         role=Role(v["role"]) if v.get("role") else None) for v in raw)


def _resolve_classes(refs: list, names: tuple[str, ...], where: str) -> list[int]:
    """Class references are unique names, indices (for repeated names), or [first, last] ranges."""
    by_name: dict[str, list[int]] = {}
    for index, name in enumerate(names):
        by_name.setdefault(name, []).append(index)
    indices = []
    for ref in refs:
        if isinstance(ref, int):
            indices.append(ref)
        elif isinstance(ref, list):
            first, last = ref
            indices.extend(range(first, last + 1))
        else:
            found = by_name.get(ref)
            if not found:
                raise ValueError(f"{where}: unknown ImageNet class {ref!r}")
            if len(found) > 1:
                raise ValueError(f"{where}: class name {ref!r} is ambiguous; "
                                 f"use an index of {found}")
            indices.append(found[0])
    return indices


@cache
def load_knowledge() -> SoundKnowledge:
    """Load and check the table (cached: it is read once per process)."""
    class_names = tuple(CLASS_NAMES_FILE.read_text().splitlines())
    if len(class_names) != 1000:
        raise ValueError(f"{CLASS_NAMES_FILE} has {len(class_names)} classes, expected 1000")

    renames = tomllib.loads(DISPLAY_NAMES_FILE.read_text())
    if unknown := set(renames) - set(class_names):
        raise ValueError(f"{DISPLAY_NAMES_FILE.name}: unknown classes {sorted(unknown)}")
    display_names = tuple(renames.get(name, name) for name in class_names)

    places_raw = tomllib.loads(PLACES_FILE.read_text())["place"]
    places = {
        place_id: Place(id=place_id, words=raw["words"], indoor=raw["indoor"], ambience=tuple(
            AmbienceSource(name=a["name"], material=a["material"],
                           wildlife=a.get("wildlife", False),
                           variants=_variants(a["variants"], f"place {place_id}"))
            for a in raw["ambience"]))
        for place_id, raw in places_raw.items()
    }

    families: list[SoundFamily] = []
    owner = np.full(len(class_names), -1, dtype=np.int64)
    for path in FAMILY_FILES:
        for raw in tomllib.loads(path.read_text())["family"]:
            where = f"{path.name} family {raw.get('id')!r}"
            indices = _resolve_classes(raw["classes"], class_names, where)
            silent = raw.get("silent", False)
            family = SoundFamily(
                id=raw["id"], class_indices=tuple(indices), name=raw["name"],
                material=raw.get("material", ""), kind=raw["kind"],
                variants=() if silent else _variants(raw.get("variants", []), where),
                silent=silent, wearable=raw.get("wearable", False),
                tabletop=raw.get("tabletop", False), sky_object=raw.get("sky_object", False),
                texture_like=raw.get("texture_like", False),
                places=dict(raw.get("places", {})), materials=tuple(raw.get("materials", ())))
            if family.kind not in KINDS:
                raise ValueError(f"{where}: unknown kind {family.kind!r}")
            if unknown := set(family.places) - set(places):
                raise ValueError(f"{where}: unknown places {sorted(unknown)}")
            if unknown := set(family.materials) - MATERIAL_TAGS:
                raise ValueError(f"{where}: unknown material tags {sorted(unknown)}")
            for index in indices:
                if owner[index] >= 0:
                    raise ValueError(f"{where}: class {index} {class_names[index]!r} is already in "
                                     f"family {families[owner[index]].id!r}")
                owner[index] = len(families)
            families.append(family)
    if (missing := np.flatnonzero(owner < 0)).size:
        raise ValueError("classes in no family: "
                         + ", ".join(f"{i} {class_names[i]!r}" for i in missing[:20]))
    membership = np.zeros((len(class_names), len(families)), dtype=np.float32)
    membership[np.arange(len(class_names)), owner] = 1.0
    return SoundKnowledge(class_names=class_names, display_names=display_names,
                          families=tuple(families), places=places,
                          family_of_class=owner, membership=membership)


REGION_SOURCES_FILE = KNOWLEDGE_DIR / "regions.toml"


@cache
def load_region_sources() -> dict[str, AmbienceSource]:
    """Sources that the pixels, not the classifier, give evidence for (regions.toml)."""
    raw = tomllib.loads(REGION_SOURCES_FILE.read_text())["source"]
    return {source_id: AmbienceSource(name=entry["name"], material=entry["material"],
                                      variants=_variants(entry["variants"],
                                                         f"region source {source_id}"))
            for source_id, entry in raw.items()}
