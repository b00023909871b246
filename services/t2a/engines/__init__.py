"""Sound-effect engines: each turns every source of a scene into one mono clip."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from imagewave.contracts.engines import SfxEngineName
from imagewave.contracts.scene import Scene
from imagewave.engines import EngineRegistry, registry_from_settings
from services.t2a.settings import T2aSettings


@dataclass
class GeneratedEffect:
    source_index: int
    prompt: str  # the text prompt (audioldm2) or synthesis recipe (procedural) used
    samples: np.ndarray  # mono float32 in [-1, 1]


class SfxEngine(Protocol):
    name: SfxEngineName

    def generate(self, scene: Scene, *, audio_length_in_s: float, sample_rate: int,
                 seed: int) -> list[GeneratedEffect]:
        """One effect per entry of `scene.sound_sources`, each `audio_length_in_s` long."""
        ...


def _load_procedural(settings: T2aSettings) -> SfxEngine:
    from services.t2a.engines.procedural import ProceduralSfxEngine

    return ProceduralSfxEngine.from_settings(settings)


def _load_audioldm2(settings: T2aSettings) -> SfxEngine:
    from services.t2a.engines.audioldm2 import AudioLdm2SfxEngine

    return AudioLdm2SfxEngine.from_settings(settings)


_LOADERS = {SfxEngineName.procedural: _load_procedural, SfxEngineName.audioldm2: _load_audioldm2}


def build_registry(settings: T2aSettings) -> EngineRegistry[SfxEngineName, SfxEngine]:
    return registry_from_settings(settings, _LOADERS)
