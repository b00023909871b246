"""What the code says must be deployed: each deployable, its settings class and the environment
variable names pydantic-settings reads for every field. The deploy tests hold docker-compose.gpu.yml
and k8s/ against this, so a new service or setting fails them until it is deployed."""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from gateway.settings import GatewaySettings
from imagewave.contracts.engines import DescribeEngineName, SfxEngineName, TimbreEngineName
from imagewave.settings import BaseServiceSettings
from imagewave.wiring.stack import SERVICE_APPS

# Engines that need a GPU in production. The vlm service's `vllm` engine is a client: its GPU is
# the vLLM server's.
GPU_ENGINES = {DescribeEngineName.transformers.value, SfxEngineName.audioldm2.value,
               TimbreEngineName.rave.value}


@dataclass(frozen=True)
class Deployable:
    name: str  # compose service and k8s Deployment name
    settings: type[BaseSettings]
    app: str | None  # uvicorn factory "module:function"; None for the worker
    command: tuple[str, ...] = ()  # non-HTTP entry point


def service_settings_class(service: str) -> type[BaseSettings]:
    """The one BaseServiceSettings subclass in services/<service>/settings.py."""
    module = importlib.import_module(f"services.{service}.settings")
    classes = [cls for _, cls in inspect.getmembers(module, inspect.isclass)
               if issubclass(cls, BaseServiceSettings) and cls is not BaseServiceSettings
               and cls.__module__ == module.__name__]
    assert len(classes) == 1, f"services/{service}/settings.py: expected one settings class"
    return classes[0]


def deployables() -> list[Deployable]:
    return [
        *(Deployable(name, service_settings_class(name), app)
          for name, app in SERVICE_APPS.items()),
        Deployable("gateway", GatewaySettings, "gateway.app:create_app"),
        Deployable("worker", GatewaySettings, None, ("imagewave", "worker")),
    ]


def env_names(settings: type[BaseSettings]) -> dict[str, set[str]]:
    """Field → the environment variable names (upper case) that set it."""
    prefix = settings.model_config.get("env_prefix", "")
    names: dict[str, set[str]] = {}
    for field_name, field in settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            choices = {str(choice).upper() for choice in alias.choices}
        elif isinstance(alias, str):
            choices = {alias.upper()}
        else:
            choices = {f"{prefix}{field_name}".upper()}
        names[field_name] = choices
    return names


def settings_from_env(settings: type[BaseSettings], env: dict[str, str], monkeypatch):
    """Build `settings` from exactly `env` (plus nothing else the test process has set)."""
    import os

    for key in list(os.environ):
        if key.startswith("IMAGEWAVE_") or key == "REDIS_URL":
            monkeypatch.delenv(key)
    for key, value in env.items():
        if value is not None:  # compose's `NAME:` with no value: passed through only when set
            monkeypatch.setenv(key, value)
    return settings()


# Where a deployment deliberately differs from the code's defaults (binding, wiring, the studio
# engines and their places); every other documented value must equal the code default.
DEPLOYMENT_OVERRIDES: dict[str, set[str]] = {
    "gateway": {"host", "redis_url", "data_dir", "artifact_dir", "vlm_url", "t2a_url",
                "timbre_url", "render_url"},
    "vlm": {"host", "default_engine", "engines", "vllm_base_url", "vllm_api_key"},
    "t2a": {"host", "default_engine", "engines", "device"},
    "timbre": {"host", "default_engine", "engines", "model_dir", "device"},
    "render": {"host"},
}
DEPLOYMENT_OVERRIDES["worker"] = DEPLOYMENT_OVERRIDES["gateway"]


def drift_from_code_defaults(deployable: Deployable, env: dict[str, str | None],
                             monkeypatch) -> dict[str, tuple[object, object]]:
    """Fields whose deployed value differs from the code default without being an override."""
    deployed = settings_from_env(deployable.settings, env, monkeypatch)
    default = settings_from_env(deployable.settings, {}, monkeypatch)
    return {field: (getattr(deployed, field), getattr(default, field))
            for field in deployable.settings.model_fields
            if field not in DEPLOYMENT_OVERRIDES[deployable.name]
            and getattr(deployed, field) != getattr(default, field)}
