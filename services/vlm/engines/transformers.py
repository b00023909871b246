"""`transformers` describe engine: Qwen2.5-VL in-process (`Qwen2_5_VLForConditionalGeneration`).

The same conversation, parsing, repair round and confidence filter as the `vllm` engine
(services.vlm.prompt); only the transport differs. Without a server there is no
schema-guided decoding here: the prompt, the worked examples and the repair round carry the
format. Use it where running a vLLM server is not worth it (a single GPU shared with the other
studio services, or tests); use `vllm` for throughput.

Qwen2.5-VL's own processor also builds a video processor, which needs torchvision; this
engine only sends pictures, so it uses an image-only subclass with the real image code
(`Qwen2VLImageProcessorPil`, the NumPy/PIL backend of Qwen2-VL's image processor).
"""

from __future__ import annotations

import logging
import threading

import torch
from PIL import Image
from transformers import (
    AutoConfig,
    AutoTokenizer,
    BatchFeature,
    ProcessorMixin,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2_5_VLProcessor,
)
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

from imagewave.contracts.engines import DescribeEngineName
from imagewave.contracts.scene import Scene
from imagewave.errors import AcceleratorMissing
from imagewave.torch_device import resolve_device, resolve_dtype
from services.vlm.prompt import ChatTurn, Completion, describe_with_repair, fit_image
from services.vlm.settings import VlmSettings

log = logging.getLogger(__name__)

# Above this, `device=auto` on a machine without CUDA refuses to load (readiness fails) instead
# of generating at a few seconds per token on the CPU; `device=cpu` still loads anything.
CPU_MAX_PARAMETERS = 2_000_000_000


def count_parameters(model_id: str) -> int:
    """Parameters of the model `model_id` describes, counted on the meta device (no memory,
    no weights read): 8.29e9 for Qwen2.5-VL-7B."""
    config = AutoConfig.from_pretrained(model_id)
    with torch.device("meta"):
        model = Qwen2_5_VLForConditionalGeneration._from_config(config)
    return sum(p.numel() for p in model.parameters())
class ImageOnlyQwen2_5_VLProcessor(Qwen2_5_VLProcessor):  # noqa: N801 (transformers' naming)
    """Qwen2.5-VL's processor for pictures only: tokenizer + image processor, no video half."""

    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
        self.image_token = getattr(tokenizer, "image_token", None) or "<|image_pad|>"
        self.video_token = getattr(tokenizer, "video_token", None) or "<|video_pad|>"
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
        self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)

    @classmethod
    def from_pretrained(cls, model_id: str, **kwargs) -> ImageOnlyQwen2_5_VLProcessor:
        tokenizer = AutoTokenizer.from_pretrained(model_id, **kwargs)
        image_processor = Qwen2VLImageProcessorPil.from_pretrained(model_id, **kwargs)
        if not tokenizer.chat_template:
            raise OSError(f"{model_id} has no chat template for its tokenizer")
        return cls(image_processor, tokenizer, chat_template=tokenizer.chat_template)






class TransformersDescribeEngine:
    name = DescribeEngineName.transformers

    def __init__(self, model: Qwen2_5_VLForConditionalGeneration,
                 processor: ImageOnlyQwen2_5_VLProcessor, *, max_image_side_px: int = 768,
                 max_new_tokens: int = 1024, repair_max_new_tokens: int = 2048,
                 temperature: float = 0.2, few_shot: bool = True,
                 min_source_confidence: float = 0.3) -> None:
        self.model = model
        self.processor = processor
        self.max_image_side_px = max_image_side_px
        self.max_new_tokens = max_new_tokens
        self.repair_max_new_tokens = repair_max_new_tokens
        self.temperature = temperature
        self.few_shot = few_shot
        self.min_source_confidence = min_source_confidence
        # generate() on one model from several request threads would interleave their caches'
        # memory and gain nothing on one GPU: one at a time.
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: VlmSettings) -> TransformersDescribeEngine:
        device = resolve_device(settings.device)
        dtype = resolve_dtype(settings.torch_dtype, device, cuda_default=torch.bfloat16)
        if settings.device == "auto" and device.type == "cpu":
            parameters = count_parameters(settings.model_id)
            if parameters > CPU_MAX_PARAMETERS:
                raise AcceleratorMissing(
                    f"{settings.model_id} has {parameters / 1e9:.1f}B parameters and no CUDA "
                    f"device is visible (torch {torch.__version__}, CUDA build "
                    f"{torch.version.cuda}); check the driver, or set device=cpu to run it on "
                    "the CPU anyway")
        processor = ImageOnlyQwen2_5_VLProcessor.from_pretrained(settings.model_id)
        # Straight to the device, tensor by tensor from the safetensors files: a 7B model never
        # sits whole in host RAM (from_pretrained(...).to(device) would hold ~16.6 GB there).
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        model = Qwen2_5_VLForConditionalGeneration.from_pretrained(
            settings.model_id, dtype=dtype, device_map={"": device})
        model.eval()
        return cls(model, processor, max_image_side_px=settings.max_image_side_px,
                   max_new_tokens=settings.max_new_tokens,
                   repair_max_new_tokens=settings.repair_max_new_tokens,
                   temperature=settings.temperature,
                   few_shot=settings.few_shot,
                   min_source_confidence=settings.min_source_confidence)

    def describe(self, image: Image.Image) -> Scene:
        return describe_with_repair(self.complete, image, few_shot=self.few_shot,
                                    min_source_confidence=self.min_source_confidence,
                                    max_new_tokens=self.max_new_tokens,
                                    repair_max_new_tokens=self.repair_max_new_tokens)

    def prompt_text(self, turns: list[ChatTurn]) -> str:
        """The conversation through the model's chat template, ending where the model answers."""
        messages = []
        for turn in turns:
            if turn.image is None:
                messages.append({"role": turn.role, "content": turn.text})
            else:
                messages.append({"role": turn.role, "content": [
                    {"type": "image"}, {"type": "text", "text": turn.text}]})
        return self.processor.apply_chat_template(messages, tokenize=False,
                                                  add_generation_prompt=True)

    def prepare_inputs(self, turns: list[ChatTurn]) -> BatchFeature:
        images = [fit_image(t.image, self.max_image_side_px) for t in turns if t.image is not None]
        inputs = self.processor(text=[self.prompt_text(turns)], images=images or None,
                                return_tensors="pt")
        return inputs.to(self.model.device)

    def complete(self, turns: list[ChatTurn], max_tokens: int | None = None) -> Completion:
        budget = max_tokens or self.max_new_tokens
        inputs = self.prepare_inputs(turns)
        sampling = ({"do_sample": True, "temperature": self.temperature}
                    if self.temperature > 0 else {"do_sample": False})
        with self._lock, torch.inference_mode():
            output = self.model.generate(**inputs, max_new_tokens=budget, **sampling)
        new_tokens = output[0, inputs["input_ids"].shape[1]:]
        stop_ids = self.model.generation_config.eos_token_id
        stop_ids = set(stop_ids if isinstance(stop_ids, list) else [stop_ids])
        truncated = (new_tokens.numel() >= budget
                     and int(new_tokens[-1]) not in stop_ids)
        text = self.processor.tokenizer.decode(new_tokens, skip_special_tokens=True)
        return Completion(text, truncated=truncated)
