"""Each service as its own app over real HTTP: health, one real request, and the error shape."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
import soundfile as sf

from imagewave.contracts.audio import AudioPayload
from imagewave.contracts.scene import Scene, SoundSource, SoundVariant
from imagewave.contracts.stages import (
    DescribeResponse,
    InstrumentResponse,
    SfxResponse,
    TimbreResponse,
)
from services.render.app import create_app as render_app
from services.t2a.app import create_app as t2a_app
from services.timbre.app import create_app as timbre_app
from services.vlm.app import create_app as vlm_app
from tests.conftest import serve_app

SCENE = Scene(scene_description="a windy harbour", mood_description="calm, grey",
              sound_sources=[SoundSource(name="rope", material="hemp",
                                         variants=[SoundVariant(play_method="creaking")])])


def tone(seconds: float = 1.0, rate: int = 48_000) -> AudioPayload:
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(0).normal(0, 0.1, t.size)
    return AudioPayload.from_array((0.3 * np.sin(2 * np.pi * 220 * t) + noise) * np.exp(-2 * t),
                                   rate)


def assert_error_shape(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "field"} and error["message"]
    return error


@pytest.fixture(scope="module")
def vlm_url():
    with serve_app(vlm_app()) as url:
        yield url


def test_vlm_describes_a_picture_and_refuses_a_non_picture(vlm_url, photo):
    assert httpx.get(f"{vlm_url}/healthz").json()["engines_loaded"] == ["lite"]
    response = httpx.post(f"{vlm_url}/v1/describe", files={"image": photo.read_bytes()},
                          timeout=30)
    assert response.status_code == 200, response.text
    assert DescribeResponse.model_validate_json(response.content).scene.sound_sources

    error = assert_error_shape(httpx.post(f"{vlm_url}/v1/describe",
                                          files={"image": b"plain text"}), 422)
    assert error["field"] == "image"
    error = assert_error_shape(httpx.post(f"{vlm_url}/v1/describe", files={"image": b"x"},
                                          data={"engine": "gpt"}), 422)
    assert error["field"] == "engine"


def test_vlm_answers_503_for_an_engine_this_deployment_did_not_enable(vlm_url, photo):
    response = httpx.post(f"{vlm_url}/v1/describe", files={"image": photo.read_bytes()},
                          data={"engine": "vllm"})
    assert assert_error_shape(response, 503)["code"] == "engine_unavailable"


def test_t2a_makes_one_effect_per_source():
    with serve_app(t2a_app()) as url:
        body = {"scene": SCENE.model_dump(), "audio_length_in_s": 1.0, "sample_rate": 16000}
        response = httpx.post(f"{url}/v1/sfx", json=body, timeout=60)
        effects = SfxResponse.model_validate_json(response.content).effects
        assert len(effects) == 1 and effects[0].audio.sample_rate == 16000
        samples = effects[0].audio.to_array()
        assert samples.shape == (16000,) and np.abs(samples).max() > 0.01

        error = assert_error_shape(httpx.post(f"{url}/v1/sfx", json={**body, "seed": -3}), 422)
        assert error["field"] == "seed"


def test_timbre_keeps_length_and_refuses_drums():
    with serve_app(timbre_app()) as url:
        body = {"audio": tone().model_dump(), "instrument": "bass"}
        response = httpx.post(f"{url}/v1/timbre", json=body, timeout=60)
        result = TimbreResponse.model_validate_json(response.content)
        assert result.audio.to_array().size > 0 and result.engine.value == "dsp"

        error = assert_error_shape(httpx.post(f"{url}/v1/timbre",
                                              json={**body, "instrument": "drums"}), 422)
        assert error["field"] == "instrument"


def test_render_builds_an_instrument_as_sfz_files():
    with serve_app(render_app()) as url:
        response = httpx.post(f"{url}/v1/instruments",
                              json={"audio": tone(2.0).model_dump(), "role": "keyboard"},
                              timeout=60)
        files = {f.name: f for f in InstrumentResponse.model_validate_json(response.content).files}
        assert "keyboard.sfz" in files
        samples = [name for name in files if name.endswith(".wav")]
        assert samples
        data, rate = sf.read(io.BytesIO(files[samples[0]].data()))
        assert rate == 48_000 and np.abs(data).max() > 0

        body = {"audio": {"sample_rate": 48000, "wav_base64": "bm90IGEgd2F2"}, "role": "bass"}
        assert httpx.post(f"{url}/v1/instruments", json=body).status_code in (400, 422)
