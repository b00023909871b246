"""HTTP for the render service: instruments, arrangement and render endpoints."""

from __future__ import annotations

from fastapi import FastAPI, Request

from imagewave.contracts.stages import (
    ArrangementRequest,
    ArrangementResponse,
    InstrumentRequest,
    InstrumentResponse,
    RenderRequest,
    RenderResponse,
)
from imagewave.service_app import create_service_app, run_work, service_responses
from services.render.serving import RenderServing
from services.render.settings import RenderSettings


def create_app(settings: RenderSettings | None = None) -> FastAPI:
    settings = settings or RenderSettings()
    app = create_service_app("imagewave render", lambda: RenderServing(settings))

    @app.post("/v1/instruments", response_model=InstrumentResponse, responses=service_responses)
    async def instruments(request: Request, body: InstrumentRequest) -> InstrumentResponse:
        return await run_work(request, request.app.state.serving.build_instrument, body)

    @app.post("/v1/arrangement", response_model=ArrangementResponse, responses=service_responses)
    async def arrangement(request: Request, body: ArrangementRequest) -> ArrangementResponse:
        return await run_work(request, request.app.state.serving.arrange, body)

    @app.post("/v1/render", response_model=RenderResponse, responses=service_responses)
    async def render(request: Request, body: RenderRequest) -> RenderResponse:
        return await run_work(request, request.app.state.serving.render, body)

    return app
