"""What every service app shares: lifespan that builds the serving object, health routes, the
engines listing, admission control, the one error shape, and the documented error responses."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from imagewave.errors import (
    EngineUnavailable,
    ErrorResponse,
    ServiceBusy,
    install_error_handlers,
)

log = logging.getLogger(__name__)

service_responses: dict[int | str, dict] = {
    413: {"model": ErrorResponse, "description": "Payload too large"},
    422: {"model": ErrorResponse, "description": "Invalid input"},
    503: {"model": ErrorResponse,
          "description": "Engine unavailable, or busy (then with Retry-After)"},
}

# Stage work lives under /v1/; the engines listing is a cheap read and is always answered.
_ADMITTED_PREFIX = "/v1/"
_NEVER_QUEUED = {"/v1/engines"}


class Serving(Protocol):
    def warm_up(self) -> None: ...


class AdmissionControl:
    """At most `max_in_flight` stage requests inside the app at once; the next one is answered
    503 `service_busy` with `Retry-After` straight away, before its body is read.

    The count lives on the event loop (ASGI calls run there), so it needs no lock. Work itself
    runs in the thread pool; bounding admissions bounds that too, and keeps a GPU service from
    accepting twenty diffusion calls it can only run one after the other."""

    def __init__(self, app: ASGIApp, *, max_in_flight: int, retry_after_s: float) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.retry_after_s = retry_after_s
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (scope["type"] != "http" or not path.startswith(_ADMITTED_PREFIX)
                or path in _NEVER_QUEUED):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            busy = ServiceBusy(f"the service is busy: {self.in_flight} requests in flight "
                               f"(max_in_flight {self.max_in_flight}); retry after "
                               f"{self.retry_after_s:g} s", retry_after_s=self.retry_after_s)
            response = JSONResponse(busy.to_response().model_dump(), status_code=busy.status_code,
                                    headers=busy.headers)
            await response(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


def create_service_app(title: str, make_serving: Callable[[], Serving], *,
                       max_in_flight: int | None = None,
                       retry_after_s: float = 2.0) -> FastAPI:
    """A FastAPI app whose `app.state.serving` is built (and warmed up) in the lifespan,
    so models load when the server starts, never at import.

    A default engine that cannot load (no GPU for a model that needs one, a broken install)
    leaves the app up but not ready: /healthz answers 503 with the reason, so probes hold
    traffic back and the reason is readable, instead of a crash loop. With `max_in_flight`,
    stage requests beyond it are refused 503 + Retry-After (`AdmissionControl`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        serving = make_serving()
        try:
            await run_in_threadpool(serving.warm_up)
        except EngineUnavailable as exc:
            log.error("not ready: %s", exc.message)
            app.state.not_ready = exc.message
        app.state.serving = serving
        yield

    app = FastAPI(title=title, version="0.1.0", lifespan=lifespan)
    app.state.not_ready = None
    install_error_handlers(app)
    if max_in_flight is not None:
        app.add_middleware(AdmissionControl, max_in_flight=max_in_flight,
                           retry_after_s=retry_after_s)

    def engines_report(serving) -> dict:
        registry = getattr(serving, "engines", None)
        return registry.describe() if hasattr(registry, "describe") else {}

    @app.get("/healthz", tags=["health"])
    async def healthz(request: Request) -> JSONResponse:
        serving = getattr(request.app.state, "serving", None)
        if serving is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        registry = getattr(serving, "engines", None)
        loaded = [name.value for name in getattr(registry, "loaded", [])]
        body = {"status": "ok", "engines_loaded": loaded, "details": engines_report(serving)}
        if request.app.state.not_ready:
            body.update(status="unavailable", error=request.app.state.not_ready)
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    @app.get("/v1/engines", tags=["health"])
    async def engines(request: Request) -> JSONResponse:
        """Every engine this deployment enabled: loaded, not loaded yet, or unavailable (and
        why), and the default a request naming no engine gets."""
        serving = getattr(request.app.state, "serving", None)
        if serving is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse(engines_report(serving))

    return app
