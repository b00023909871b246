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

Shapes and state, because a GPU service runs requests from several threads:
- windows are sized to the effect: an effect shorter than one chunk runs in one window of a
  power-of-two number of blocks just long enough for it and its context (a 4 s effect is not
  run as an 11 s window), and batches are padded to a power of two of chunks, so the model
  only ever sees a handful of shapes; `warm_up` runs each of them at load (twice: TorchScript's
  profiling executor specialises a graph on the second call), so no request pays for that;
- one call at a time per engine (a lock): streaming caches and torch's RNG, which the seed
  resets per call, are process-wide state;
- stereo exports (`encode_params[0] == 2`) get the mono effect on both channels and their
  voice is downmixed back to mono.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr
import torch

from imagewave.contracts.engines import TimbreEngineName
from imagewave.contracts.scene import MELODIC_ROLES, Role
from imagewave.errors import EngineUnavailable, InvalidInput, ModelsNotInstalled
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
    channels: int = 1  # 2 for stereo exports: the effect goes to both, the voice is downmixed

    @classmethod
    def load(cls, path: Path, device: torch.device) -> RaveModel:
        module = torch.jit.load(str(path), map_location=device).eval()
        for required in ("sr", "encode_params", "encode", "decode"):
            if not hasattr(module, required):
                raise RuntimeError(f"{path} is not a RAVE export: it has no {required!r}")
        channels, _, _, ratio = (int(v) for v in module.encode_params.tolist())
        if channels not in (1, 2):
            raise RuntimeError(f"{path} expects {channels} input channels; only mono and "
                               "stereo exports are served")
        streaming = any(name.endswith(".cache.pad") for name, _ in module.named_buffers())
        return cls(module, path, int(module.sr), ratio, streaming, channels)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        """(batch, samples) mono in, (batch, samples) mono out, whatever the export's channels."""
        x = batch.unsqueeze(1).expand(-1, self.channels, -1).contiguous()
        return self.module.forward(x).float().mean(dim=1)

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


def _power_of_two_blocks(samples: int, block: int) -> int:
    """The smallest power-of-two number of blocks holding `samples`, in samples."""
    blocks = -(-samples // block)
    return block * (1 << max(0, blocks - 1).bit_length())


def _padded_batch(count: int, limit: int) -> int:
    """Chunks per forward pass: `count` rounded up to a power of two, at most `limit`."""
    return min(limit, 1 << max(0, count - 1).bit_length())


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
        self._lock = threading.Lock()

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
            raise ModelsNotInstalled(
                f"no RAVE model in {settings.model_dir}: expected keyboard.ts, bass.ts and/or "
                "guitar.ts (install exports with `python -m services.timbre.install`)")
        engine = cls(models, model_dir=settings.model_dir, device=device,
                     chunk_s=settings.chunk_s, context_s=settings.context_s,
                     batch_chunks=settings.batch_chunks)
        if settings.warm_up:
            engine.warm_up()
        return engine

    def shapes(self, model: RaveModel) -> list[tuple[int, int]]:
        """Every (batch, samples) this engine feeds `model`: see the module docstring."""
        chunk, context = self._chunk_lengths(model)
        block = model.block_samples
        if model.streaming:
            sizes = {min(chunk, _power_of_two_blocks(n, block)) for n in range(block, chunk + 1,
                                                                               block)}
            return [(1, size) for size in sorted(sizes)]
        window = chunk + 2 * context
        short = {min(window, _power_of_two_blocks(n + 2 * context, block))
                 for n in range(block, chunk + 1, block)}
        batches = {_padded_batch(n, self.batch_chunks) for n in range(1, self.batch_chunks + 1)}
        return ([(1, size) for size in sorted(short)]
                + [(batch, window) for batch in sorted(batches) if batch > 1])

    def warm_up(self) -> None:
        """Run every shape twice per model, so TorchScript's profiling and specialisation (and
        cuDNN's algorithm search) happen at load, not in the first requests."""
        with self._lock, torch.inference_mode():
            for role, model in self.models.items():
                started = time.perf_counter()
                shapes = self.shapes(model)
                for batch, samples in shapes:
                    for _ in range(2):
                        model.forward(torch.zeros(batch, samples, device=self.device))
                model.reset_state()
                log.info("RAVE %s warmed up on %d shapes in %.1f s", role.value, len(shapes),
                         time.perf_counter() - started)

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
        with self._lock, torch.inference_mode(), \
                torch.random.fork_rng(devices=self._rng_devices()):
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
        if audio.size <= chunk:  # one window, only as long as this effect needs
            chunk = min(chunk + 2 * context,
                        _power_of_two_blocks(audio.size + 2 * context, model.block_samples)
                        ) - 2 * context
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
            batch = np.zeros((_padded_batch(len(batch_starts), self.batch_chunks), window),
                             dtype=np.float32)
            for row, start in enumerate(batch_starts):
                batch[row] = padded[start : start + window]
            x = torch.from_numpy(batch).to(self.device)
            y = model.forward(x)[: len(batch_starts), :window].cpu().numpy()
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
        chunk = min(chunk, _power_of_two_blocks(audio.size, model.block_samples))
        padded = np.zeros(_round_up(audio.size, chunk), dtype=np.float32)
        padded[: audio.size] = audio
        model.reset_state()
        pieces = []
        for start in range(0, padded.size, chunk):
            x = torch.from_numpy(padded[start : start + chunk]).view(1, -1).to(self.device)
            pieces.append(model.forward(x)[0].cpu().numpy())
        model.reset_state()
        return np.concatenate(pieces)[: audio.size]
