"""One error shape for every HTTP endpoint: `{"error": {"code", "message", "field"}}`.

Engines and pipelines raise `ImagewaveError` subclasses (no HTTP imports needed to raise them);
`install_error_handlers` turns them, FastAPI's validation errors and unexpected exceptions into
`ErrorResponse` bodies with the right status.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str = Field(examples=["invalid_image"])
    message: str
    field: str | None = Field(default=None, description="The request field at fault, if any")


class ErrorResponse(BaseModel):
    """The one error shape every imagewave HTTP endpoint answers with."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"error": {
        "code": "invalid_image", "message": "image is not a picture this service can read",
        "field": "image"}}]})

    error: ErrorDetail


class ImagewaveError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_response(self) -> ErrorResponse:
        return ErrorResponse(error=ErrorDetail(code=self.code, message=self.message,
                                               field=self.field))


class InvalidInput(ImagewaveError):
    status_code = 422
    code = "invalid_input"


class InvalidImage(InvalidInput):
    code = "invalid_image"


class InvalidMidi(InvalidInput):
    code = "invalid_midi"


class PayloadTooLarge(ImagewaveError):
    status_code = 413
    code = "payload_too_large"


class NotFound(ImagewaveError):
    status_code = 404
    code = "not_found"


class Conflict(ImagewaveError):
    status_code = 409
    code = "conflict"


class EngineUnavailable(ImagewaveError):
    status_code = 503
    code = "engine_unavailable"


class ModelsNotInstalled(EngineUnavailable):
    """The engine's model files are not on this machine (e.g. an empty models volume): the
    service can still serve its other engines, so it falls back instead of failing to start."""

    code = "models_not_installed"


class AcceleratorMissing(EngineUnavailable):
    """A model too large for a CPU was asked to run where no GPU is visible: the service
    reports itself not ready instead of running it on the CPU at a hundredth of the speed."""

    code = "accelerator_missing"


class RetryLater(ImagewaveError):
    """Transient: the same request can succeed later. Sent with `Retry-After`, the one signal
    `ServiceClient` retries on (besides a request that never reached the service)."""

    status_code = 503
    code = "retry_later"

    def __init__(self, message: str, *, retry_after_s: float = 1.0,
                 field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after_s = retry_after_s
        self.headers = {"Retry-After": str(max(1, round(retry_after_s)))}


class ServiceBusy(RetryLater):
    """Every admission slot of the service is taken."""

    code = "service_busy"


class UpstreamUnavailable(RetryLater):
    """A server the engine depends on (vLLM) is unreachable or overloaded for now."""

    code = "upstream_unavailable"


def install_error_handlers(app: FastAPI) -> None:
    from fastapi import Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    def respond(status: int, body: ErrorResponse, headers: dict | None = None) -> JSONResponse:
        return JSONResponse(body.model_dump(), status_code=status, headers=headers)

    @app.exception_handler(ImagewaveError)
    async def _imagewave_error(_: Request, exc: ImagewaveError) -> JSONResponse:
        return respond(exc.status_code, exc.to_response(), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or None
        message = f"{field}: {first['msg']}" if field else str(first["msg"])
        detail = ErrorDetail(code="invalid_input", message=message, field=field)
        return respond(422, ErrorResponse(error=detail))

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        detail = ErrorDetail(code=code, message=str(exc.detail))
        return respond(exc.status_code, ErrorResponse(error=detail), exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        detail = ErrorDetail(code="internal_error", message=f"{type(exc).__name__}: {exc}")
        return respond(500, ErrorResponse(error=detail))
