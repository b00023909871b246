"""The images `pip install` the project (not editable), so what they run is what the wheel holds.
Build the wheel from the sources and check that every data file of the packages is in it: a
knowledge table or web page left out works in a checkout and fails only in a container."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.deploy.conftest import ROOT

pytestmark = pytest.mark.slow  # builds the wheel with pip, in a process

PACKAGES = ("imagewave", "gateway", "services")
# Training recipes have their own requirements and never run in a serving image.
NOT_SERVED = "services/timbre/train/"


def package_data_files() -> set[str]:
    files = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*"):
            name = path.relative_to(ROOT).as_posix()
            if path.is_file() and path.suffix not in {".py", ".pyc"} \
                    and "__pycache__" not in path.parts and not name.startswith(NOT_SERVED):
                files.add(name)
    return files


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> set[str]:
    pytest.importorskip("setuptools")
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, source / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         str(source), "-w", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = out.glob("imagewave-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_wheel_holds_every_data_file_of_the_packages(wheel_names) -> None:
    data_files = package_data_files()
    assert data_files, "expected data files (knowledge tables, few-shot examples, web page)"
    missing = sorted(data_files - wheel_names)
    assert not missing, (
        f"not in the wheel, so missing in every image: {missing}; add their patterns to "
        "[tool.setuptools.package-data] in pyproject.toml")


def test_wheel_holds_every_deployable_module(wheel_names) -> None:
    from tests.deploy.deployables import deployables

    for deployable in deployables():
        if deployable.app:
            module = deployable.app.partition(":")[0]
            assert f"{module.replace('.', '/')}.py" in wheel_names, module
        module = deployable.settings.__module__
        assert f"{module.replace('.', '/')}.py" in wheel_names, module


def test_training_code_stays_out_of_the_wheel(wheel_names) -> None:
    assert (ROOT / NOT_SERVED / "recipe.py").is_file()
    assert not [name for name in wheel_names if name.startswith(NOT_SERVED)]
    assert "services/timbre/serving.py" in wheel_names
