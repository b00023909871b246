"""`transformers` describe engine on a tiny random Qwen2.5-VL saved to disk and loaded back
through the engine's production loader (image-only processor, chat template, generate, decode,
parse, repair, filter).

A random model writes gibberish, so one fixture first teaches a copy of the tiny model to answer
one picture with a known scene document (a few dozen CPU steps) and saves it: the engine must
then generate, decode and parse that answer through its normal path.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagewave.contracts.engines import DescribeEngineName
from imagewave.contracts.scene import Scene
from imagewave.errors import AcceleratorMissing, EngineUnavailable
from services.vlm.engines.transformers import TransformersDescribeEngine
from services.vlm.prompt import (
    SYSTEM_PROMPT,
    Completion,
    SceneReplyInvalid,
    build_conversation,
    describe_with_repair,
)
from services.vlm.serving import VlmServing
from services.vlm.settings import VlmSettings
from tests.models.tiny_qwen2_5_vl import teach_reply

pytestmark = pytest.mark.models

TAUGHT_REPLY = (
    '{"scene_description":"A quiet pond at dusk.","mood_description":"calm",'
    '"sound_sources":[{"name":"frog","material":"skin","variants":[{"play_method":"croaking",'
    '"timbre":["low"]}],"confidence":0.9},{"name":"heron","variants":[{"play_method":'
    '"wings flapping"}],"confidence":0.1}]}'
)


def _settings(model_dir: Path, **overrides: object) -> VlmSettings:
    values = dict(default_engine=DescribeEngineName.transformers,
                  engines=[DescribeEngineName.transformers], model_id=str(model_dir),
                  device="cpu", torch_dtype="float32", temperature=0.0, few_shot=False,
                  max_new_tokens=120, max_image_side_px=224, min_source_confidence=0.3)
    values.update(overrides)
    return VlmSettings(**values)


def _picture() -> Image.Image:
    return Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 400, 3), np.uint8))


@pytest.fixture(scope="module")
def taught_model_dir(tiny_qwen2_5_vl_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    engine = TransformersDescribeEngine.from_settings(_settings(tiny_qwen2_5_vl_dir))
    teach_reply(engine, build_conversation(_picture(), few_shot=False), TAUGHT_REPLY)
    taught = tmp_path_factory.mktemp("qwen2_5_vl_taught") / "model"
    shutil.copytree(tiny_qwen2_5_vl_dir, taught)
    engine.model.save_pretrained(taught)
    return taught


def test_generates_decodes_parses_and_filters(taught_model_dir: Path) -> None:
    engine = TransformersDescribeEngine.from_settings(_settings(taught_model_dir))
    scene = engine.describe(_picture())
    expected = Scene.model_validate_json(TAUGHT_REPLY)
    # the 0.1-confidence heron is dropped; the frog comes through exactly as generated
    assert scene.sound_sources == expected.sound_sources[:1]
    assert scene.scene_description == "A quiet pond at dusk."


def test_a_cut_reply_is_asked_again_with_a_larger_budget_then_fails_clearly(
        tiny_qwen2_5_vl_dir: Path) -> None:
    engine = TransformersDescribeEngine.from_settings(_settings(
        tiny_qwen2_5_vl_dir, max_new_tokens=6, repair_max_new_tokens=9))
    calls = []
    complete = engine.complete

    def recording_complete(turns, max_tokens=None):
        completion = complete(turns, max_tokens)
        calls.append((turns, max_tokens, completion))
        return completion

    engine.complete = recording_complete
    # the random model never writes its end token in 6 (or 9) tokens: generation stops at the
    # budget, which the engine reports as truncated
    with pytest.raises(SceneReplyInvalid, match="cut at 9 tokens"):
        engine.describe(_picture())
    (first_turns, first_budget, first), (second_turns, second_budget, second) = calls
    assert (first_budget, second_budget) == (6, 9)
    assert first.truncated and second.truncated
    # the same conversation again (a cut reply is not shown back to the model)
    assert second_turns == first_turns


def test_gibberish_gets_one_repair_round_then_a_clear_error() -> None:
    replies = iter([Completion("I see a nice picture."), Completion('{"scene_description": 1}')])
    conversations = []

    def complete(turns, max_tokens):
        conversations.append((turns, max_tokens))
        return next(replies)

    with pytest.raises(SceneReplyInvalid, match="after one repair round"):
        describe_with_repair(complete, _picture(), few_shot=True, min_source_confidence=0.3,
                             max_new_tokens=50, repair_max_new_tokens=100)
    (first, first_budget), (second, second_budget) = conversations
    assert first_budget == second_budget == 50
    assert second[: len(first)] == first
    assert "not a valid scene document" in second[-1].text
    assert second[-2].role == "assistant"


def test_prompt_uses_the_chat_template_few_shot_and_capped_image(
        tiny_qwen2_5_vl_dir: Path) -> None:
    engine = TransformersDescribeEngine.from_settings(_settings(tiny_qwen2_5_vl_dir,
                                                                max_image_side_px=112))
    turns = build_conversation(Image.new("RGB", (1000, 500), "navy"), few_shot=True)
    inputs = engine.prepare_inputs(turns)
    text = engine.processor.tokenizer.decode(inputs["input_ids"][0])
    assert text.count("<|im_start|>") == 7  # system, 2 x (example, answer), target, assistant
    assert SYSTEM_PROMPT in text and "Example picture, described in words" in text
    # 1000x500 is capped to 112x56: 4x8 patches of 14 px, merged 2x2 into 8 image tokens
    grid = inputs["image_grid_thw"][0].tolist()
    assert grid == [1, 4, 8]
    assert text.count("<|image_pad|>") == 4 * 8 // 4


def test_deployment_default_and_per_request_engine(taught_model_dir: Path) -> None:
    png = io.BytesIO()
    _picture().save(png, format="PNG")
    serving = VlmServing(_settings(taught_model_dir))
    response = serving.describe(png.getvalue())
    assert response.engine is DescribeEngineName.transformers
    assert [s.name for s in response.scene.sound_sources] == ["frog"]
    with pytest.raises(EngineUnavailable, match="vllm"):
        serving.describe(png.getvalue(), engine=DescribeEngineName.vllm)


def test_device_auto_without_cuda_refuses_a_7b_model_and_the_service_is_not_ready(
        tmp_path: Path) -> None:
    """On a machine without CUDA (a driver too old for the image's CUDA, say), `device=auto`
    must not quietly run 8B parameters on the CPU: the engine refuses before reading weights,
    and the service stays up answering /healthz 503 with the reason."""
    import httpx
    import torch

    from bench.studio_models import qwen_config
    from services.vlm.app import create_app
    from tests.conftest import serve_app

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: device=auto would use it")
    qwen_config().save_pretrained(tmp_path)  # the 7B architecture, no weights at all
    settings = _settings(tmp_path, device="auto")
    with pytest.raises(AcceleratorMissing, match=r"8\.3B parameters and no CUDA device"):
        TransformersDescribeEngine.from_settings(settings)
    with serve_app(create_app(settings)) as base:
        health = httpx.get(f"{base}/healthz", timeout=10)
    assert health.status_code == 503
    assert health.json()["status"] == "unavailable"
    assert "no CUDA device" in health.json()["error"]
    (transformers_engine,) = health.json()["details"]["engines"]
    assert transformers_engine["state"] == "unavailable"
