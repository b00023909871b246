"""The scene's ambience bed: the place itself (sea, forest, city, room), under every source.

Chosen from the scene's description, mood and source words; a bed is quiet, broadband and
slowly changing, so it glues the effects into one place without adding anything note-like.
"""

from __future__ import annotations

import re

import numpy as np

from imagewave.contracts.scene import Scene
from services.t2a.engines.procedural import air, animals, crowd, machines, water
from services.t2a.engines.procedural.primitives import (
    SynthContext,
    bandpass,
    brown_noise,
    fade_edges,
    lowpass,
    mix_at_rms,
    normalise_peak,
    pink_noise,
)


def room_tone(ctx: SynthContext) -> np.ndarray:
    """An indoor room: low air and distant building noise."""
    low = lowpass(brown_noise(ctx), ctx.sample_rate, 200)
    air_noise = bandpass(pink_noise(ctx), ctx.sample_rate, 100, 4000)
    return mix_at_rms([(low, 0.0), (air_noise, -6.0)])


# (keywords, layer, relative level dB, description); every matching layer is mixed.
_LAYERS = [
    (r"sea|ocean|beach|shore|coast|surf|wave|harbo|port\b|pier", water.waves, 0.0, "sea waves"),
    (r"river|stream|brook|creek|waterfall|fountain|canal", water.stream, -2.0, "flowing water"),
    (r"rain|storm|drizzl|wet", water.rain, 0.0, "rain"),
    (r"forest|wood(s|land)|park|garden|tree|meadow|field|jungle|countryside|farm|lawn",
     animals.bird_chirps, -6.0, "distant birds"),
    (r"night|dusk|evening|moon|dark", animals.insects, -8.0, "night insects"),
    (r"city|street|plaza|square|road|urban|town|downtown|traffic|avenue|cathedral|building",
     machines.traffic, -4.0, "distant traffic"),
    (r"crowd|people|market|plaza|festival|busy|bustling|café|cafe|restaurant|station|stadium",
     crowd.babble, -6.0, "distant crowd"),
    (r"outdoor|sky|mountain|valley|hill|desert|cliff|field|meadow|lake|snow|beach|open",
     air.wind, -3.0, "open-air wind"),
    (r"room|indoor|interior|kitchen|table|studio|office|home|house|bedroom|portrait|close-up|"
     r"desk|shelf|library|museum|veranda|cafe|café", room_tone, -3.0, "room tone"),
]


def ambience_bed(scene: Scene, *, audio_length_in_s: float, sample_rate: int,
                 seed: int) -> tuple[np.ndarray, str]:
    """A mono bed for the whole scene (peak 0.5) and a sentence saying what it is made of."""
    text = " ".join([scene.scene_description, scene.mood_description,
                     *(s.name for s in scene.sound_sources)]).lower()
    n_samples = int(round(audio_length_in_s * sample_rate))
    rng = np.random.default_rng([seed, 0xA3B1E])
    calm = re.search(r"\b(?:calm|quiet|still|peaceful|serene|gentle|soft)", text) is not None
    ctx = SynthContext(rng, sample_rate, n_samples, density=0.6 if calm else 1.0)
    parts, names = [], []
    for keywords, layer, level_db, description in _LAYERS:
        if re.search(rf"\b(?:{keywords})", text):
            parts.append((layer(ctx), level_db))
            names.append(description)
    if not parts:
        parts, names = [(air.wind(ctx, strength=0.3), 0.0)], ["still air"]
    bed = fade_edges(mix_at_rms(parts), sample_rate, 0.05)
    return normalise_peak(bed, 0.5).astype(np.float32), "ambience bed: " + ", ".join(names)
