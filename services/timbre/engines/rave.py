"""`rave` timbre engine: one exported RAVE model (TorchScript) per instrument.

`<model_dir>/<instrument>.ts` is what acids-rave's `rave export` writes (see
services/timbre/train/). Serving needs only `torch.jit.load`; everything the engine must know
is read from the export rather than guessed (the seed resampled to an assumed 48 kHz and padded
to an assumed stride):
- `sr`: the model's sample rate; the effect is resampled to it and the voice back;
- `encode_params[3]`: the compression ratio (samples per latent frame); every forward pass is a
  multiple of it, and of 2048: RAVE v2's noise branch downsamples further than the latent, and
  acids-rave validates its exports on power-of-two buffers (2**14), so power-of-two multiples
  of the ratio are the lengths every export accepts.

Long effects are cut into chunks of `chunk_s` with `context_s` of real audio either side; the
chunks go through the model `batch_chunks` at a time (one batch on GPU) and are overlap-added
with linear cross-fades over the context, so memory stays bounded and seams stay smooth.
Streaming exports (`rave export --streaming`, cached convolutions) carry state between calls,
so they are run chunk after chunk instead, with their state cleared before each effect; their
small built-in latency is not compensated. The training recipe exports non-streaming models.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr
import torch

from imagewave.contracts.engines import TimbreEngineName
from imagewave.contracts.scene import MELODIC_ROLES, Role
from imagewave.errors import EngineUnavailable, InvalidInput
from imagewave.torch_device import resolve_device
from services.timbre.engines import TimbreResult
from services.timbre.settings import TimbreSettings

log = logging.getLogger(__name__)

_BLOCK_SAMPLES = 2048
# RAVE's latent sampling draws from torch's RNG: a fixed seed makes a voice repeatable.
_RAVE_SEED = 0


@dataclass
class RaveModel:
    module: torch.jit.ScriptModule
    path: Path
    sampling_rate: int  # the model's own rate
    compression_ratio: int  # audio samples per latent frame
    streaming: bool  # cached-convolution export: stateful between calls

    @classmethod
    def load(cls, path: Path, device: torch.device) -> RaveModel:
        module = torch.jit.load(str(path), map_location=device).eval()
        for required in ("sr", "encode_params", "encode", "decode"):
            if not hasattr(module, required):
                raise RuntimeError(f"{path} is not a RAVE export: it has no {required!r}")
        channels, _, _, ratio = (int(v) for v in module.encode_params.tolist())
        if channels != 1:
            raise RuntimeError(f"{path} expects {channels} input channels; effects are mono")
        streaming = any(name.endswith(".cache.pad") for name, _ in module.named_buffers())
        return cls(module, path, int(module.sr), ratio, streaming)

    @property
    def block_samples(self) -> int:
        """Every forward pass is a multiple of this many samples (see the module docstring)."""
        return math.lcm(self.compression_ratio, _BLOCK_SAMPLES)

    def reset_state(self) -> None:
        """Zero the cached-convolution buffers so one effect cannot leak into the next."""
        for name, buffer in self.module.named_buffers():
            if name.endswith((".pad", ".cache")):
                buffer.zero_()


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


class RaveTimbreEngine:
    name = TimbreEngineName.rave

    def __init__(self, models: dict[Role, RaveModel], *, model_dir: Path, device: torch.device,
                 chunk_s: float = 10.0, context_s: float = 0.5, batch_chunks: int = 8) -> None:
        self.models = models
        self.model_dir = model_dir
        self.device = device
        self.chunk_s = chunk_s
        self.context_s = context_s
        self.batch_chunks = batch_chunks

    @classmethod
    def from_settings(cls, settings: TimbreSettings) -> RaveTimbreEngine:
        device = resolve_device(settings.device)
        models = {}
        for role in MELODIC_ROLES:
            path = settings.model_dir / f"{role.value}.ts"
            if path.is_file():
                models[role] = RaveModel.load(path, device)
                log.info("RAVE %s: %s, %d Hz, ratio %d%s", role.value, path,
                         models[role].sampling_rate, models[role].compression_ratio,
                         ", streaming" if models[role].streaming else "")
        if not models:
            raise FileNotFoundError(f"no RAVE model in {settings.model_dir}: expected "
                                    "keyboard.ts, bass.ts and/or guitar.ts")
        return cls(models, model_dir=settings.model_dir, device=device,
                   chunk_s=settings.chunk_s, context_s=settings.context_s,
                   batch_chunks=settings.batch_chunks)

    def check_inputs(self, samples: np.ndarray, sample_rate: int, instrument: Role) -> None:
        if not instrument.is_melodic:
            raise InvalidInput(f"instrument must be keyboard, bass or guitar, not "
                               f"{instrument.value}", field="instrument")
        if instrument not in self.models:
            raise EngineUnavailable(f"no RAVE model for {instrument.value}: expected "
                                    f"{self.model_dir / (instrument.value + '.ts')}")
        if samples.ndim != 1 or samples.size == 0:
            raise InvalidInput(f"audio must be mono and non-empty, got shape {samples.shape}",
                               field="audio")
        if not np.all(np.isfinite(samples)):
            raise InvalidInput("audio contains NaN or infinite samples", field="audio")
        if sample_rate <= 0:
            raise InvalidInput(f"sample_rate must be positive, got {sample_rate}",
                               field="sample_rate")

    def transfer(self, samples: np.ndarray, sample_rate: int, instrument: Role) -> TimbreResult:
        samples = np.asarray(samples, dtype=np.float32)
        self.check_inputs(samples, sample_rate, instrument)
        model = self.models[instrument]
        audio = soxr.resample(samples, sample_rate, model.sampling_rate).astype(np.float32)
        with torch.inference_mode(), torch.random.fork_rng(devices=self._rng_devices()):
            torch.manual_seed(_RAVE_SEED)
            voice = (self._run_streaming(model, audio) if model.streaming
                     else self._run_chunked(model, audio))
        voice = soxr.resample(voice, model.sampling_rate, sample_rate).astype(np.float32)
        voice = np.pad(voice, (0, max(0, samples.size - voice.size)))[: samples.size]
        peak = float(np.max(np.abs(voice))) if voice.size else 0.0
        if peak > 1.0:  # RAVE's output level is the model's; only guard against clipping
            voice /= peak
        return TimbreResult(samples=voice, sample_rate=sample_rate, root_pitch=None)

    def _rng_devices(self) -> list[int]:
        if self.device.type == "cuda":
            return [self.device.index or 0]
        return []

    def _chunk_lengths(self, model: RaveModel) -> tuple[int, int]:
        block = model.block_samples
        chunk = _round_up(max(1, round(self.chunk_s * model.sampling_rate)), block)
        context = _round_up(round(self.context_s * model.sampling_rate), block)
        return chunk, context

    def _run_chunked(self, model: RaveModel, audio: np.ndarray) -> np.ndarray:
        """Overlapping windows, batched, overlap-added with linear cross-fades."""
        chunk, context = self._chunk_lengths(model)
        window = chunk + 2 * context
        n_chunks = -(-audio.size // chunk)
        # context zeros before the first chunk, enough zeros after the last window
        padded = np.zeros(n_chunks * chunk + 2 * context, dtype=np.float32)
        padded[context : context + audio.size] = audio
        fade = self._fade(window, context)
        output = np.zeros_like(padded)
        weight = np.zeros_like(padded)
        starts = [i * chunk for i in range(n_chunks)]
        for first in range(0, n_chunks, self.batch_chunks):
            batch_starts = starts[first : first + self.batch_chunks]
            batch = np.stack([padded[s : s + window] for s in batch_starts])
            x = torch.from_numpy(batch).unsqueeze(1).to(self.device)
            y = model.module.forward(x)[:, 0, :window].float().cpu().numpy()
            for start, voice in zip(batch_starts, y, strict=True):
                output[start : start + voice.shape[-1]] += voice * fade[: voice.shape[-1]]
                weight[start : start + voice.shape[-1]] += fade[: voice.shape[-1]]
        output /= np.maximum(weight, 1e-6)
        return output[context : context + audio.size]

    @staticmethod
    def _fade(window: int, context: int) -> np.ndarray:
        """Rises over the first 2·context samples, falls over the last: neighbours sum to 1."""
        fade = np.ones(window, dtype=np.float32)
        if context:
            ramp = np.arange(1, 2 * context + 1, dtype=np.float32) / (2 * context + 1)
            fade[: 2 * context] = ramp
            fade[-2 * context :] = ramp[::-1]
        return fade

    def _run_streaming(self, model: RaveModel, audio: np.ndarray) -> np.ndarray:
        """Chunk after chunk through the model's own caches, from a cleared state."""
        chunk, _ = self._chunk_lengths(model)
        padded = np.zeros(_round_up(audio.size, chunk), dtype=np.float32)
        padded[: audio.size] = audio
        model.reset_state()
        pieces = []
        for start in range(0, padded.size, chunk):
            x = torch.from_numpy(padded[start : start + chunk]).view(1, 1, -1).to(self.device)
            pieces.append(model.module.forward(x)[0, 0].float().cpu().numpy())
        model.reset_state()
        return np.concatenate(pieces)[: audio.size]
