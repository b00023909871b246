"""Engine registries: each service maps engine names to loaders and keeps what it loaded.

A loader runs once per engine (in the app's lifespan for the default engine, on first use for
the others), never at import, so tests and RQ work-horses stay light.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Generic, TypeVar

from imagewave.errors import EngineUnavailable

NameT = TypeVar("NameT", bound=Enum)
EngineT = TypeVar("EngineT")


class EngineRegistry(Generic[NameT, EngineT]):
    def __init__(self, loaders: Mapping[NameT, Callable[[], EngineT]], default: NameT) -> None:
        if default not in loaders:
            raise ValueError(f"default engine {default!r} has no loader; known: {list(loaders)}")
        self._loaders = dict(loaders)
        self.default = default
        self._loaded: dict[NameT, EngineT] = {}
        self._lock = threading.Lock()

    @property
    def loaded(self) -> list[NameT]:
        return list(self._loaded)

    @property
    def enabled(self) -> list[NameT]:
        """The engines this deployment may run (loaded or not yet)."""
        return list(self._loaders)

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
                except (ImportError, OSError, RuntimeError) as exc:
                    raise EngineUnavailable(f"engine {name.value!r} could not load: {exc}") from exc
            return self._loaded[name]


def registry_from_settings(settings, loaders: Mapping[NameT, Callable[[object], EngineT]]
                           ) -> EngineRegistry[NameT, EngineT]:
    """The registry a deployment's settings ask for: its `engines` plus its `default_engine`,
    each loader called with the settings when that engine is first needed."""
    enabled = set(settings.engines) | {settings.default_engine}
    bound = {name: (lambda load=load: load(settings)) for name, load in loaders.items()
             if name in enabled}
    return EngineRegistry(bound, settings.default_engine)
