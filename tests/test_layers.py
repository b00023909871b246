"""The layer contract (pyproject.toml [tool.importlinter]) holds, and breaks when a lower layer
imports a higher one: each violation below is written into a copy of the code, and
`lint-imports` must refuse it by the contract's name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_layers_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture(scope="module")
def code_copy(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("layers")
    shutil.copy(ROOT / "pyproject.toml", copy)
    for package in ("imagewave", "gateway", "services"):
        shutil.copytree(ROOT / package, copy / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.toml", "*.txt", "*.ts",
                                                      "static", "fewshot"))
    return copy


@pytest.mark.parametrize(("module", "violation", "contract"), [
    ("imagewave/audio.py", "from gateway.settings import GatewaySettings",
     "The shared core imports neither the gateway"),
    ("imagewave/contracts/layout.py", "from imagewave.wiring import stack",
     "The shared core imports neither the gateway"),
    ("gateway/pipeline.py", "from services.render.serving import RenderServing",
     "The gateway speaks HTTP to services"),
    ("services/t2a/serving.py", "from gateway.jobs import JobStore",
     "Services import only the shared core"),
    ("services/vlm/prompt.py", "from services.t2a.prompt import sound_prompt",
     "Services never call each other"),
    ("gateway/jobs.py", "from gateway.routes.jobs import router",
     "No import cycles between sibling modules"),
])
def test_a_violation_breaks_the_contract(code_copy: Path, module: str, violation: str,
                                         contract: str) -> None:
    path = code_copy / module
    original = path.read_text()
    path.write_text(original + f"\n\ndef _violation():\n    {violation}\n")
    try:
        result = lint_imports(code_copy)
    finally:
        path.write_text(original)
    assert result.returncode != 0, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout
