"""Which engines this deployment runs, so POST /jobs can refuse one it does not (422 naming
`options.engines.<stage>`) instead of a job that fails after every retry with a 503.

The services say it in their /healthz (`engines_enabled`). Only workers may reach the services
(k8s/network.yaml), so the reaper thread of every worker (and of the gateway, where it can)
publishes what it read into Redis every `ENGINES_REFRESH_S`, and the gateway reads it there.
A stage whose list is unknown (no fresh entry) is not checked: the job runs and the service
decides, as before.
"""

from __future__ import annotations

import json
import logging

import httpx
from redis import Redis

from gateway.settings import GatewaySettings
from imagewave.contracts.jobs import EngineChoice
from imagewave.errors import InvalidInput

log = logging.getLogger(__name__)

ENGINES_REFRESH_S = 15.0
ENGINES_TTL_S = 60
# The stages whose engine a request may choose, and the service running each.
STAGE_SERVICES = {"describe": "vlm", "sfx": "t2a", "timbre": "timbre"}


def _key(stage: str) -> str:
    return f"imagewave:engines:{stage}"


def publish_enabled_engines(redis: Redis, settings: GatewaySettings) -> dict[str, list[str]]:
    """Ask each service which engines it runs; keep the answers in Redis for a minute."""
    published = {}
    for stage, service in STAGE_SERVICES.items():
        try:
            answer = httpx.get(f"{getattr(settings, f'{service}_url')}/healthz", timeout=2,
                               trust_env=False)
            enabled = answer.json().get("engines_enabled") if answer.is_success else None
        except (httpx.HTTPError, ValueError):
            enabled = None
        if isinstance(enabled, list):
            redis.set(_key(stage), json.dumps(enabled), ex=ENGINES_TTL_S)
            published[stage] = enabled
    return published


def check_engines(redis: Redis, engines: EngineChoice) -> None:
    chosen = {stage: getattr(engines, stage) for stage in STAGE_SERVICES}
    chosen = {stage: name for stage, name in chosen.items() if name is not None}
    if not chosen:
        return
    known = redis.mget([_key(stage) for stage in chosen])
    for (stage, name), raw in zip(chosen.items(), known, strict=True):
        if raw is None:
            continue
        enabled = json.loads(raw)
        if name.value not in enabled:
            field = f"options.engines.{stage}"
            raise InvalidInput(f"{field}: engine {name.value!r} is not enabled in this "
                               f"deployment; enabled: {', '.join(enabled) or 'none'}",
                               field=field)
