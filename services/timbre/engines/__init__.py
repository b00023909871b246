"""Timbre engines: each turns an effect into an instrument voice, keeping its time envelope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from imagewave.contracts.engines import TimbreEngineName
from imagewave.contracts.scene import Role
from imagewave.engines import EngineRegistry, registry_from_settings
from services.timbre.settings import TimbreSettings


@dataclass
class TimbreResult:
    samples: np.ndarray  # mono float32
    sample_rate: int
    root_pitch: float | None  # MIDI pitch the voice was made at, when known


class TimbreEngine(Protocol):
    name: TimbreEngineName

    def transfer(self, samples: np.ndarray, sample_rate: int, instrument: Role) -> TimbreResult:
        """`instrument` is keyboard, bass or guitar; `samples` mono float32."""
        ...


def _load_dsp(settings: TimbreSettings) -> TimbreEngine:
    from services.timbre.engines.dsp import DspTimbreEngine

    return DspTimbreEngine.from_settings(settings)


def _load_rave(settings: TimbreSettings) -> TimbreEngine:
    from services.timbre.engines.rave import RaveTimbreEngine

    return RaveTimbreEngine.from_settings(settings)


_LOADERS = {TimbreEngineName.dsp: _load_dsp, TimbreEngineName.rave: _load_rave}


def build_registry(settings: TimbreSettings) -> EngineRegistry[TimbreEngineName, TimbreEngine]:
    return registry_from_settings(settings, _LOADERS)
