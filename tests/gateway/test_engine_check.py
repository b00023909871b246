"""An engine this deployment does not run is a 422 at POST /jobs naming options.engines.<stage>:
the workers read the services' /healthz (engines_enabled) into Redis, the gateway checks it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from redis import Redis

from gateway.app import create_app
from gateway.engines import publish_enabled_engines
from gateway.settings import GatewaySettings
from services.t2a.app import create_app as create_t2a
from tests.conftest import free_port, serve_app


def test_an_engine_not_enabled_here_is_refused_at_post(redis_url: str, tmp_path: Path, photo):
    with serve_app(create_t2a()) as t2a_url:  # procedural only, as by default
        settings = GatewaySettings(redis_url=redis_url, artifact_dir=tmp_path / "artifacts",
                                   queue_name="test-engine-check", t2a_url=t2a_url,
                                   vlm_url=f"http://127.0.0.1:{free_port()}",
                                   timbre_url=f"http://127.0.0.1:{free_port()}")
        with serve_app(create_app(settings)) as url:
            def post(engines: dict) -> httpx.Response:
                return httpx.post(f"{url}/jobs", files={"image": ("p.jpg", photo.read_bytes())},
                                  data={"options": json.dumps({"engines": engines})}, timeout=10)

            # Nothing published yet: nobody knows, the job is accepted as before.
            assert post({"sfx": "audioldm2"}).status_code == 202
            published = publish_enabled_engines(Redis.from_url(redis_url), settings)
            assert published == {"sfx": ["procedural"]}  # vlm and timbre are not running
            refused = post({"sfx": "audioldm2"})
            assert refused.status_code == 422, refused.text
            error = refused.json()["error"]
            assert error["field"] == "options.engines.sfx" and "procedural" in error["message"]
            assert post({"sfx": "procedural"}).status_code == 202
            assert post({"timbre": "rave"}).status_code == 202  # timbre unknown: not checked
