"""The gateway app: routes, one error handler, Redis/queue/artifact store in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool

from gateway.auth import AccessControl
from gateway.connection import connect_redis
from gateway.dependencies import GatewayState, StateDep
from gateway.jobs import JobStore
from gateway.limits import FORM_OVERHEAD_BYTES, BodySizeLimit
from gateway.queue import job_queue
from gateway.recovery import ReaperThread
from gateway.routes import bundle, events, jobs, metrics, web
from gateway.settings import GatewaySettings
from imagewave.artifacts import LocalArtifactStore
from imagewave.errors import install_error_handlers


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not settings.redis_url:
            raise RuntimeError("REDIS_URL is not set (imagewave serve starts an embedded Redis)")
        redis = connect_redis(settings.redis_url)  # waits out a Redis restart
        app.state.gateway = GatewayState(
            settings=settings, redis=redis, jobs=JobStore(redis, ttl_s=settings.job_ttl_s),
            queue=job_queue(redis, settings), store=LocalArtifactStore(settings.artifact_root))
        reaper = ReaperThread(settings)  # dead workers' jobs, stuck records, retention
        reaper.start()
        yield
        reaper.stop()
        redis.close()

    app = FastAPI(
        title="imagewave",
        version="0.1.0",
        description="A picture in, the music of its sounds out: scene, sound effects, "
                    "instruments (SFZ/SF2) and a mixed song.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(AccessControl, state_of=lambda: app.state.gateway)
    app.add_middleware(BodySizeLimit, max_body_bytes=lambda: settings.max_upload_bytes
                       + settings.max_midi_bytes + FORM_OVERHEAD_BYTES)
    app.include_router(jobs.router)
    app.include_router(events.router)
    app.include_router(bundle.router)
    app.include_router(web.router)
    app.include_router(metrics.router)

    @app.get("/healthz", tags=["health"], summary="200 when Redis answers", responses={
        200: {"content": {"application/json": {"example": {"status": "ok"}}}},
        503: {"content": {"application/json": {"example": {
            "status": "unavailable", "redis": "Error 111 connecting to 127.0.0.1:6379"}}}}})
    async def healthz(state: StateDep) -> JSONResponse:
        try:
            await run_in_threadpool(state.redis.ping)
        except RedisError as exc:
            return JSONResponse({"status": "unavailable", "redis": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok"})

    return app
