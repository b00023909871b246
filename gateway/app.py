"""The gateway app: routes, one error handler, Redis/queue/artifact store in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from redis import Redis
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool

from gateway.auth import AccessControl
from gateway.connection import connect_redis
from gateway.dependencies import GatewayState
from gateway.jobs import JobStore
from gateway.limits import FORM_OVERHEAD_BYTES, BodySizeLimit, free_disk_bytes
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
        # /healthz must answer within a second or two during an outage: no retries, short
        # timeouts (the shared client above waits an outage out, ~30 s).
        app.state.health_redis = Redis.from_url(settings.redis_url, socket_timeout=1,
                                                socket_connect_timeout=1)
        app.state.gateway = GatewayState(
            settings=settings, redis=redis, jobs=JobStore(redis, ttl_s=settings.job_ttl_s),
            queue=job_queue(redis, settings), store=LocalArtifactStore(settings.artifact_root))
        reaper = ReaperThread(settings)  # dead workers' jobs, stuck records, retention
        reaper.start()
        yield
        reaper.stop()
        redis.close()
        app.state.health_redis.close()

    # Swagger UI / ReDoc from files in the package: /docs works with no network.
    app = FastAPIOffline(
        title="imagewave",
        version="0.1.0",
        description="A picture in, the music of its sounds out: scene, sound effects, "
                    "instruments (SFZ/SF2) and a mixed song.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(AccessControl, state_of=lambda: app.state.gateway)
    app.add_middleware(BodySizeLimit, max_body_bytes=lambda: settings.max_upload_bytes
                       + settings.max_midi_bytes + FORM_OVERHEAD_BYTES,
                       field_limits=lambda: {"image": settings.max_upload_bytes,
                                             "midi": settings.max_midi_bytes})
    if settings.cors_allow_origins:
        from fastapi.middleware.cors import CORSMiddleware

        # Outermost, so preflights and error answers carry the headers too.
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_allow_origins,
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["X-API-Key", "Authorization", "Idempotency-Key",
                                          "Last-Event-ID", "Prefer"],
                           expose_headers=["Location", "Preference-Applied", "Retry-After",
                                           "Idempotent-Replayed"])
    app.include_router(jobs.router)
    app.include_router(events.router)
    app.include_router(bundle.router)
    app.include_router(web.router)
    app.include_router(metrics.router)

    @app.get("/healthz", tags=["health"],
             summary="200 when Redis answers and the artifact disk has room", responses={
        200: {"content": {"application/json": {"example": {"status": "ok"}}}},
        503: {"content": {"application/json": {"example": {
            "status": "unavailable", "redis": "Error 111 connecting to 127.0.0.1:6379"}}}}})
    async def healthz() -> JSONResponse:
        try:
            await run_in_threadpool(app.state.health_redis.ping)
        except RedisError as exc:
            return JSONResponse({"status": "unavailable", "redis": str(exc)}, status_code=503)
        # Not ready while new jobs would only fail for want of disk (POST /jobs says 507).
        try:
            free = await run_in_threadpool(free_disk_bytes, settings)
        except OSError as exc:
            return JSONResponse({"status": "unavailable", "disk": str(exc)}, status_code=503)
        if free < settings.min_free_disk_bytes:
            return JSONResponse({"status": "unavailable", "disk": f"{free} bytes free, "
                                 f"{settings.min_free_disk_bytes} needed"}, status_code=503)
        return JSONResponse({"status": "ok"})

    declare_api_key(app)
    return app


def declare_api_key(app: FastAPI) -> None:
    """AccessControl (a middleware) checks keys, so no route declares them: say it once in the
    OpenAPI document, so /docs shows "Authorize" and generated clients send the header."""
    make_schema = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = make_schema()
        schema.setdefault("components", {})["securitySchemes"] = {
            "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                       "description": "Made by `imagewave keys create NAME`; required when the "
                                      "gateway sets IMAGEWAVE_API_KEYS_REQUIRED"},
            "Bearer": {"type": "http", "scheme": "bearer",
                       "description": "The same key as `Authorization: Bearer <key>`"}}
        # Either scheme, or none where keys are optional.
        schema["security"] = [{"ApiKey": []}, {"Bearer": []}, {}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
