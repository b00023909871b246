"""The images' own start commands, run here with the environment compose gives each part, answer
/healthz. Only the parts that start without model weights run here: render, vlm (its default
`vllm` engine is a client that contacts the server only per request) and the gateway. Ports,
data directories and the Redis address are the only things changed from the deployment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

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
