"""The describe work, without HTTP: bytes in, validated scene out."""

from __future__ import annotations

from imagewave.contracts.engines import DescribeEngineName
from imagewave.contracts.stages import DescribeResponse
from imagewave.images import open_image
from imagewave.visual import visual_features
from services.vlm.engines import build_registry
from services.vlm.settings import VlmSettings


class VlmServing:
    def __init__(self, settings: VlmSettings) -> None:
        self.settings = settings
        self.engines = build_registry(settings)

    def warm_up(self) -> None:
        self.engines.load_default()

    def describe(self, image_bytes: bytes,
                 engine: DescribeEngineName | None = None) -> DescribeResponse:
        image = open_image(image_bytes, max_pixels=self.settings.max_image_pixels)
        chosen = self.engines.get(engine)
        scene = chosen.describe(image)
        # Every engine's scene gets the same pixel statistics: the composer's picture character.
        scene = scene.model_copy(update={"visual": visual_features(image)})
        return DescribeResponse(scene=scene, engine=chosen.name)
