"""HTTP for the vlm service: POST /v1/describe (multipart image) → DescribeResponse."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, File, Form, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from imagewave.contracts.engines import DescribeEngineName
from imagewave.contracts.stages import DescribeResponse
from imagewave.service_app import create_service_app, service_responses
from services.vlm.serving import VlmServing
from services.vlm.settings import VlmSettings


def create_app(settings: VlmSettings | None = None) -> FastAPI:
    settings = settings or VlmSettings()
    app = create_service_app("imagewave vlm", lambda: VlmServing(settings),
                             max_in_flight=settings.max_in_flight,
                             retry_after_s=settings.retry_after_s)

    @app.post("/v1/describe", response_model=DescribeResponse, responses=service_responses)
    async def describe(
        request: Request,
        image: Annotated[UploadFile, File(description="The picture (JPEG, PNG, WebP, GIF)")],
        engine: Annotated[DescribeEngineName | None, Form()] = None,
    ) -> DescribeResponse:
        data = await image.read()
        return await run_in_threadpool(request.app.state.serving.describe, data, engine)

    return app
