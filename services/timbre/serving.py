"""The timbre work, without HTTP."""

from __future__ import annotations

from imagewave.audio import to_mono
from imagewave.contracts.audio import AudioPayload
from imagewave.contracts.stages import TimbreRequest, TimbreResponse
from imagewave.errors import InvalidInput
from services.timbre.engines import build_registry
from services.timbre.settings import TimbreSettings


class TimbreServing:
    def __init__(self, settings: TimbreSettings) -> None:
        self.settings = settings
        self.engines = build_registry(settings)

    def warm_up(self) -> None:
        self.engines.load_default()

    def transfer(self, request: TimbreRequest) -> TimbreResponse:
        if not request.instrument.is_melodic:
            raise InvalidInput("instrument must be keyboard, bass or guitar, not drums",
                               field="instrument")
        samples = to_mono(request.audio.to_array())
        engine = self.engines.get(request.engine)
        result = engine.transfer(samples, request.audio.sample_rate, request.instrument)
        return TimbreResponse(audio=AudioPayload.from_array(result.samples, result.sample_rate),
                              root_pitch=result.root_pitch, engine=engine.name)
