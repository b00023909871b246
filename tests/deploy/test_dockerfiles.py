"""docker/*.Dockerfile: one image per deployable, built from the project's own files, running the
app the code names on the port its settings name. No Docker daemon is needed: the files are read
as Docker reads them (continuation lines, ARG defaults, exec-form CMD)."""

from __future__ import annotations

import fnmatch
import importlib
import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from imagewave.cli import build_parser
from tests.deploy.conftest import COMPOSE_FILE, K8S_DIR, ROOT
from tests.deploy.deployables import deployables

DOCKER_DIR = ROOT / "docker"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
GPU_IMAGES = {"vlm", "t2a", "timbre"}
CPU_IMAGES = {"gateway", "render"}
HTTP_DEPLOYABLES = [d for d in deployables() if d.app]


@dataclass
class Dockerfile:
    base_image: str
    env: dict[str, str] = field(default_factory=dict)
    copies: list[list[str]] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    healthcheck: str = ""


def read_dockerfile(path: Path) -> Dockerfile:
    text = re.sub(r"\\\n", " ", path.read_text())
    args: dict[str, str] = {}
    parsed: Dockerfile | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "ARG" and "=" in rest:
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip()
        elif instruction == "FROM":
            image = re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], rest.split()[0])
            parsed = Dockerfile(base_image=image)
        elif parsed is None:
            continue
        elif instruction == "ENV":
            for token in shlex.split(rest):
                name, _, value = token.partition("=")
                parsed.env[name] = value
        elif instruction == "COPY":
            parsed.copies.append([t for t in rest.split() if not t.startswith("--")])
        elif instruction == "RUN":
            parsed.runs.append(rest)
        elif instruction == "CMD":
            parsed.cmd = json.loads(rest)
        elif instruction == "HEALTHCHECK":
            parsed.healthcheck = rest
    assert parsed is not None, f"{path.name}: no FROM"
    return parsed


def dockerfile_for(image: str) -> Dockerfile:
    return read_dockerfile(DOCKER_DIR / f"{image}.Dockerfile")


def compose_services() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]


def test_every_dockerfile_is_built_by_compose_from_the_repository_root() -> None:
    built = {}
    for name, service in compose_services().items():
        build = service.get("build")
        if build:
            assert build["context"] == ".", name
            built[name] = build["dockerfile"]
    assert set(built.values()) == {f"docker/{p.name}" for p in DOCKER_DIR.glob("*.Dockerfile")}
    assert {f"docker/{image}.Dockerfile" for image in GPU_IMAGES | CPU_IMAGES} == set(
        built.values())
    # The worker is the gateway image with another command.
    assert compose_services()["worker"]["image"] == compose_services()["gateway"]["image"]


def image_of(deployable_name: str) -> str:
    return "gateway" if deployable_name == "worker" else deployable_name


@pytest.mark.parametrize("deployable", HTTP_DEPLOYABLES, ids=lambda d: d.name)
def test_image_runs_the_deployables_app_on_its_settings_port(deployable) -> None:
    dockerfile = dockerfile_for(image_of(deployable.name))
    command = " ".join(dockerfile.cmd)
    assert f"uvicorn --factory {deployable.app} " in command
    module, _, function = deployable.app.partition(":")
    assert callable(getattr(importlib.import_module(module), function))
    prefix = deployable.settings.model_config["env_prefix"]
    assert dockerfile.env[f"{prefix}HOST"] == "0.0.0.0"
    assert int(dockerfile.env[f"{prefix}PORT"]) == deployable.settings.model_fields[
        "port"].default
    assert f'--host "${prefix}HOST"' in command and f'--port "${prefix}PORT"' in command
    assert "/healthz" in dockerfile.healthcheck and f"{prefix}PORT" in dockerfile.healthcheck


def test_worker_command_is_a_real_cli_command() -> None:
    assert PYPROJECT["project"]["scripts"]["imagewave"] == "imagewave.cli:main"
    command = compose_services()["worker"]["command"]
    assert command[0] == "imagewave"
    assert build_parser().parse_args(command[1:]).command == "worker"
    worker = yaml.safe_load((K8S_DIR / "worker.yaml").read_text())
    assert worker["spec"]["template"]["spec"]["containers"][0]["command"] == command


STUDIO_CONSTRAINTS = DOCKER_DIR / "studio-constraints.txt"
# nvidia/cuda:<major>.<minor>.<patch>-<flavour>-<os>; `base` is the only flavour without CUDA's
# math libraries (cuBLAS, cuDNN, ...), which torch's wheel brings itself.
CUDA_BASE = re.compile(r"nvidia/cuda:(\d+)\.\d+(?:\.\d+)?-(base|runtime|cudnn-runtime|devel|"
                       r"cudnn-devel)-[\w.]+")
CUDA_WHEEL = re.compile(r"^(nvidia-[\w-]+?-cu(\d+))\b", re.MULTILINE)


def constraints() -> dict[str, str]:
    """Package (lower case) → its constraint line, from docker/studio-constraints.txt."""
    lines = [line.split("#")[0].strip() for line in STUDIO_CONSTRAINTS.read_text().splitlines()]
    return {re.split(r"[=<>!~ ]", line, maxsplit=1)[0].lower(): line for line in lines if line}


@pytest.mark.parametrize("image", sorted(GPU_IMAGES))
def test_gpu_images_are_cuda_images_with_the_studio_engines(image) -> None:
    dockerfile = dockerfile_for(image)
    assert dockerfile.base_image.startswith("nvidia/cuda:"), dockerfile.base_image
    assert any('pip install -c /src/docker/studio-constraints.txt "/src[studio]"' in run
               for run in dockerfile.runs)
    assert dockerfile.env["HF_HOME"].startswith("/models/")


@pytest.mark.parametrize("image", sorted(GPU_IMAGES))
def test_gpu_images_carry_one_cuda_stack_of_one_major(image) -> None:
    """The base image and the torch wheel agree on the CUDA major, and only the wheel brings
    CUDA libraries: a `base` image, no second torch install from another CUDA index."""
    dockerfile = dockerfile_for(image)
    match = CUDA_BASE.fullmatch(dockerfile.base_image)
    assert match, f"{image}: unexpected base image {dockerfile.base_image}"
    base_major, flavour = int(match[1]), match[2]
    assert flavour == "base", (f"{image}: {flavour} images carry CUDA libraries of their own, "
                               "next to the torch wheel's")
    pinned = constraints()
    torch_pin = next(d for d in PYPROJECT["project"]["dependencies"] if d.startswith("torch"))
    assert pinned["torch"] == torch_pin, "the images must install the torch the tests ran"
    wheel_majors = {int(m[2]) for m in CUDA_WHEEL.finditer(STUDIO_CONSTRAINTS.read_text())}
    assert wheel_majors == {base_major}, (
        f"{image}: base image is CUDA {base_major}, the constraints' CUDA wheels {wheel_majors}")
    installs = " ".join(run for run in dockerfile.runs if "pip install" in run)
    other_indexes = re.findall(r"download\.pytorch\.org/whl/(\w+)", installs)
    assert not other_indexes, f"{image}: a second torch from {other_indexes}"
    assert "torch" not in re.sub(r"/src\[studio\]|studio-constraints", "", installs)


def test_the_constraints_pin_every_studio_dependency() -> None:
    pinned = constraints()
    for requirement in PYPROJECT["project"]["optional-dependencies"]["studio"]:
        name = re.split(r"[=<>!~\[ ]", requirement, maxsplit=1)[0].lower()
        assert name in pinned and "==" in pinned[name], f"{name} is not pinned for the images"


def test_docs_state_the_minimum_driver_of_the_images_cuda_major() -> None:
    majors = {int(CUDA_BASE.fullmatch(dockerfile_for(image).base_image)[1])
              for image in GPU_IMAGES}
    assert len(majors) == 1, f"the GPU images use CUDA majors {majors}"
    # NVIDIA's minimum Linux driver per CUDA major (CUDA toolkit release notes).
    minimum_driver = {12: 525, 13: 580}[majors.pop()]
    docs = (ROOT / "docs" / "studio.md").read_text()
    assert re.search(rf"driver[^\n]*>= ?{minimum_driver}", docs), (
        f"docs/studio.md must state the minimum driver ({minimum_driver})")


@pytest.mark.parametrize("image", sorted(CPU_IMAGES))
def test_cpu_images_are_slim_with_the_cpu_torch_wheel(image) -> None:
    dockerfile = dockerfile_for(image)
    assert re.fullmatch(r"python:3\.1\d-slim(-\w+)?", dockerfile.base_image)
    torch_pin = next(d for d in PYPROJECT["project"]["dependencies"] if d.startswith("torch"))
    cpu_torch = [run for run in dockerfile.runs if "download.pytorch.org/whl/cpu" in run]
    assert cpu_torch and torch_pin in cpu_torch[0], f"{image}: CPU torch must match {torch_pin}"


@pytest.mark.parametrize("image", sorted(GPU_IMAGES | CPU_IMAGES))
def test_images_install_the_project_from_its_own_files(image) -> None:
    dockerfile = dockerfile_for(image)
    # The build context is the repository (trimmed by .dockerignore), copied whole.
    assert [".", "/src"] in dockerfile.copies, dockerfile.copies
    installs = [run for run in dockerfile.runs if "pip install" in run and "/src" in run]
    assert installs, f"{image}: the project is not pip-installed"
    for extra in re.findall(r"/src\[([\w,]+)\]", installs[0]):
        assert set(extra.split(",")) <= set(PYPROJECT["project"]["optional-dependencies"])


def test_dockerignore_keeps_the_sources_and_drops_the_heavy_parts() -> None:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]

    def ignored(path: str) -> bool:
        return any(fnmatch.fnmatch(path, p.lstrip("/")) or path.startswith(p.lstrip("/") + "/")
                   for p in patterns)

    for needed in ["pyproject.toml", "README.md", "imagewave/__init__.py", "gateway/app.py",
                   "services/vlm/app.py", "services/vlm/fewshot/plaza.json"]:
        assert (ROOT / needed).exists() and not ignored(needed), needed
    for heavy in [".venv", ".git", "tests", "out"]:
        assert ignored(heavy), heavy


def test_k8s_images_are_the_dockerfiles_images() -> None:
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    ours = {entry["name"] for entry in kustomization["images"]}
    assert ours == {f"imagewave/{image}" for image in GPU_IMAGES | CPU_IMAGES}
    for path in K8S_DIR.glob("*.yaml"):
        for document in yaml.safe_load_all(path.read_text()):
            if not document or document.get("kind") != "Deployment":
                continue
            name = document["metadata"]["name"]
            image = document["spec"]["template"]["spec"]["containers"][0]["image"]
            if name == "vllm":
                continue
            assert image == f"imagewave/{image_of(name)}", f"{name}: {image}"
