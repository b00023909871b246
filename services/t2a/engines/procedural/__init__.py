"""`procedural`: the embedded default sfx engine — CPU synthesisers, no model, no download.

Every source is rendered from its words by the recipe `recipes.choose_recipe` picks (modal
impacts by material, water, air, animals, machines, people). A source's variants are layered:
the first at full level, the others 6 dB under it, because a scene's variants describe sounds
the same object makes at the same time (leaves rustling and brushing a pot). Seeds are derived
from (seed, source index, variant index), so a result never depends on the other sources.
The scene's mood (its arousal, or its mood words) makes every source up to 1.4x busier or
calmer. `ambience_bed(scene, ...)` renders the place itself (sea, forest, street, room) for a
pipeline that wants a bed under the song or one more sound than the scene names.

Each effect is checked with `imagewave.analysis.tonality`; an effect that rings above
`NON_MUSICAL_TONALITY_MAX` (rare: a long metal ring) gets its setting's noise raised under it
until it passes, and its prompt says so.
"""

from __future__ import annotations

import numpy as np

from imagewave.analysis import NON_MUSICAL_TONALITY_MAX, tonality
from imagewave.cancellation import check_canceled
from imagewave.contracts.engines import SfxEngineName
from imagewave.contracts.scene import Scene, SoundSource
from imagewave.errors import InvalidInput
from services.t2a.engines import GeneratedEffect
from services.t2a.engines.procedural.ambience import ambience_bed
from services.t2a.engines.procedural.primitives import (
    SynthContext,
    bandpass,
    fade_edges,
    lowpass,
    normalise_peak,
    pink_noise,
    rms,
)
from services.t2a.engines.procedural.recipes import character_of, choose_recipe, mood_activity
from services.t2a.settings import T2aSettings

__all__ = ["ProceduralSfxEngine", "ambience_bed"]

_SECONDARY_VARIANT_DB = -6.0
_PEAK = 0.8


class ProceduralSfxEngine:
    name = SfxEngineName.procedural

    @classmethod
    def from_settings(cls, settings: T2aSettings) -> ProceduralSfxEngine:
        del settings  # nothing to configure: no model, no device
        return cls()

    def check_inputs(self, audio_length_in_s: float, sample_rate: int, seed: int) -> None:
        if not 0.25 <= audio_length_in_s <= 60.0:
            raise InvalidInput(f"audio_length_in_s must be 0.25..60 s, got {audio_length_in_s}",
                               field="audio_length_in_s")
        if not 8_000 <= sample_rate <= 192_000:
            raise InvalidInput(f"sample_rate must be 8000..192000 Hz, got {sample_rate}",
                               field="sample_rate")
        if seed < 0:
            raise InvalidInput(f"seed must be >= 0, got {seed}", field="seed")

    def generate(self, scene: Scene, *, audio_length_in_s: float, sample_rate: int,
                 seed: int) -> list[GeneratedEffect]:
        self.check_inputs(audio_length_in_s, sample_rate, seed)
        n_samples = int(round(audio_length_in_s * sample_rate))
        activity = mood_activity(scene)
        return [self.render_source(source, index, n_samples=n_samples, sample_rate=sample_rate,
                                   seed=seed, activity=activity)
                for index, source in enumerate(scene.sound_sources)]

    def render_source(self, source: SoundSource, index: int, *, n_samples: int,
                      sample_rate: int, seed: int, activity: float = 0.0) -> GeneratedEffect:
        mix = np.zeros(n_samples)
        descriptions = []
        for variant_index, variant in enumerate(source.variants):
            check_canceled()  # the caller gave up: stop (imagewave/cancellation.py)
            recipe = choose_recipe(source, variant)
            character = character_of(variant, activity)
            ctx = SynthContext(np.random.default_rng([seed, index, variant_index]), sample_rate,
                               n_samples, character.brightness, character.density,
                               character.size, character.regular)
            layer = np.nan_to_num(np.asarray(recipe.synth(ctx), dtype=np.float64))[:n_samples]
            layer = np.pad(layer, (0, n_samples - len(layer)))
            level_db = 0.0 if variant_index == 0 else _SECONDARY_VARIANT_DB
            if rms(layer) > 0:
                mix += layer / rms(layer) * 10 ** (level_db / 20)
            descriptions.append(f"{variant.play_method!r} → {recipe.family}.{recipe.summary} "
                                f"({character.describe()})")
        mix = normalise_peak(fade_edges(mix, sample_rate), _PEAK)
        mix, masking = _keep_non_musical(mix, sample_rate,
                                         np.random.default_rng([seed, index, 0x5EED]))
        prompt = f"{source.name}: " + "; ".join(descriptions) + masking
        return GeneratedEffect(source_index=index, prompt=prompt,
                               samples=mix.astype(np.float32))


def _keep_non_musical(samples: np.ndarray, sample_rate: int,
                      rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Raise a noise bed (following the effect's own loudness) under a too-tonal effect until it
    scores below the threshold, in 6 dB steps from -12 dB to +6 dB."""
    score = tonality(samples, sample_rate)
    if score < NON_MUSICAL_TONALITY_MAX:
        return samples, ""
    ctx = SynthContext(rng, sample_rate, len(samples))
    envelope = lowpass(np.abs(samples), sample_rate, 10.0, order=1)
    bed = bandpass(pink_noise(ctx), sample_rate, 150, 9000) * (envelope + 0.02 * envelope.max())
    bed = bed / (rms(bed) + 1e-12) * rms(samples)
    first = score
    for level_db in (-12.0, -6.0, 0.0, 6.0):
        masked = normalise_peak(samples + bed * 10 ** (level_db / 20), _PEAK)
        score = tonality(masked, sample_rate)
        if score < NON_MUSICAL_TONALITY_MAX:
            break
    return masked, (f"; tonality {first:.2f} ≥ {NON_MUSICAL_TONALITY_MAX}: noise bed raised to "
                    f"{level_db:+.0f} dB, tonality now {score:.2f}")
