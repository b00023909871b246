"""The four services' serving objects behind the pipeline's `StageClients` protocol, in this
process: no HTTP, same contracts. Used by `imagewave compose` and tests; it lives in the
composition layer because it is the one place that imports every service."""

from __future__ import annotations

from imagewave.contracts.engines import DescribeEngineName
from imagewave.contracts.stages import (
    ArrangementRequest,
    ArrangementResponse,
    DescribeResponse,
    InstrumentRequest,
    InstrumentResponse,
    RenderRequest,
    RenderResponse,
    SfxRequest,
    SfxResponse,
    TimbreRequest,
    TimbreResponse,
)


class InProcessStageClients:
    """The services' serving objects called directly: no HTTP, same contracts.

    Each serving object is built on first use, so `imagewave compose` loads only what a job needs.
    """

    def __init__(self, *, vlm_settings=None, t2a_settings=None, timbre_settings=None,
                 render_settings=None) -> None:
        from services.render.settings import RenderSettings
        from services.t2a.settings import T2aSettings
        from services.timbre.settings import TimbreSettings
        from services.vlm.settings import VlmSettings

        self._settings = {
            "vlm": vlm_settings or VlmSettings(),
            "t2a": t2a_settings or T2aSettings(),
            "timbre": timbre_settings or TimbreSettings(),
            "render": render_settings or RenderSettings(),
        }
        self._serving: dict[str, object] = {}

    def _get(self, name: str):
        if name not in self._serving:
            from services.render.serving import RenderServing
            from services.t2a.serving import T2aServing
            from services.timbre.serving import TimbreServing
            from services.vlm.serving import VlmServing

            factory = {"vlm": VlmServing, "t2a": T2aServing, "timbre": TimbreServing,
                       "render": RenderServing}[name]
            self._serving[name] = factory(self._settings[name])
        return self._serving[name]

    def describe(self, image: bytes, engine: DescribeEngineName | None) -> DescribeResponse:
        return self._get("vlm").describe(image, engine)

    def sfx(self, request: SfxRequest) -> SfxResponse:
        return self._get("t2a").generate(request)

    def timbre(self, request: TimbreRequest) -> TimbreResponse:
        return self._get("timbre").transfer(request)

    def instrument(self, request: InstrumentRequest) -> InstrumentResponse:
        return self._get("render").build_instrument(request)

    def arrange(self, request: ArrangementRequest) -> ArrangementResponse:
        return self._get("render").arrange(request)

    def render(self, request: RenderRequest) -> RenderResponse:
        return self._get("render").render(request)

    def close(self) -> None:
        self._serving.clear()
