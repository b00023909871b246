"""The lite engine is loaded once per test session: loading is what takes time, not describing."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.vlm.engines.lite import LiteDescribeEngine
from services.vlm.settings import VlmSettings
from tests.conftest import GOLDEN, SCORER, SEED_EXAMPLES

__all__ = ["GOLDEN", "SCORER", "SEED_EXAMPLES"]


@pytest.fixture(scope="session")
def lite_engine() -> LiteDescribeEngine:
    return LiteDescribeEngine.from_settings(VlmSettings())


@pytest.fixture(scope="session")
def golden_path() -> Path:
    return GOLDEN
