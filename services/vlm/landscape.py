"""From a region reading (services.vlm.regions) to the place and sources the pixels support.

The classifier knows objects; these rules know landscapes and weather. Each rule asks for a
region or condition clearly present and names the sound a listener expects from it, with a
confidence that grows with how much of the picture shows it. The place hint lets the grounding
pick the right ambience (sea, lake, forest, field, snow, street, night) when the classifier
has no class for it; the sources cover what no place's ambience says (a beach, rocks, rain,
thunder, fog, a crowd, birds seen in the sky).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.vlm.regions import RegionReading

# Minimum shares of the picture before a region speaks.
WATER_FLOOR = 0.04
SAND_FLOOR = 0.08
ROCK_FLOOR = 0.05
SNOW_FLOOR = 0.15
GRASS_FLOOR = 0.2
FOLIAGE_FLOOR = 0.4
BUILT_FLOOR = 0.15
RAIN_FLOOR = 0.3
FOG_FLOOR = 0.5
STORM_FLOOR = 0.5
CROWD_MIN_PEOPLE = 10
# Waves this frequent (foam share of the water) make it the sea rather than a lake.
SEA_WAVES = 0.03


@dataclass
class LandscapeEvidence:
    place: str | None = None  # a place id of places.toml
    place_strength: float = 0.0  # 0..1, added to that place's vote
    sources: list[tuple[str, float]] = field(default_factory=list)  # (regions.toml id, conf.)
    outdoors: bool = False
    crowded: bool = False
    stormy: bool = False  # rain or thunder: birds and insects keep quiet
    straight_edges: float = 0.0  # share of the picture with building-like edges
    sunset: bool = False  # a warm, low sun in an open sky

    def add(self, source_id: str, confidence: float) -> None:
        self.sources.append((source_id, round(min(max(confidence, 0.3), 0.95), 3)))


def _strength(fraction: float, full: float) -> float:
    """0.4 at a region's floor, rising to 0.9 when it covers `full` of the picture."""
    return 0.4 + 0.5 * min(1.0, fraction / full)


def read_landscape(reading: RegionReading) -> LandscapeEvidence:
    evidence = LandscapeEvidence(outdoors=reading.outdoors, straight_edges=reading.built,
                                 sunset=reading.landscape and reading.sunset >= 0.5
                                 and reading.night < 0.5)
    if reading.people >= CROWD_MIN_PEOPLE:
        evidence.crowded = True
        evidence.add("crowd", 0.4 + 0.5 * min(1.0, reading.people / 30))
    if not reading.outdoors:
        # Indoors or a close-up of a thing: only what the light itself says.
        if reading.rain >= RAIN_FLOOR and reading.sky >= 0.05:
            evidence.add("rain", reading.rain * 0.8)
        return evidence
    landscape = reading.landscape
    watery = reading.water >= WATER_FLOOR
    # The sea has surf, a beach, rocks or storms; a mirror-still surface is a lake's.
    mirror = reading.reflection >= 0.7
    seaside = watery and landscape and (
        (reading.waves >= SEA_WAVES and not mirror) or reading.sand >= SAND_FLOOR
        or reading.rock >= ROCK_FLOOR or reading.storm >= STORM_FLOOR)

    # 1. Where: the dominant region decides the place.
    places: list[tuple[str, float]] = []
    if reading.close_up_water:
        # A frame of water: rough under a storm, rippling otherwise.
        rough = reading.storm >= STORM_FLOOR
        evidence.add("sea" if rough else "ripples", _strength(reading.water, 0.8))
        places.append(("sea" if rough else "water", 0.5))
    elif watery and landscape:
        strength = _strength(reading.water, 0.4)
        places.append(("sea" if seaside else "lake" if mirror else "water", strength))
    skyline = landscape or reading.sky >= 0.1
    if skyline and reading.built >= BUILT_FLOOR:
        places.append(("street", _strength(reading.built, 0.4)))
    if landscape and reading.snow >= SNOW_FLOOR:
        places.append(("snow", _strength(reading.snow, 0.5)))
    if reading.foliage >= FOLIAGE_FLOOR:
        places.append(("forest", _strength(reading.foliage, 0.8)))
    if landscape and reading.grass >= GRASS_FLOOR:
        places.append(("field", _strength(reading.grass, 0.5)))
    if reading.night >= 0.7 and landscape and not places:
        places.append(("night", 0.6))
    if landscape and not places and reading.sand >= SAND_FLOOR:
        places.append(("sky", _strength(reading.sand, 0.4)))  # open desert: wind
    if places:
        evidence.place, evidence.place_strength = max(places, key=lambda p: p[1])

    # 2. What else the regions say that the place's ambience does not.
    if landscape and reading.sand >= SAND_FLOOR:
        evidence.add("beach" if watery else "dunes", _strength(reading.sand, 0.4))
    urban = reading.built >= BUILT_FLOOR or evidence.crowded
    foggy = reading.fog >= FOG_FLOOR  # grey ground in fog is no evidence of rock
    if landscape and reading.rock >= ROCK_FLOOR and not urban and not foggy:
        evidence.add("shore_rocks" if watery else "mountain_rocks", _strength(reading.rock, 0.3))
    if landscape and reading.snow >= SNOW_FLOOR:
        evidence.add("snow", _strength(reading.snow, 0.5))
    if landscape and reading.birds >= 1 and reading.night < 0.5:
        evidence.add("gulls" if watery else "birds", 0.35 + 0.1 * min(reading.birds, 5))

    # 3. Weather and light.
    if reading.rain >= RAIN_FLOOR:
        evidence.add("rain", reading.rain * 0.9)
        evidence.stormy = True
    if reading.storm >= STORM_FLOOR or reading.lightning:
        evidence.add("thunder", 0.9 if reading.lightning else reading.storm * 0.8)
        evidence.add("storm_wind", 0.6)
        evidence.stormy = True
    if reading.fog >= FOG_FLOOR:
        evidence.add("fog", reading.fog * 0.8)
    if landscape and evidence.place is None and not evidence.sources:
        evidence.add("breeze", 0.4)
    return evidence
