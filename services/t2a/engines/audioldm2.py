"""`audioldm2` sfx engine: diffusers' `AudioLDM2Pipeline` (cvssp/audioldm2 by default).

One prompt per sound source (services.t2a.prompt), all of a scene's sources in one batched
call (split only past `max_batch_prompts`), `num_waveforms_per_prompt` candidates each, the
best candidate per source chosen by the pipeline's CLAP model. The pipeline's own re-ranking
(`score_waveforms`) ranks every waveform of a batch against every prompt, so with several
prompts in one batch a source could get another source's clip; the engine therefore asks for
the candidates as repeated prompts and ranks each source's candidates against its own prompt,
with the same CLAP components and the same audio-text logits.

fp16 on CUDA, fp32 on CPU; model CPU offload for small GPUs; the model loads once (the app's
lifespan loads the default engine) and runs one short warm-up generation. One pipeline call at a
time (a lock): the scheduler keeps its timesteps and step index on itself, and CPU-offload hooks
move modules between devices, so two request threads in one pipeline would corrupt each other;
the service's admission control (`max_in_flight`) bounds how many wait for the lock.
"""

from __future__ import annotations

import inspect
import logging
import threading

import numpy as np
import soxr
import torch

from imagewave.contracts.engines import SfxEngineName
from imagewave.contracts.scene import Scene
from imagewave.errors import InvalidInput
from imagewave.torch_device import resolve_device, resolve_dtype
from services.t2a.engines import GeneratedEffect
from services.t2a.prompt import NEGATIVE_PROMPT, sound_prompt
from services.t2a.settings import T2aSettings

log = logging.getLogger(__name__)


def _language_model_class():
    """GPT2LMHeadModel whose forward also takes diffusers' `past_key_values`.

    diffusers' AudioLDM2 pipeline (through 0.42) calls the language model with
    `past_key_values=...`; transformers 5 renamed that argument `cache` and drops the old name in
    5.40, after which the call would fail (or the cache be ignored). Here the old name is mapped
    to whichever the installed transformers takes, so the pipeline works on both sides of 5.40
    and the deprecation warning is gone. (transformers 5 also keeps the cache under `cache` in
    the generation kwargs, which the pipeline's loop does not pass on: each of its 8 steps
    recomputes the short prefix, which is correct, and costs milliseconds.)"""
    from transformers import GPT2LMHeadModel

    cache_name = ("cache" if "cache" in inspect.signature(GPT2LMHeadModel.forward).parameters
                  else "past_key_values")

    class AudioLdm2LanguageModel(GPT2LMHeadModel):
        def forward(self, *args, past_key_values=None, **kwargs):
            if past_key_values is not None:
                kwargs[cache_name] = past_key_values
            return super().forward(*args, **kwargs)

    return AudioLdm2LanguageModel


def load_language_model(model_id: str, dtype: torch.dtype):
    """AudioLDM2's GPT-2 with the generation mixin the pipeline calls.

    cvssp/audioldm2 stores a bare `GPT2Model`, which since transformers 4.50 has no generation
    methods, so the pipeline fails with "'GPT2Model' object has no attribute
    '_get_initial_cache_position'" (diffusers issue #12630). `GPT2LMHeadModel` loads the same
    weights (its LM head is tied to the input embeddings and unused: the pipeline reads hidden
    states) and has those methods.
    """
    return _language_model_class().from_pretrained(model_id, subfolder="language_model",
                                                   dtype=dtype)


class AudioLdm2SfxEngine:
    name = SfxEngineName.audioldm2

    def __init__(self, pipeline, *, device: torch.device, num_inference_steps: int = 100,
                 guidance_scale: float = 3.5, num_waveforms_per_prompt: int = 2,
                 max_batch_prompts: int = 16) -> None:
        self.pipeline = pipeline
        self.device = device
        self.num_inference_steps = num_inference_steps
        self.guidance_scale = guidance_scale
        self.num_waveforms_per_prompt = num_waveforms_per_prompt
        self.max_batch_prompts = max_batch_prompts
        self._lock = threading.Lock()

    @property
    def model_sample_rate(self) -> int:
        """The vocoder's rate (16 kHz for AudioLDM2)."""
        return int(self.pipeline.vocoder.config.sampling_rate)

    @classmethod
    def from_settings(cls, settings: T2aSettings) -> AudioLdm2SfxEngine:
        import diffusers  # heavy: imported only when this engine is enabled

        device = resolve_device(settings.device)
        dtype = resolve_dtype(settings.torch_dtype, device)
        pipeline = diffusers.AudioLDM2Pipeline.from_pretrained(
            settings.model_id, dtype=dtype,  # `torch_dtype` is deprecated in diffusers
            language_model=load_language_model(settings.model_id, dtype))
        scheduler_class = getattr(diffusers, settings.scheduler, None)
        if scheduler_class is None or not hasattr(scheduler_class, "from_config"):
            raise ValueError(f"scheduler must name a diffusers scheduler class, got "
                             f"{settings.scheduler!r}")
        pipeline.scheduler = scheduler_class.from_config(pipeline.scheduler.config)
        if settings.cpu_offload and device.type == "cuda":
            pipeline.enable_model_cpu_offload(device=device)
        else:
            pipeline.to(device)
        pipeline.set_progress_bar_config(disable=True)
        engine = cls(pipeline, device=device, num_inference_steps=settings.num_inference_steps,
                     guidance_scale=settings.guidance_scale,
                     num_waveforms_per_prompt=settings.num_waveforms_per_prompt,
                     max_batch_prompts=settings.max_batch_prompts)
        if settings.warm_up:
            engine.warm_up()
        return engine

    def warm_up(self) -> None:
        """One short generation so the first request does not pay for lazy initialisation."""
        with self._lock:
            self.pipeline(["warm-up"], audio_length_in_s=1.0, num_inference_steps=1,
                          guidance_scale=1.0, output_type="pt")

    def check_inputs(self, scene: Scene, audio_length_in_s: float, sample_rate: int,
                     seed: int) -> None:
        if not 0.25 < audio_length_in_s <= 30.0:
            raise InvalidInput(f"audio_length_in_s must be in (0.25, 30], got "
                               f"{audio_length_in_s}", field="audio_length_in_s")
        if sample_rate < 8000:
            raise InvalidInput(f"sample_rate must be at least 8000, got {sample_rate}",
                               field="sample_rate")
        if seed < 0:
            raise InvalidInput(f"seed must be non-negative, got {seed}", field="seed")

    def generate(self, scene: Scene, *, audio_length_in_s: float, sample_rate: int,
                 seed: int) -> list[GeneratedEffect]:
        self.check_inputs(scene, audio_length_in_s, sample_rate, seed)
        with self._lock:
            return self._generate(scene, audio_length_in_s, sample_rate, seed)

    def _generate(self, scene: Scene, audio_length_in_s: float, sample_rate: int,
                  seed: int) -> list[GeneratedEffect]:
        prompts = [sound_prompt(scene, i) for i in range(len(scene.sound_sources))]
        candidates = self.num_waveforms_per_prompt
        generator = torch.Generator(device="cpu").manual_seed(seed)
        best: list[torch.Tensor] = []
        # sources per diffusion batch, so that batch = sources x candidates stays bounded
        per_batch = max(1, self.max_batch_prompts // candidates)
        for first in range(0, len(prompts), per_batch):
            group = prompts[first : first + per_batch]
            repeated = [prompt for prompt in group for _ in range(candidates)]
            with torch.inference_mode():
                audio = self.pipeline(
                    repeated, negative_prompt=[NEGATIVE_PROMPT] * len(repeated),
                    audio_length_in_s=audio_length_in_s,
                    num_inference_steps=self.num_inference_steps,
                    guidance_scale=self.guidance_scale, generator=generator,
                    output_type="pt",
                ).audios.float().cpu()
            audio = audio.reshape(len(group), candidates, -1)
            best.extend(audio[i, k] for i, k in enumerate(self.rank_candidates(group, audio)))
        return [
            GeneratedEffect(source_index=i, prompt=prompt,
                            samples=self._to_output(clip, audio_length_in_s, sample_rate))
            for i, (prompt, clip) in enumerate(zip(prompts, best, strict=True))
        ]

    def rank_candidates(self, prompts: list[str], audio: torch.Tensor) -> list[int]:
        """For each prompt, the index of its candidate (audio[i, :]) that CLAP matches best."""
        candidates = audio.shape[1]
        if candidates == 1:
            return [0] * len(prompts)
        pipe = self.pipeline
        extractor = pipe.feature_extractor
        flat = audio.reshape(-1, audio.shape[-1]).numpy()
        resampled = [soxr.resample(clip, self.model_sample_rate, extractor.sampling_rate)
                     for clip in flat]
        text = pipe.tokenizer(prompts, return_tensors="pt", padding=True)
        features = extractor(resampled, return_tensors="pt",
                             sampling_rate=extractor.sampling_rate).input_features
        encoder = pipe.text_encoder
        dtype = next(encoder.parameters()).dtype
        with torch.inference_mode():
            logits = encoder(input_ids=text.input_ids.to(encoder.device),
                             attention_mask=text.attention_mask.to(encoder.device),
                             input_features=features.to(encoder.device, dtype)).logits_per_text
        logits = logits.float().cpu().reshape(len(prompts), len(prompts), candidates)
        return [int(torch.argmax(logits[i, i])) for i in range(len(prompts))]

    def _to_output(self, clip: torch.Tensor, audio_length_in_s: float,
                   sample_rate: int) -> np.ndarray:
        """Resample from the vocoder's 16 kHz, fix the length, keep within [-1, 1]."""
        samples = clip.numpy().astype(np.float32)
        if sample_rate != self.model_sample_rate:
            samples = soxr.resample(samples, self.model_sample_rate, sample_rate)
        length = round(audio_length_in_s * sample_rate)
        samples = np.pad(samples, (0, max(0, length - samples.size)))[:length]
        peak = float(np.max(np.abs(samples))) if samples.size else 0.0
        if peak > 1.0:
            samples = samples / peak
        return samples.astype(np.float32)
