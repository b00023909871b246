"""Describe engines: each turns one RGB picture into a `Scene`."""

from __future__ import annotations

from typing import Protocol

from PIL import Image

from imagewave.contracts.engines import DescribeEngineName
from imagewave.contracts.scene import Scene
from imagewave.engines import EngineRegistry, registry_from_settings
from services.vlm.settings import VlmSettings


class DescribeEngine(Protocol):
    name: DescribeEngineName

    def describe(self, image: Image.Image) -> Scene: ...


def _load_lite(settings: VlmSettings) -> DescribeEngine:
    from services.vlm.engines.lite import LiteDescribeEngine

    return LiteDescribeEngine.from_settings(settings)


def _load_vllm(settings: VlmSettings) -> DescribeEngine:
    from services.vlm.engines.vllm import VllmDescribeEngine

    return VllmDescribeEngine.from_settings(settings)


def _load_transformers(settings: VlmSettings) -> DescribeEngine:
    from services.vlm.engines.transformers import TransformersDescribeEngine

    return TransformersDescribeEngine.from_settings(settings)


_LOADERS = {
    DescribeEngineName.lite: _load_lite,
    DescribeEngineName.vllm: _load_vllm,
    DescribeEngineName.transformers: _load_transformers,
}


def build_registry(settings: VlmSettings) -> EngineRegistry[DescribeEngineName, DescribeEngine]:
    return registry_from_settings(settings, _LOADERS)
