"""A tiny random-initialised AudioLDM2 pipeline of the real architecture, built offline.

Component configs follow diffusers' own fast tests (tests/pipelines/audioldm2); the tokenizers
are built from small in-memory vocabularies instead of downloaded, and the vocoder upsamples by
160 like the real one (16 kHz, 100 mel frames a second) so a second of audio stays cheap.
"""

from __future__ import annotations

import string
from pathlib import Path

import torch
from diffusers import (
    AudioLDM2Pipeline,
    AudioLDM2ProjectionModel,
    AudioLDM2UNet2DConditionModel,
    AutoencoderKL,
    DDIMScheduler,
)
from transformers import (
    ClapAudioConfig,
    ClapConfig,
    ClapFeatureExtractor,
    ClapModel,
    ClapTextConfig,
    GPT2Config,
    GPT2Model,
    RobertaTokenizer,
    SpeechT5HifiGan,
    SpeechT5HifiGanConfig,
    T5Config,
    T5EncoderModel,
    T5Tokenizer,
)
from transformers.convert_slow_tokenizer import bytes_to_unicode


def tiny_roberta_tokenizer() -> RobertaTokenizer:
    """Byte-level BPE with the 256 byte symbols and no merges: every byte is a token."""
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for symbol in bytes_to_unicode().values():
        vocab.setdefault(symbol, len(vocab))
    vocab["<mask>"] = len(vocab)
    return RobertaTokenizer(vocab=vocab, merges=[], model_max_length=77)


def tiny_t5_tokenizer() -> T5Tokenizer:
    """Unigram over single characters (with and without the word-start marker)."""
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    for char in string.ascii_lowercase + string.ascii_uppercase + string.digits + ".,;:'-()!?":
        pieces += [(f"▁{char}", -3.0), (char, -4.0)]
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=77)


def build_tiny_audioldm2(path: Path) -> Path:
    torch.manual_seed(0)
    unet = AudioLDM2UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=2, sample_size=32, in_channels=4,
        out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=([None, 16, 32], [None, 16, 32]),
    )
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False)
    vae = AutoencoderKL(block_out_channels=[32, 64], in_channels=1, out_channels=1,
                        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
                        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
                        latent_channels=4)
    tokenizer = tiny_roberta_tokenizer()
    text_config = ClapTextConfig(bos_token_id=0, eos_token_id=2, pad_token_id=1,
                                 hidden_size=16, intermediate_size=37, layer_norm_eps=1e-05,
                                 num_attention_heads=2, num_hidden_layers=2,
                                 vocab_size=len(tokenizer), projection_dim=16)
    audio_config = ClapAudioConfig(spec_size=64, window_size=4, num_mel_bins=64,
                                   intermediate_size=37, layer_norm_eps=1e-05, depths=[2, 2],
                                   num_attention_heads=[2, 2], num_hidden_layers=2,
                                   hidden_size=192, projection_dim=16, patch_size=2,
                                   patch_stride=2, patch_embed_input_channels=4)
    text_encoder = ClapModel(ClapConfig(text_config=text_config.to_dict(),
                                        audio_config=audio_config.to_dict(), projection_dim=16))
    # hop 7900 makes 10 s of 48 kHz audio ~64 frames, the tiny audio branch's spec_size
    feature_extractor = ClapFeatureExtractor(hop_length=7900)
    tokenizer_2 = tiny_t5_tokenizer()
    text_encoder_2 = T5EncoderModel(T5Config(vocab_size=len(tokenizer_2), d_model=32, d_ff=37,
                                             d_kv=8, num_heads=2, num_layers=2))
    language_model = GPT2Model(GPT2Config(n_embd=16, n_head=2, n_layer=2, vocab_size=1000,
                                          n_ctx=99, n_positions=99, bos_token_id=0,
                                          eos_token_id=0))
    language_model.config.max_new_tokens = 8
    projection_model = AudioLDM2ProjectionModel(text_encoder_dim=16, text_encoder_1_dim=32,
                                                langauge_model_dim=16)
    vocoder = SpeechT5HifiGan(SpeechT5HifiGanConfig(
        model_in_dim=8, sampling_rate=16000, upsample_initial_channel=16,
        upsample_rates=[5, 4, 4, 2], upsample_kernel_sizes=[10, 8, 8, 4],
        resblock_kernel_sizes=[3, 7], resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5]],
        normalize_before=False,
    ))
    pipeline = AudioLDM2Pipeline(
        unet=unet, scheduler=scheduler, vae=vae, text_encoder=text_encoder,
        text_encoder_2=text_encoder_2, tokenizer=tokenizer, tokenizer_2=tokenizer_2,
        feature_extractor=feature_extractor, language_model=language_model,
        projection_model=projection_model, vocoder=vocoder,
    )
    pipeline.save_pretrained(path)
    return path
