"""`vllm` describe engine against an OpenAI-compatible stand-in served over real HTTP (vLLM
itself needs a GPU; see openai_standin.py)."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from imagewave.contracts.engines import DescribeEngineName
from imagewave.contracts.scene import Scene
from imagewave.errors import EngineUnavailable, UpstreamUnavailable
from services.vlm.engines.vllm import ModelRejectedInput, VllmDescribeEngine
from services.vlm.prompt import SceneReplyInvalid, load_few_shot_examples
from services.vlm.serving import VlmServing
from services.vlm.settings import VlmSettings
from tests.models.openai_standin import OpenAIStandIn, Reply

pytestmark = pytest.mark.models

SERVED_MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"


def _scene_reply(*confidences: float) -> str:
    sources = [
        {"name": f"source {i}", "material": "wood",
         "variants": [{"play_method": "knocked", "timbre": ["dry"],
                       "mapping_to_music_instrument": "drums"}],
         "confidence": confidence}
        for i, confidence in enumerate(confidences)
    ]
    return json.dumps({"scene_description": "A test scene.", "mood_description": "calm",
                       "sound_sources": sources})


def _photo(width: int, height: int) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))


@pytest.fixture
def standin():
    with OpenAIStandIn(SERVED_MODEL) as server:
        yield server


def _settings(base_url: str, **overrides: object) -> VlmSettings:
    values = dict(default_engine=DescribeEngineName.vllm, engines=[DescribeEngineName.vllm],
                  vllm_base_url=base_url, model_id=SERVED_MODEL, max_image_side_px=256,
                  min_source_confidence=0.3)
    values.update(overrides)
    return VlmSettings(**values)


def test_request_carries_scene_schema_few_shot_and_capped_image(standin: OpenAIStandIn) -> None:
    standin.replies.append(_scene_reply(0.9, 0.1, 0.5))
    engine = VllmDescribeEngine.from_settings(_settings(standin.base_url))

    scene = engine.describe(_photo(1200, 600))

    (body,) = standin.requests
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == Scene.model_json_schema()
    messages = body["messages"]
    assert messages[0]["role"] == "system"
    # two worked examples (user + assistant each) precede the target picture
    examples = load_few_shot_examples()
    assert [m["role"] for m in messages[1:]] == ["user", "assistant"] * len(examples) + ["user"]
    assert Scene.model_validate_json(messages[2]["content"]) == examples[0].scene
    image_part = messages[-1]["content"][0]
    assert image_part["type"] == "image_url"
    prefix = "data:image/jpeg;base64,"
    assert image_part["image_url"]["url"].startswith(prefix)
    sent = Image.open(io.BytesIO(base64.b64decode(image_part["image_url"]["url"][len(prefix):])))
    assert sent.size == (256, 128)
    # the 0.1-confidence source is dropped, the others stay in order
    assert [s.name for s in scene.sound_sources] == ["source 0", "source 2"]


def test_recovers_from_one_invalid_reply(standin: OpenAIStandIn) -> None:
    truncated = _scene_reply(0.9)[:60]
    standin.replies.extend([truncated, _scene_reply(0.8, 0.7)])
    engine = VllmDescribeEngine.from_settings(_settings(standin.base_url))

    scene = engine.describe(_photo(64, 64))

    assert len(scene.sound_sources) == 2
    first, second = standin.requests
    assert second["messages"][: len(first["messages"])] == first["messages"]
    bad_turn, correction = second["messages"][len(first["messages"]):]
    assert bad_turn == {"role": "assistant", "content": truncated}
    assert "not a valid scene document" in correction["content"]


def test_second_invalid_reply_is_a_clear_error(standin: OpenAIStandIn) -> None:
    standin.replies.extend(["I see a nice picture.", '{"scene_description": "x"}'])
    engine = VllmDescribeEngine.from_settings(_settings(standin.base_url))

    with pytest.raises(SceneReplyInvalid, match="after one repair round.*sound_sources"):
        engine.describe(_photo(64, 64))
    assert len(standin.requests) == 2


def test_unreachable_server_is_a_retryable_upstream_error() -> None:
    engine = VllmDescribeEngine.from_settings(_settings("http://127.0.0.1:9/v1",
                                                        vllm_timeout_s=2.0))
    with pytest.raises(UpstreamUnavailable, match="unreachable") as caught:
        engine.describe(_photo(64, 64))
    assert caught.value.status_code == 503 and "Retry-After" in caught.value.headers


def test_a_reply_cut_at_max_tokens_is_asked_again_with_the_larger_budget(
        standin: OpenAIStandIn) -> None:
    standin.replies.extend([Reply(_scene_reply(0.9)[:40], finish_reason="length"),
                            _scene_reply(0.9, 0.8)])
    engine = VllmDescribeEngine.from_settings(_settings(
        standin.base_url, max_new_tokens=300, repair_max_new_tokens=900))

    scene = engine.describe(_photo(64, 64))

    assert len(scene.sound_sources) == 2
    first, second = standin.requests
    assert (first["max_tokens"], second["max_tokens"]) == (300, 900)
    # the same conversation, not a repair round around half a document
    assert second["messages"] == first["messages"]


def test_a_reply_cut_twice_is_a_clear_error_after_two_calls(standin: OpenAIStandIn) -> None:
    # Even a reply that happens to parse is refused when the server says it was cut.
    standin.replies.extend([Reply(_scene_reply(0.9), finish_reason="length"),
                            Reply(_scene_reply(0.9), finish_reason="length")])
    engine = VllmDescribeEngine.from_settings(_settings(
        standin.base_url, max_new_tokens=300, repair_max_new_tokens=900))
    with pytest.raises(SceneReplyInvalid, match="cut at 900 tokens again"):
        engine.describe(_photo(64, 64))
    assert len(standin.requests) == 2


def test_vllm_400_is_the_inputs_fault_and_5xx_is_retryable(standin: OpenAIStandIn) -> None:
    engine = VllmDescribeEngine.from_settings(_settings(standin.base_url))
    standin.replies.append(Reply("This model's maximum context length is 8192 tokens",
                                 status_code=400))
    with pytest.raises(ModelRejectedInput, match="maximum context length") as rejected:
        engine.describe(_photo(64, 64))
    assert rejected.value.status_code == 422
    standin.replies.append(Reply("engine dead", status_code=500))
    with pytest.raises(UpstreamUnavailable, match="500") as upstream:
        engine.describe(_photo(64, 64))
    assert upstream.value.headers["Retry-After"] == "5"
    # a wrong served name is configuration: 503 without Retry-After (nobody retries it)
    wrong_name = VllmDescribeEngine.from_settings(_settings(standin.base_url,
                                                            model_id="another/model"))
    with pytest.raises(EngineUnavailable, match="404") as misconfigured:
        wrong_name.describe(_photo(64, 64))
    assert not isinstance(misconfigured.value, UpstreamUnavailable)
    assert len(standin.requests) == 3


def test_deployment_default_and_per_request_engine(standin: OpenAIStandIn) -> None:
    png = io.BytesIO()
    _photo(300, 200).save(png, format="PNG")

    # per deployment: vllm is this deployment's default, so a request naming no engine uses it
    serving = VlmServing(_settings(standin.base_url))
    standin.replies.append(_scene_reply(0.9))
    assert serving.describe(png.getvalue()).engine is DescribeEngineName.vllm
    # ... and an engine the deployment did not enable is refused per request
    with pytest.raises(EngineUnavailable, match="transformers"):
        serving.describe(png.getvalue(), engine=DescribeEngineName.transformers)

    # per request: a deployment whose default is another engine still serves vllm on request
    other_default = _settings(standin.base_url, default_engine=DescribeEngineName.transformers,
                              engines=[DescribeEngineName.transformers, DescribeEngineName.vllm])
    standin.replies.append(_scene_reply(0.9))
    response = VlmServing(other_default).describe(png.getvalue(), engine=DescribeEngineName.vllm)
    assert response.engine is DescribeEngineName.vllm
    assert response.scene.sound_sources[0].name == "source 0"
