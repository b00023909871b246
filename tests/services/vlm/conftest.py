"""The lite engine is loaded once per test session: loading is what takes time, not describing."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.vlm.engines.lite import LiteDescribeEngine
from services.vlm.settings import VlmSettings
from tests.conftest import SHARED

GOLDEN = SHARED / "golden" / "dev.json"
SCORER = SHARED / "eval" / "score_scenes.py"
SEED_EXAMPLES = SHARED / "seed" / "examples"


@pytest.fixture(scope="session")
def lite_engine() -> LiteDescribeEngine:
    return LiteDescribeEngine.from_settings(VlmSettings())


@pytest.fixture(scope="session")
def golden_path() -> Path:
    if not GOLDEN.exists():
        pytest.skip(f"golden set not found at {GOLDEN}")
    return GOLDEN
