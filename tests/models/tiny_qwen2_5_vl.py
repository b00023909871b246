"""A tiny random-initialised Qwen2.5-VL of the real architecture, with its tokenizer, image
processor and chat template, built offline and saved like a hub checkpoint.

The config follows transformers' own Qwen2.5-VL tests (hidden size 32, two vision blocks); the
tokenizer is Qwen2's byte-level BPE over the 256 byte symbols plus the model's special tokens;
the chat template is Qwen2.5-VL's (image placeholders inside `<|vision_start|>...<|vision_end|>`).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2Tokenizer
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>",
                  "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]

CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _learn_bpe(corpus: list[str], vocab_size: int) -> tuple[dict[str, int], list[tuple[str, str]]]:
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.train_from_iterator(corpus, trainers.BpeTrainer(
        vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False))
    model = json.loads(bpe.to_str())["model"]
    return dict(model["vocab"]), [tuple(merge) for merge in model["merges"]]


def tiny_qwen2_tokenizer(corpus: list[str]) -> Qwen2Tokenizer:
    vocab, merges = _learn_bpe(corpus, vocab_size=1500)
    for token in SPECIAL_TOKENS:
        vocab[token] = len(vocab)
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token="<|endoftext|>",
                               eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS[1:]})
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def tiny_qwen2_5_vl_config(tokenizer: Qwen2Tokenizer) -> Qwen2_5_VLConfig:
    ids = tokenizer.convert_tokens_to_ids
    return Qwen2_5_VLConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, hidden_act="silu",
        max_position_embeddings=8192, max_window_layers=2, tie_word_embeddings=True,
        rope_scaling={"type": "mrope", "mrope_section": [2, 1, 1]}, rope_theta=10000,
        bos_token_id=ids("<|endoftext|>"), eos_token_id=ids("<|im_end|>"),
        pad_token_id=ids("<|endoftext|>"), vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"), image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_config={"depth": 2, "in_chans": 3, "hidden_act": "silu", "intermediate_size": 32,
                       "out_hidden_size": 32, "hidden_size": 32, "num_heads": 4,
                       "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2,
                       "window_size": 112, "fullatt_block_indexes": [1]},
    )


def build_tiny_qwen2_5_vl(path: Path, corpus: list[str]) -> Path:
    """Save model, tokenizer (BPE learnt from `corpus`), image processor and chat template."""
    tokenizer = tiny_qwen2_tokenizer(corpus)
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(tiny_qwen2_5_vl_config(tokenizer)).eval()
    model.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    # small pixel budget: a 224 px side is 8x8 merged image tokens
    image_processor = Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=224 * 224)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    image_processor.save_pretrained(path)
    return path


def teach_reply(engine, turns, reply: str, *, max_steps: int = 300, lr: float = 1e-2) -> float:
    """Fine-tune the engine's tiny model until greedy decoding of `turns` gives `reply`.

    The inputs come from the engine's own `prepare_inputs` (chat template, image processor), so
    the taught answer is what the production path will generate. Training stops as soon as every
    answer token is the argmax given the ones before it, which is when greedy decoding
    reproduces the answer exactly. Returns how many steps it took.
    """
    inputs = engine.prepare_inputs(turns)
    tokenizer = engine.processor.tokenizer
    answer = tokenizer(reply + "<|im_end|>", add_special_tokens=False,
                       return_tensors="pt").input_ids
    prompt_length = inputs["input_ids"].shape[1]
    batch = dict(inputs)
    batch["input_ids"] = torch.cat([inputs["input_ids"], answer], dim=1)
    batch["attention_mask"] = torch.ones_like(batch["input_ids"])
    if "mm_token_type_ids" in batch:
        batch["mm_token_type_ids"] = torch.cat(
            [inputs["mm_token_type_ids"], torch.zeros_like(answer)], dim=1)
    labels = batch["input_ids"].clone()
    labels[:, :prompt_length] = -100
    model = engine.model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    torch.manual_seed(0)
    for step in range(max_steps):
        output = model(**batch, labels=labels)
        predicted = output.logits[0, prompt_length - 1 : -1].argmax(-1)
        if torch.equal(predicted, answer[0]):
            model.eval()
            return step
        optimizer.zero_grad()
        output.loss.backward()
        optimizer.step()
    raise AssertionError(f"the tiny model did not learn the reply in {max_steps} steps")
