"""File downloads whose Range errors use the one error shape (Starlette's are plain text)."""

from __future__ import annotations

import os

from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import MalformedRangeHeader, RangeNotSatisfiable
from starlette.types import Receive, Scope, Send

from imagewave.contracts.jobs import ErrorDetail, ErrorResponse


class ArtifactFileResponse(FileResponse):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        http_range = headers.get("range")
        if (http_range is not None and scope["type"] == "http"
                and scope["method"].upper() in ("GET", "HEAD")
                and headers.get("if-range") is None):
            size = (await run_in_threadpool(os.stat, self.path)).st_size
            try:
                self._parse_range_header(http_range, size)
            except MalformedRangeHeader as exc:
                error = ErrorDetail(code="invalid_range", field="Range",
                                    message=f"Range header {http_range[:100]!r}: {exc.content}")
                await JSONResponse(ErrorResponse(error=error).model_dump(),
                                   status_code=400)(scope, receive, send)
                return
            except RangeNotSatisfiable:
                error = ErrorDetail(code="range_not_satisfiable", field="Range",
                                    message=f"Range {http_range[:100]!r} is outside the file's "
                                            f"{size} bytes")
                await JSONResponse(ErrorResponse(error=error).model_dump(), status_code=416,
                                   headers={"Content-Range": f"bytes */{size}"})(
                    scope, receive, send)
                return
        await super().__call__(scope, receive, send)
