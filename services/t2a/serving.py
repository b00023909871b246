"""The sfx work, without HTTP."""

from __future__ import annotations

from imagewave.contracts.audio import AudioPayload
from imagewave.contracts.stages import SfxRequest, SfxResponse, SoundEffect
from services.t2a.engines import build_registry
from services.t2a.settings import T2aSettings


class T2aServing:
    def __init__(self, settings: T2aSettings) -> None:
        self.settings = settings
        self.engines = build_registry(settings)

    def warm_up(self) -> None:
        self.engines.load_default()

    def generate(self, request: SfxRequest) -> SfxResponse:
        engine = self.engines.get(request.engine)
        effects = engine.generate(request.scene, audio_length_in_s=request.audio_length_in_s,
                                  sample_rate=request.sample_rate, seed=request.seed)
        sources = request.scene.sound_sources
        return SfxResponse(
            engine=engine.name,
            effects=[
                SoundEffect(source_index=e.source_index, name=sources[e.source_index].name,
                            prompt=e.prompt,
                            audio=AudioPayload.from_array(e.samples, request.sample_rate))
                for e in effects
            ],
        )
