"""HTTP for the timbre service: POST /v1/timbre (TimbreRequest) → TimbreResponse."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from imagewave.contracts.stages import TimbreRequest, TimbreResponse
from imagewave.service_app import create_service_app, service_responses
from services.timbre.serving import TimbreServing
from services.timbre.settings import TimbreSettings


def create_app(settings: TimbreSettings | None = None) -> FastAPI:
    settings = settings or TimbreSettings()
    app = create_service_app("imagewave timbre", lambda: TimbreServing(settings),
                             max_in_flight=settings.max_in_flight,
                             retry_after_s=settings.retry_after_s)

    @app.post("/v1/timbre", response_model=TimbreResponse, responses=service_responses)
    async def timbre(request: Request, body: TimbreRequest) -> TimbreResponse:
        return await run_in_threadpool(request.app.state.serving.transfer, body)

    return app
