"""Engine registries: each service maps engine names to loaders and keeps what it loaded.

A loader runs once per engine (in the app's lifespan for the default engine, on first use for
the others), never at import, so tests and RQ work-horses stay light.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Generic, TypeVar

from imagewave.errors import EngineUnavailable, ModelsNotInstalled

log = logging.getLogger(__name__)

NameT = TypeVar("NameT", bound=Enum)
EngineT = TypeVar("EngineT")


class EngineRegistry(Generic[NameT, EngineT]):
    def __init__(self, loaders: Mapping[NameT, Callable[[], EngineT]], default: NameT) -> None:
        if default not in loaders:
            raise ValueError(f"default engine {default!r} has no loader; known: {list(loaders)}")
        self._loaders = dict(loaders)
        self.default = default
        self.configured_default = default
        self._loaded: dict[NameT, EngineT] = {}
        # Why an engine could not load, kept for /healthz and /v1/engines (cleared on success).
        self.unavailable: dict[NameT, str] = {}
        self._lock = threading.Lock()

    @property
    def loaded(self) -> list[NameT]:
        return list(self._loaded)

    @property
    def enabled(self) -> list[NameT]:
        return list(self._loaders)

    def load_default(self) -> EngineT:
        """Load the default engine at start-up. When its models are not installed (an empty
        models volume), fall back to the first other enabled engine that loads, so a fresh
        deployment serves; any other failure (no GPU for a large model, a broken install) is
        raised, so the service reports itself not ready."""
        try:
            return self.get()
        except ModelsNotInstalled as missing:
            for name in self._loaders:
                if name == self.configured_default:
                    continue
                try:
                    engine = self.get(name)
                except EngineUnavailable:
                    continue
                log.warning("default engine %r unavailable (%s); serving %r until its models "
                            "are installed", self.configured_default.value, missing.message,
                            name.value)
                self.default = name
                return engine
            raise

    def get(self, name: NameT | None = None) -> EngineT:
        name = name or self.default
        if name in self._loaded:
            return self._loaded[name]
        if name not in self._loaders:
            raise EngineUnavailable(f"engine {name.value!r} is not enabled in this deployment")
        with self._lock:
            if name not in self._loaded:
                try:
                    self._loaded[name] = self._loaders[name]()
                except EngineUnavailable as exc:
                    self.unavailable[name] = exc.message
                    raise
                except (ImportError, OSError, RuntimeError) as exc:
                    problem = EngineUnavailable(f"engine {name.value!r} could not load: {exc}")
                    self.unavailable[name] = problem.message
                    raise problem from exc
                self.unavailable.pop(name, None)
            return self._loaded[name]

    def describe(self) -> dict:
        """What /v1/engines and /healthz report: every enabled engine and its state."""
        return {
            "default": self.default.value,
            "configured_default": self.configured_default.value,
            "engines": [{"name": name.value,
                         "state": ("loaded" if name in self._loaded else
                                   "unavailable" if name in self.unavailable else "not_loaded"),
                         **({"reason": self.unavailable[name]}
                            if name in self.unavailable else {})}
                        for name in self._loaders],
        }


def registry_from_settings(settings, loaders: Mapping[NameT, Callable[[object], EngineT]]
                           ) -> EngineRegistry[NameT, EngineT]:
    """The registry a deployment's settings ask for: its `engines` plus its `default_engine`,
    each loader called with the settings when that engine is first needed."""
    enabled = set(settings.engines) | {settings.default_engine}
    bound = {name: (lambda load=load: load(settings)) for name, load in loaders.items()
             if name in enabled}
    return EngineRegistry(bound, settings.default_engine)
