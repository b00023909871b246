"""HTTP for the t2a service: POST /v1/sfx (SfxRequest) → SfxResponse."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from imagewave.contracts.stages import SfxRequest, SfxResponse
from imagewave.service_app import create_service_app, service_responses
from services.t2a.serving import T2aServing
from services.t2a.settings import T2aSettings


def create_app(settings: T2aSettings | None = None) -> FastAPI:
    settings = settings or T2aSettings()
    app = create_service_app("imagewave t2a", lambda: T2aServing(settings),
                             max_in_flight=settings.max_in_flight,
                             retry_after_s=settings.retry_after_s)

    @app.post("/v1/sfx", response_model=SfxResponse, responses=service_responses)
    async def sfx(request: Request, body: SfxRequest) -> SfxResponse:
        return await run_in_threadpool(request.app.state.serving.generate, body)

    return app
