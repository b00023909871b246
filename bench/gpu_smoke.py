"""GPU benchmark of the studio engines at full size, without downloading any weights.

    .venv/bin/python bench/gpu_smoke.py                       # on a GPU: full-size models
    .venv/bin/python bench/gpu_smoke.py --tiny --device cpu   # dry run: the tests' tiny models
    .venv/bin/python bench/gpu_smoke.py --count-only          # parameters of the full configs

Builds the real architectures at their real size with random weights from the configs in
bench/configs/ (bench/studio_models.py): Qwen2.5-VL-7B (8.29B parameters) and AudioLDM2
(1.08B), saves them like hub checkpoints, and loads each through its engine's production
`from_settings` with production settings (bf16/fp16 on CUDA, 768 px pictures with the worked
examples, 100 DDIM steps x 2 candidates for a 6-source scene, RAVE with 10 s chunks and
warm-up). RAVE uses `--rave-dir` exports (a full-size RAVE v2 export needs acids-rave's own
environment, services/timbre/train/README.md), else the tests' tiny genuine exports. The vLLM
server itself cannot run without its package and a GPU; the `vllm` engine's client is timed
against the tests' OpenAI-compatible stand-in (its own overhead: image encoding, request,
parsing), on loopback.

Reports, as ONE JSON document on stdout (and --out): per engine load time, first call, latency
p50/p95 over --repeats calls, tokens/s for describe, and the CUDA peak memory of that engine
(peak statistics reset before each engine); then the VRAM of all engines loaded together.
A full run is sized for ~5 minutes on an H200 (the 16.6 GB checkpoint is written and read once).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
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

GIB = 2**30


class Bench:
    def __init__(self, device: str, repeats: int) -> None:
        self.device = device
        self.cuda = device.startswith("cuda")
        self.repeats = repeats
        self.engines: dict[str, object] = {}  # kept loaded: total VRAM is all of them together

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()

    def start_engine(self) -> None:
        gc.collect()
        if self.cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            self._allocated_before = torch.cuda.memory_allocated()

    def memory(self) -> dict:
        if not self.cuda:
            # ru_maxrss is the process's peak so far (KiB on Linux): it cannot be reset
            return {"process_peak_rss_gib": round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}
        return {"cuda_peak_allocated_gib": round(torch.cuda.max_memory_allocated() / GIB, 2),
                "cuda_peak_reserved_gib": round(torch.cuda.max_memory_reserved() / GIB, 2),
                "cuda_weights_and_state_gib": round(
                    (torch.cuda.memory_allocated() - self._allocated_before) / GIB, 2)}

    def timed(self, call) -> dict:
        started = time.perf_counter()
        result = call()
        self.sync()
        first_s = time.perf_counter() - started
        runs = []
        for _ in range(self.repeats):
            started = time.perf_counter()
            call()
            self.sync()
            runs.append(time.perf_counter() - started)
        return {"result": result, "first_call_s": round(first_s, 3),
                "latency_s": summarise(runs)}

    def load(self, name: str, loader) -> tuple[object, float]:
        self.start_engine()
        started = time.perf_counter()
        engine = loader()
        self.sync()
        self.engines[name] = engine
        return engine, round(time.perf_counter() - started, 2)


def summarise(runs: list[float]) -> dict:
    if not runs:
        return {"runs": []}
    ordered = sorted(runs)
    p95_index = min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))
    return {"p50": round(statistics.median(ordered), 3), "p95": round(ordered[p95_index], 3),
            "runs": [round(r, 3) for r in runs]}


def few_shot_corpus() -> list[str]:
    from services.vlm import prompt

    examples = prompt.load_few_shot_examples()
    repair = prompt.repair_turns("", prompt.SceneReplyInvalid("the JSON does not parse"))
    return [prompt.SYSTEM_PROMPT, prompt.TARGET_INSTRUCTION, prompt.EXAMPLE_INSTRUCTION,
            *(e.picture_description for e in examples),
            *(prompt.scene_to_reply(e.scene) for e in examples), *(t.text for t in repair)]


def photo(width: int = 1024, height: int = 768) -> Image.Image:
    return Image.fromarray(np.random.default_rng(0).integers(0, 255, (height, width, 3),
                                                             np.uint8))


def bench_describe(bench: Bench, work: Path, tiny: bool, new_tokens: int) -> dict:
    from services.vlm import prompt
    from services.vlm.engines.transformers import TransformersDescribeEngine
    from services.vlm.settings import VlmSettings

    started = time.perf_counter()
    if tiny:
        from tests.models.tiny_qwen2_5_vl import build_tiny_qwen2_5_vl

        model_dir = build_tiny_qwen2_5_vl(work / "qwen", few_shot_corpus())
    else:
        from bench.studio_models import build_qwen2_5_vl_7b

        model_dir = build_qwen2_5_vl_7b(work / "qwen", few_shot_corpus(), bench.device)
        gc.collect()
        if bench.cuda:
            torch.cuda.empty_cache()
    build_s = round(time.perf_counter() - started, 1)
    # Production settings (docker-compose.gpu.yml), except the token budget: a random model
    # never stops, so every call runs `new_tokens` (a real scene reply is ~400-600 tokens).
    settings = VlmSettings(default_engine=DescribeEngineName.transformers,
                           engines=[DescribeEngineName.transformers], model_id=str(model_dir),
                           device=bench.device, max_new_tokens=new_tokens)
    engine, load_s = bench.load("transformers", lambda: TransformersDescribeEngine.from_settings(
        settings))
    turns = prompt.build_conversation(photo(), few_shot=settings.few_shot)
    prompt_tokens = int(engine.prepare_inputs(turns)["input_ids"].shape[1])
    timing = bench.timed(lambda: engine.complete(turns))
    completion = timing.pop("result")
    generated = len(engine.processor.tokenizer(completion.text, add_special_tokens=False
                                               ).input_ids)
    p50 = timing["latency_s"].get("p50") or timing["first_call_s"]
    # A reply that stopped before the budget (a tiny model may write its end token) counts the
    # tokens it has; a cut one ran the whole budget.
    tokens = new_tokens if completion.truncated else generated
    return {"engine": "transformers (describe)", "model": "Qwen2.5-VL-7B architecture" if not
            tiny else "tiny Qwen2.5-VL (tests)", "checkpoint_build_s": build_s, "load_s": load_s,
            "dtype": str(engine.model.dtype), "prompt_tokens": prompt_tokens,
            "new_tokens": new_tokens, "truncated": completion.truncated,
            "decoded_tokens_approx": generated, **timing,
            "tokens_per_s_p50_prefill_included": round(tokens / p50, 1), **bench.memory()}


def bench_audioldm2(bench: Bench, work: Path, tiny: bool) -> dict:
    from services.t2a.engines.audioldm2 import AudioLdm2SfxEngine
    from services.t2a.settings import T2aSettings
    from services.vlm.prompt import load_few_shot_examples

    started = time.perf_counter()
    if tiny:
        from tests.models.tiny_audioldm2 import build_tiny_audioldm2

        model_dir = build_tiny_audioldm2(work / "audioldm2")
    else:
        from bench.studio_models import build_audioldm2

        model_dir = build_audioldm2(work / "audioldm2", bench.device)
    build_s = round(time.perf_counter() - started, 1)
    steps = 10 if tiny else T2aSettings().num_inference_steps  # production: 100
    settings = T2aSettings(default_engine=SfxEngineName.audioldm2,
                           engines=[SfxEngineName.audioldm2], model_id=str(model_dir),
                           device=bench.device, num_inference_steps=steps)
    engine, load_s = bench.load("audioldm2", lambda: AudioLdm2SfxEngine.from_settings(settings))
    scene = load_few_shot_examples()[0].scene  # plaza: six sources
    seconds = 4.0
    timing = bench.timed(lambda: engine.generate(scene, audio_length_in_s=seconds,
                                                 sample_rate=48_000, seed=0))
    effects = timing.pop("result")
    assert len(effects) == len(scene.sound_sources)
    assert all(e.samples.shape == (int(seconds * 48_000),) and np.isfinite(e.samples).all()
               for e in effects)
    return {"engine": "audioldm2 (sfx)", "model": "AudioLDM2 architecture (cvssp/audioldm2)"
            if not tiny else "tiny AudioLDM2 (tests)", "checkpoint_build_s": build_s,
            "load_s": load_s, "dtype": str(engine.pipeline.unet.dtype),
            "sources": len(effects), "candidates": settings.num_waveforms_per_prompt,
            "steps": steps, "effect_s": seconds, **timing, **bench.memory()}


def bench_rave(bench: Bench, rave_dir: Path | None, tiny: bool) -> dict:
    from services.timbre.engines.rave import RaveTimbreEngine
    from services.timbre.settings import TimbreSettings

    model_dir = rave_dir or REPO_ROOT / "tests/fixtures/rave"
    # Production chunking and warm-up; the CPU dry run uses shorter chunks so that warming
    # every shape up stays quick there.
    chunking = dict(chunk_s=2.0, context_s=0.25, batch_chunks=4) if tiny else {}
    settings = TimbreSettings(default_engine=TimbreEngineName.rave,
                              engines=[TimbreEngineName.rave], model_dir=model_dir,
                              device=bench.device, **chunking)
    engine, load_s = bench.load("rave", lambda: RaveTimbreEngine.from_settings(settings))
    per_role = {}
    rng = np.random.default_rng(0)
    for role in sorted(engine.models, key=lambda r: r.value):
        for seconds in (4, 30):
            effect = (rng.standard_normal(seconds * 48_000) * 0.1).astype(np.float32)
            timing = bench.timed(lambda role=role, effect=effect: engine.transfer(
                effect, 48_000, role))
            assert timing.pop("result").samples.shape == effect.shape
            per_role[f"{role.value}_{seconds}s"] = timing
    models = {role.value: {"rate": m.sampling_rate, "ratio": m.compression_ratio,
                           "streaming": m.streaming, "channels": m.channels,
                           "parameters": sum(p.numel() for p in m.module.parameters())}
              for role, m in engine.models.items()}
    return {"engine": "rave (timbre)", "model_dir": str(model_dir),
            "full_size": rave_dir is not None,
            "note": None if rave_dir else (
                "tiny genuine acids-rave exports (tests/fixtures/rave): a full-size RAVE v2 "
                "export needs acids-rave's environment (.venv-train), not available here"),
            "models": models, "settings": {"chunk_s": settings.chunk_s,
                                           "context_s": settings.context_s,
                                           "batch_chunks": settings.batch_chunks,
                                           "warm_up_shapes": {
                                               r.value: len(engine.shapes(m))
                                               for r, m in engine.models.items()}},
            "load_s_with_warm_up": load_s, "calls": per_role,
            **bench.memory()}


def bench_vllm_client(bench: Bench) -> dict:
    from services.vlm.engines.vllm import VllmDescribeEngine
    from services.vlm.prompt import load_few_shot_examples, scene_to_reply
    from services.vlm.settings import VlmSettings
    from tests.models.openai_standin import OpenAIStandIn

    served = VlmSettings().model_id
    with OpenAIStandIn(served) as standin:
        engine = VllmDescribeEngine.from_settings(VlmSettings(
            default_engine=DescribeEngineName.vllm, engines=[DescribeEngineName.vllm],
            vllm_base_url=standin.base_url, model_id=served))
        reply = scene_to_reply(load_few_shot_examples()[0].scene)
        standin.replies.extend([reply] * (bench.repeats + 1))
        picture = photo(4032, 3024)  # a 12 MP phone photo, fitted to 768 px by the client
        timing = bench.timed(lambda: engine.describe(picture))
        assert timing.pop("result").sound_sources
        sent = len(json.dumps(standin.requests[-1]))
    return {"engine": "vllm client (describe)", "server": "OpenAI-compatible stand-in on "
            "loopback (vLLM itself not run: no vllm package or GPU lent)",
            "request_bytes": sent, **timing}


def machine(device: str) -> dict:
    info = {"python": platform.python_version(), "torch": torch.__version__,
            "torch_cuda": torch.version.cuda, "device": device, "cpus": os.cpu_count()}
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=props.name, gpu_total_gib=round(props.total_memory / GIB, 1),
                    capability=f"{props.major}.{props.minor}")
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tiny", action="store_true",
                        help="the tests' tiny models instead of full size (CPU dry run)")
    parser.add_argument("--count-only", action="store_true",
                        help="only count the full-size configs' parameters (meta device)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--describe-new-tokens", type=int, default=512)
    parser.add_argument("--rave-dir", type=Path, default=None,
                        help="folder of full-size RAVE exports (<role>.ts)")
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["describe", "audioldm2", "rave", "vllm_client"])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("CUDA is not available on this machine; pass --device cpu --tiny")

    from bench.studio_models import count_audioldm2_parameters, count_qwen_parameters

    started = time.perf_counter()
    audioldm2_parameters = count_audioldm2_parameters()
    report: dict = {
        "benchmark": "bench/gpu_smoke.py", "date": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                  time.gmtime()),
        "command": " ".join(sys.argv), "mode": "tiny" if args.tiny else "full-size",
        "machine": machine(args.device),
        "full_size_parameters": {
            "qwen2_5_vl_7b": count_qwen_parameters(),
            "audioldm2": sum(audioldm2_parameters.values()),
            "audioldm2_components": audioldm2_parameters},
        "engines": {},
    }
    if not args.count_only:
        bench = Bench(args.device, args.repeats)
        with tempfile.TemporaryDirectory(prefix="gpu_smoke_") as work:
            steps = {"rave": lambda: bench_rave(bench, args.rave_dir, args.tiny),
                     "vllm_client": lambda: bench_vllm_client(bench),
                     "describe": lambda: bench_describe(bench, Path(work), args.tiny,
                                                        args.describe_new_tokens),
                     "audioldm2": lambda: bench_audioldm2(bench, Path(work), args.tiny)}
            for name, step in steps.items():
                if name in args.skip:
                    continue
                print(f"[gpu_smoke] {name} ...", file=sys.stderr, flush=True)
                report["engines"][name] = step()
                if args.out:  # what has run so far survives a run cut short
                    args.out.write_text(json.dumps(report, indent=2) + "\n")
        if bench.cuda:
            free, total = torch.cuda.mem_get_info()
            report["total_vram"] = {
                "engines_loaded": list(bench.engines),
                "allocated_gib": round(torch.cuda.memory_allocated() / GIB, 2),
                "reserved_gib": round(torch.cuda.memory_reserved() / GIB, 2),
                "device_used_gib": round((total - free) / GIB, 2),
                "device_total_gib": round(total / GIB, 2)}
        else:
            report["total_vram"] = None
    report["wall_s"] = round(time.perf_counter() - started, 1)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
