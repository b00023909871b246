"""The worker's health probe (k8s readiness/liveness, compose healthcheck) against a real RQ worker
and a real Redis: healthy while `imagewave worker` runs, unhealthy once it has stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.deploy.conftest import COMPOSE_FILE, K8S_DIR, ROOT

pytestmark = pytest.mark.slow


def worker_probes() -> dict[str, list[str]]:
    worker = yaml.safe_load((K8S_DIR / "worker.yaml").read_text())
    container = worker["spec"]["template"]["spec"]["containers"][0]
    compose_test = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["worker"]["healthcheck"][
        "test"]
    assert compose_test[0] == "CMD"
    return {"k8s readiness": container["readinessProbe"]["exec"]["command"],
            "k8s liveness": container["livenessProbe"]["exec"]["command"],
            "compose": compose_test[1:]}


def test_compose_and_k8s_probe_the_worker_the_same_way() -> None:
    probes = worker_probes()
    assert len({tuple(command) for command in probes.values()}) == 1, probes


def run_probe(command: list[str], env: dict[str, str]) -> int:
    argv = [sys.executable if command[0] == "python" else command[0], *command[1:]]
    return subprocess.run(argv, env=env, capture_output=True, timeout=30, cwd=ROOT).returncode


def test_probe_follows_a_real_worker(redis_url: str, tmp_path: Path) -> None:
    probe = worker_probes()["k8s liveness"]
    env = {**os.environ, "REDIS_URL": redis_url, "IMAGEWAVE_ARTIFACT_DIR": str(tmp_path),
           "IMAGEWAVE_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    assert run_probe(probe, env) == 1, "no worker yet, the probe must fail"

    worker = subprocess.Popen([sys.executable, "-m", "imagewave.cli", "worker"], env=env,
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while run_probe(probe, env) != 0:
            assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "worker never became healthy"
            time.sleep(0.3)
    finally:
        worker.send_signal(signal.SIGTERM)  # warm shutdown: RQ unregisters the worker
        worker.wait(timeout=30)
    assert run_probe(probe, env) == 1, "a stopped worker must fail the probe"
