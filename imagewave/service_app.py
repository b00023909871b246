"""What every service app shares: lifespan that builds the serving object, health routes,
the one error shape, and the documented error responses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from imagewave.cancellation import TIMEOUT_HEADER, CancelToken, current_token, parse_timeout
from imagewave.contracts.jobs import ErrorResponse
from imagewave.errors import install_error_handlers

service_responses: dict[int | str, dict] = {
    413: {"model": ErrorResponse, "description": "Payload too large"},
    422: {"model": ErrorResponse, "description": "Invalid input"},
    503: {"model": ErrorResponse, "description": "Engine unavailable"},
}


ResultT = TypeVar("ResultT")
DISCONNECT_POLL_S = 0.25


async def run_work(request: Request, work: Callable[..., ResultT], *args) -> ResultT:
    """Run `work(*args)` in the thread pool with a `CancelToken` that trips when the caller's
    `X-Imagewave-Timeout-S` passes or the caller disconnects (imagewave/cancellation.py)."""
    token = CancelToken(parse_timeout(request.headers.get(TIMEOUT_HEADER)))

    async def watch_disconnect() -> None:
        while not token.canceled:
            if await request.is_disconnected():
                token.cancel("the caller disconnected")
                return
            await asyncio.sleep(DISCONNECT_POLL_S)

    def in_thread() -> ResultT:
        current_token.set(token)
        return work(*args)

    watcher = asyncio.create_task(watch_disconnect())
    try:
        return await run_in_threadpool(in_thread)
    finally:
        watcher.cancel()


class Serving(Protocol):
    def warm_up(self) -> None: ...


def create_service_app(title: str, make_serving: Callable[[], Serving]) -> FastAPI:
    """A FastAPI app whose `app.state.serving` is built (and warmed up) in the lifespan,
    so models load when the server starts, never at import."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        serving = make_serving()
        await run_in_threadpool(serving.warm_up)
        app.state.serving = serving
        yield

    app = FastAPI(title=title, version="0.1.0", lifespan=lifespan)
    install_error_handlers(app)

    @app.get("/healthz", tags=["health"])
    async def healthz(request: Request) -> JSONResponse:
        serving = getattr(request.app.state, "serving", None)
        if serving is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        registry = getattr(serving, "engines", None)
        loaded = [name.value for name in getattr(registry, "loaded", [])]
        enabled = [name.value for name in getattr(registry, "enabled", [])]
        return JSONResponse({"status": "ok", "engines_loaded": loaded,
                             "engines_enabled": enabled})

    return app
