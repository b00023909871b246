"""GPU smoke test and timing of the three studio engines on tiny models.

    .venv/bin/python bench/gpu_smoke.py [--device cuda] [--repeats 5]

Builds the same tiny random models as `pytest -m models` (tests/models), saves them, loads them
through each engine's production `from_settings` on the device, checks one output of each, and
prints load time, first-call time and the median of `--repeats` further calls as JSON lines.
Tiny models measure the engines' overhead and that the CUDA path works (fp16/bf16, device
placement, batching), not production latency; docs/studio.md has the production estimates.
The vLLM engine is a plain HTTP client and has no GPU path of its own; it is not timed here.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from imagewave.contracts.engines import (  # noqa: E402
    DescribeEngineName,
    SfxEngineName,
    TimbreEngineName,
)
from imagewave.contracts.scene import Role  # noqa: E402


def _timed(call, repeats: int) -> dict:
    started = time.perf_counter()
    result = call()
    _sync()
    first_s = time.perf_counter() - started
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        _sync()
        times.append(time.perf_counter() - started)
    return {"result": result, "first_call_s": round(first_s, 4),
            "median_call_s": round(statistics.median(times), 4) if times else None}


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _report(engine: str, load_s: float, timing: dict, **extra: object) -> None:
    row = {"engine": engine, "device": DEVICE, "load_s": round(load_s, 3),
           "first_call_s": timing["first_call_s"], "median_call_s": timing["median_call_s"]}
    if torch.cuda.is_available():
        row["max_cuda_memory_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    row.update(extra)
    print(json.dumps(row), flush=True)


def smoke_transformers_describe(work: Path, repeats: int) -> None:
    from services.vlm import prompt
    from services.vlm.engines.transformers import TransformersDescribeEngine
    from services.vlm.settings import VlmSettings
    from tests.models.tiny_qwen2_5_vl import build_tiny_qwen2_5_vl

    examples = prompt.load_few_shot_examples()
    corpus = [prompt.SYSTEM_PROMPT, prompt.TARGET_INSTRUCTION, prompt.EXAMPLE_INSTRUCTION,
              *(e.picture_description for e in examples),
              *(prompt.scene_to_reply(e.scene) for e in examples)]
    model_dir = build_tiny_qwen2_5_vl(work / "qwen2_5_vl", corpus)
    settings = VlmSettings(default_engine=DescribeEngineName.transformers, model_id=str(model_dir),
                           device=DEVICE, max_new_tokens=64, temperature=0.0)
    started = time.perf_counter()
    engine = TransformersDescribeEngine.from_settings(settings)
    load_s = time.perf_counter() - started
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 255, (768, 1024, 3), np.uint8))
    turns = prompt.build_conversation(picture, few_shot=True)
    # a random model writes no valid scene, so time one generation of max_new_tokens
    timing = _timed(lambda: engine.complete(turns), repeats)
    prompt_tokens = engine.prepare_inputs(turns)["input_ids"].shape[1]
    _report("transformers(describe)", load_s, timing, prompt_tokens=prompt_tokens,
            new_tokens=settings.max_new_tokens, dtype=str(engine.model.dtype))


def smoke_audioldm2(work: Path, repeats: int) -> None:
    from services.t2a.engines.audioldm2 import AudioLdm2SfxEngine
    from services.t2a.settings import T2aSettings
    from services.vlm.prompt import load_few_shot_examples
    from tests.models.tiny_audioldm2 import build_tiny_audioldm2

    model_dir = build_tiny_audioldm2(work / "audioldm2")
    settings = T2aSettings(default_engine=SfxEngineName.audioldm2, model_id=str(model_dir),
                           device=DEVICE, num_inference_steps=10, num_waveforms_per_prompt=2)
    started = time.perf_counter()
    engine = AudioLdm2SfxEngine.from_settings(settings)
    load_s = time.perf_counter() - started
    scene = load_few_shot_examples()[0].scene  # plaza: six sources
    timing = _timed(lambda: engine.generate(scene, audio_length_in_s=4.0, sample_rate=48_000,
                                            seed=0), repeats)
    effects = timing["result"]
    assert len(effects) == len(scene.sound_sources)
    assert all(e.samples.shape == (4 * 48_000,) and np.isfinite(e.samples).all() for e in effects)
    _report("audioldm2(sfx)", load_s, timing, sources=len(effects), steps=10, candidates=2,
            dtype=str(engine.pipeline.unet.dtype))


def smoke_rave(repeats: int) -> None:
    from services.timbre.engines.rave import RaveTimbreEngine
    from services.timbre.settings import TimbreSettings

    settings = TimbreSettings(default_engine=TimbreEngineName.rave,
                              model_dir=REPO_ROOT / "tests/fixtures/rave", device=DEVICE,
                              chunk_s=2.0, context_s=0.25, batch_chunks=8)
    started = time.perf_counter()
    engine = RaveTimbreEngine.from_settings(settings)
    load_s = time.perf_counter() - started
    effect = np.random.default_rng(0).standard_normal(30 * 48_000).astype(np.float32) * 0.1
    for role in (Role.keyboard, Role.bass):
        timing = _timed(lambda role=role: engine.transfer(effect, 48_000, role), repeats)
        assert timing["result"].samples.shape == effect.shape
        model = engine.models[role]
        _report(f"rave(timbre,{role.value})", load_s, timing, audio_s=30,
                model_rate=model.sampling_rate, streaming=model.streaming)


def main() -> None:
    global DEVICE
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    DEVICE = args.device
    if DEVICE.startswith("cuda") and not torch.cuda.is_available():
        parser.error("CUDA is not available on this machine; pass --device cpu")
    info = {"torch": torch.__version__, "device": DEVICE,
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    print(json.dumps(info), flush=True)
    with tempfile.TemporaryDirectory() as work:
        smoke_rave(args.repeats)
        smoke_audioldm2(Path(work), args.repeats)
        smoke_transformers_describe(Path(work), args.repeats)


DEVICE = "cpu"

if __name__ == "__main__":
    main()
