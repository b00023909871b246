"""Engine names per stage. `str` Enums so they serialise as plain strings in options and JSON."""

from enum import Enum


class DescribeEngineName(str, Enum):
    lite = "lite"  # CPU classifier + sound knowledge table; embedded default
    vllm = "vllm"  # Qwen2.5-VL behind vLLM's OpenAI-compatible server
    transformers = "transformers"  # the same model in-process


class SfxEngineName(str, Enum):
    procedural = "procedural"  # CPU synthesisers; embedded default
    audioldm2 = "audioldm2"  # diffusers AudioLDM2


class TimbreEngineName(str, Enum):
    dsp = "dsp"  # CPU voices driven by the effect; embedded default
    rave = "rave"  # exported TorchScript RAVE model per instrument
