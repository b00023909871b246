"""The images' own start commands, run here with the environment compose gives each part, answer
/healthz. Only the parts that start without model weights run here: render, vlm (its default
`vllm` engine is a client that contacts the server only per request), the gateway, and timbre on
an empty models volume (it falls back to dsp). Ports, data directories, the models volume's
mount point and the Redis address are the only things changed from the deployment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from imagewave.contracts.audio import AudioPayload
from imagewave.contracts.engines import TimbreEngineName
from imagewave.contracts.scene import Role
from imagewave.contracts.stages import TimbreRequest, TimbreResponse
from tests.deploy.conftest import ROOT, free_port
from tests.deploy.test_dockerfiles import dockerfile_for

pytestmark = pytest.mark.slow


def start(image: str, environment: dict[str, str | None], overrides: dict[str, str],
          log_path: Path) -> subprocess.Popen:
    dockerfile = dockerfile_for(image)
    env = {key: value for key, value in environment.items() if value is not None}
    image_env = {key: os.path.expandvars(value) for key, value in dockerfile.env.items()}
    env = {**os.environ, **image_env, **env, **overrides, "PYTHONPATH": str(ROOT)}
    # The image's exec-form CMD (`sh -c "exec uvicorn ..."`), with this venv's uvicorn on PATH.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.Popen(dockerfile.cmd, env=env, cwd=ROOT, stdout=log_path.open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_healthy(process: subprocess.Popen, port: int, log_path: Path,
                 timeout_s: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    pytest.fail(f"no 200 from /healthz in {timeout_s} s:\n{log_path.read_text()[-3000:]}")


def test_start_commands_serve_the_deployed_configuration(compose_model, redis_url, tmp_path):
    services = compose_model["services"]
    parts = {
        "render": ("render", "IMAGEWAVE_RENDER_", {}),
        "vlm": ("vlm", "IMAGEWAVE_VLM_", {}),
        "gateway": ("gateway", "IMAGEWAVE_", {
            "REDIS_URL": redis_url, "IMAGEWAVE_ARTIFACT_DIR": str(tmp_path / "artifacts"),
            "IMAGEWAVE_DATA_DIR": str(tmp_path / "data")}),
    }
    running = {}
    try:
        for name, (image, prefix, extra) in parts.items():
            port = free_port()
            overrides = {f"{prefix}HOST": "127.0.0.1", f"{prefix}PORT": str(port), **extra}
            log_path = tmp_path / f"{name}.log"
            running[name] = (start(image, services[name]["environment"], overrides, log_path),
                             port, log_path)
        health = {name: wait_healthy(*entry) for name, entry in running.items()}
    finally:
        for process, _, _ in running.values():
            process.terminate()
        for process, _, _ in running.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    assert health["gateway"]["status"] == "ok"
    assert health["render"]["status"] == "ok"
    # vlm came up on the engine the deployment chose, not the code's CPU default.
    default_engine = services["vlm"]["environment"]["IMAGEWAVE_VLM_DEFAULT_ENGINE"]
    assert health["vlm"]["engines_loaded"] == [default_engine]


def test_timbre_boots_on_an_empty_models_volume_and_serves_dsp(compose_model, tmp_path):
    """A fresh deployment has no RAVE exports: the timbre image, started with compose's
    environment (default engine rave), must still become healthy, serve dsp, and say why rave is
    unavailable; the worker waits on `timbre: service_healthy`, so a crash loop here would stall
    every job."""
    environment = compose_model["services"]["timbre"]["environment"]
    assert environment["IMAGEWAVE_TIMBRE_DEFAULT_ENGINE"] == "rave"
    models = tmp_path / "models"
    (models / "rave").mkdir(parents=True)  # what models-init leaves: an empty folder
    port = free_port()
    # The volume's mount point (/models) is the only path moved, plus the binding.
    overrides = {"IMAGEWAVE_TIMBRE_HOST": "127.0.0.1", "IMAGEWAVE_TIMBRE_PORT": str(port),
                 "IMAGEWAVE_TIMBRE_MODEL_DIR": environment["IMAGEWAVE_TIMBRE_MODEL_DIR"].replace(
                     "/models", str(models), 1),
                 "HF_HOME": str(models / "huggingface")}
    log_path = tmp_path / "timbre.log"
    process = start("timbre", environment, overrides, log_path)
    started = time.monotonic()
    try:
        health = wait_healthy(process, port, log_path, timeout_s=90.0)
        healthy_after_s = time.monotonic() - started
        engines = httpx.get(f"http://127.0.0.1:{port}/v1/engines", timeout=5).json()
        tone = np.sin(2 * np.pi * 220 * np.arange(24_000) / 48_000).astype(np.float32) * 0.5
        request = TimbreRequest(audio=AudioPayload.from_array(tone, 48_000),
                                instrument=Role.keyboard)
        voice = httpx.post(f"http://127.0.0.1:{port}/v1/timbre",
                           content=request.model_dump_json(),
                           headers={"content-type": "application/json"}, timeout=60)
        asked_for_rave = httpx.post(
            f"http://127.0.0.1:{port}/v1/timbre", timeout=60,
            content=request.model_copy(update={"engine": TimbreEngineName.rave}
                                       ).model_dump_json(),
            headers={"content-type": "application/json"})
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    assert healthy_after_s < 90
    assert health["status"] == "ok" and health["engines_loaded"] == ["dsp"]
    assert health["details"] == engines
    assert engines["configured_default"] == "rave" and engines["default"] == "dsp"
    states = {engine["name"]: engine for engine in engines["engines"]}
    assert states["dsp"]["state"] == "loaded"
    assert states["rave"]["state"] == "unavailable"
    assert "no RAVE model" in states["rave"]["reason"]
    assert "services.timbre.install" in states["rave"]["reason"]  # the step that fixes it
    assert voice.status_code == 200, voice.text
    assert TimbreResponse.model_validate_json(voice.content).engine is TimbreEngineName.dsp
    # asked for by name, rave is a clear 503 that no client retries (no Retry-After)
    assert asked_for_rave.status_code == 503
    assert asked_for_rave.json()["error"]["code"] == "models_not_installed"
    assert "retry-after" not in asked_for_rave.headers
