"""Full-size studio models with random weights, from the configs kept in bench/configs/.

No weights can be downloaded here, so the GPU benchmark builds the real architectures at their
real size from their published configs (architecture fields only) and saves them like hub
checkpoints; the engines then load them through their production `from_settings`. Random
weights run the same kernels on the same shapes as trained ones, so load time, latency per
step, tokens/s and memory are those of the real models; only the outputs are noise (a random
Qwen never writes its end token, so describe runs its whole token budget).

The tokenizers are the tests' small offline ones (tests/models/): only the token ids that occur
differ; the special-token ids in the Qwen config are set to that tokenizer's.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def _config(name: str) -> dict:
    data = json.loads((CONFIG_DIR / name).read_text())
    return {key: value for key, value in data.items() if not key.startswith("_")}


# -- Qwen2.5-VL-7B ---------------------------------------------------------------------------

def qwen_config(tokenizer=None):
    from transformers import Qwen2_5_VLConfig

    values = _config("qwen2_5_vl_7b_instruct.json")
    values.pop("image_processor")
    if tokenizer is not None:
        ids = tokenizer.convert_tokens_to_ids
        values.update(bos_token_id=ids("<|endoftext|>"), eos_token_id=ids("<|im_end|>"),
                      pad_token_id=ids("<|endoftext|>"),
                      vision_start_token_id=ids("<|vision_start|>"),
                      vision_end_token_id=ids("<|vision_end|>"),
                      image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"))
    return Qwen2_5_VLConfig(**values)


def count_qwen_parameters() -> int:
    from transformers import Qwen2_5_VLForConditionalGeneration

    with torch.device("meta"):
        model = Qwen2_5_VLForConditionalGeneration._from_config(qwen_config())
    return sum(p.numel() for p in model.parameters())


def build_qwen2_5_vl_7b(path: Path, corpus: list[str], device: str) -> Path:
    """Random bf16 weights initialised on `device` (fast on a GPU), saved as safetensors."""
    from transformers import Qwen2_5_VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    from tests.models.tiny_qwen2_5_vl import tiny_qwen2_tokenizer

    tokenizer = tiny_qwen2_tokenizer(corpus)
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2_5_VLForConditionalGeneration._from_config(qwen_config(tokenizer),
                                                                dtype=torch.bfloat16)
    model.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    processor_kwargs = _config("qwen2_5_vl_7b_instruct.json")["image_processor"]
    model.save_pretrained(path)
    del model
    tokenizer.save_pretrained(path)
    Qwen2VLImageProcessorPil(**processor_kwargs).save_pretrained(path)
    return path


# -- AudioLDM2 -------------------------------------------------------------------------------

def audioldm2_components(spec: dict, tokenizer, tokenizer_2) -> dict:
    from diffusers import (
        AudioLDM2ProjectionModel,
        AudioLDM2UNet2DConditionModel,
        AutoencoderKL,
        DDIMScheduler,
    )
    from transformers import (
        ClapConfig,
        ClapFeatureExtractor,
        ClapModel,
        GPT2Config,
        GPT2Model,
        SpeechT5HifiGan,
        SpeechT5HifiGanConfig,
        T5Config,
        T5EncoderModel,
    )

    unet_spec = dict(spec["unet"])
    unet_spec["cross_attention_dim"] = tuple(tuple(d) for d in unet_spec["cross_attention_dim"])
    gpt2 = dict(spec["gpt2"])
    max_new_tokens = gpt2.pop("max_new_tokens")
    language_model = GPT2Model(GPT2Config(**gpt2))
    language_model.config.max_new_tokens = max_new_tokens
    clap = spec["clap"]
    return dict(
        unet=AudioLDM2UNet2DConditionModel(**unet_spec),
        scheduler=DDIMScheduler(**spec["scheduler"]),
        vae=AutoencoderKL(**spec["vae"]),
        text_encoder=ClapModel(ClapConfig(text_config=clap["text_config"],
                                          audio_config=clap["audio_config"],
                                          projection_dim=clap["projection_dim"])),
        text_encoder_2=T5EncoderModel(T5Config(**spec["t5"])),
        tokenizer=tokenizer, tokenizer_2=tokenizer_2,
        feature_extractor=ClapFeatureExtractor(),
        language_model=language_model,
        projection_model=AudioLDM2ProjectionModel(**spec["projection"]),
        vocoder=SpeechT5HifiGan(SpeechT5HifiGanConfig(**spec["vocoder"])),
    )


def count_audioldm2_parameters() -> dict[str, int]:
    from tests.models.tiny_audioldm2 import tiny_roberta_tokenizer, tiny_t5_tokenizer

    with torch.device("meta"):
        components = audioldm2_components(_config("audioldm2.json"), tiny_roberta_tokenizer(),
                                          tiny_t5_tokenizer())
    return {name: sum(p.numel() for p in module.parameters())
            for name, module in components.items() if isinstance(module, torch.nn.Module)}


def build_audioldm2(path: Path, device: str) -> Path:
    """The full pipeline with random fp32 weights (the engine loads them in fp16 on CUDA)."""
    from diffusers import AudioLDM2Pipeline

    from tests.models.tiny_audioldm2 import tiny_roberta_tokenizer, tiny_t5_tokenizer

    torch.manual_seed(0)
    with torch.device(device):
        components = audioldm2_components(_config("audioldm2.json"), tiny_roberta_tokenizer(),
                                          tiny_t5_tokenizer())
    AudioLDM2Pipeline(**components).save_pretrained(path)
    return path
