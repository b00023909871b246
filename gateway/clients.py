"""One HTTP client per service, and the `StageClients` protocol the pipeline sees.

The same protocol is met in-process by `imagewave.wiring.in_process.InProcessStageClients`
(`imagewave compose`): the gateway itself never imports a service."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import httpx
from pydantic import BaseModel

from imagewave.contracts.engines import DescribeEngineName
from imagewave.contracts.jobs import ErrorResponse
from imagewave.contracts.stages import (
    ArrangementRequest,
    ArrangementResponse,
    DescribeResponse,
    InstrumentRequest,
    InstrumentResponse,
    RenderRequest,
    RenderResponse,
    SfxRequest,
    SfxResponse,
    TimbreRequest,
    TimbreResponse,
)
from imagewave.errors import ImagewaveError, InvalidInput

log = logging.getLogger(__name__)
ResponseT = TypeVar("ResponseT", bound=BaseModel)


class StageClients(Protocol):
    def describe(self, image: bytes, engine: DescribeEngineName | None) -> DescribeResponse: ...
    def sfx(self, request: SfxRequest) -> SfxResponse: ...
    def timbre(self, request: TimbreRequest) -> TimbreResponse: ...
    def instrument(self, request: InstrumentRequest) -> InstrumentResponse: ...
    def arrange(self, request: ArrangementRequest) -> ArrangementResponse: ...
    def render(self, request: RenderRequest) -> RenderResponse: ...


class ServiceUnavailable(ImagewaveError):
    status_code = 503
    code = "service_unavailable"


class ServiceRejected(InvalidInput):
    """The service answered 4xx: the input is at fault and retrying will not help."""

    code = "stage_rejected_input"


@dataclass
class ServiceClient:
    """Calls one service with retries: connection errors and 5xx back off and try again,
    4xx fail at once with the service's own message."""

    name: str
    base_url: str
    timeout_s: float = 300.0
    retries: int = 3
    backoff_s: float = 0.5
    transport: httpx.BaseTransport | None = None
    _client: httpx.Client | None = field(default=None, init=False, repr=False)

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(base_url=self.base_url, timeout=self.timeout_s,
                                        transport=self.transport)
        return self._client

    def post(self, path: str, response_model: type[ResponseT], **kwargs) -> ResponseT:
        delay = self.backoff_s
        for attempt in range(self.retries + 1):
            try:
                response = self.client.post(path, **kwargs)
            except httpx.TransportError as exc:
                problem = f"{self.name} service unreachable at {self.base_url}: {exc!r}"
            else:
                if response.status_code < 400:
                    return response_model.model_validate_json(response.content)
                message = _error_message(response)
                if response.status_code < 500 and response.status_code != 429:
                    raise ServiceRejected(f"{self.name} service rejected the input: {message}")
                problem = f"{self.name} service answered {response.status_code}: {message}"
            if attempt < self.retries:
                log.warning("%s (attempt %d/%d), retrying in %.1fs", problem, attempt + 1,
                            self.retries + 1, delay)
                time.sleep(delay)
                delay *= 2
        raise ServiceUnavailable(problem)

    def post_model(self, path: str, request: BaseModel, response_model: type[ResponseT],
                   timeout_s: float | None = None) -> ResponseT:
        extra = {"timeout": timeout_s} if timeout_s else {}
        return self.post(path, response_model, content=request.model_dump_json(),
                         headers={"content-type": "application/json"}, **extra)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _error_message(response: httpx.Response) -> str:
    try:
        return ErrorResponse.model_validate_json(response.content).error.message
    except ValueError:
        return response.text[:300]


class HttpStageClients:
    def __init__(self, *, vlm: ServiceClient, t2a: ServiceClient, timbre: ServiceClient,
                 render: ServiceClient, stage_timeout_s: dict[str, float] | None = None) -> None:
        self.vlm, self.t2a, self.timbre_service, self.render_service = vlm, t2a, timbre, render
        # Per-stage limits (seconds) for one call, by stage name; others use the client's own.
        self.stage_timeout_s = stage_timeout_s or {}

    @classmethod
    def from_settings(cls, settings) -> HttpStageClients:
        def client(name: str, url: str) -> ServiceClient:
            return ServiceClient(name, url, timeout_s=settings.service_timeout_s,
                                 retries=settings.service_retries,
                                 backoff_s=settings.service_backoff_s)

        return cls(vlm=client("vlm", settings.vlm_url), t2a=client("t2a", settings.t2a_url),
                   timbre=client("timbre", settings.timbre_url),
                   render=client("render", settings.render_url),
                   stage_timeout_s=settings.stage_timeout_s)

    def describe(self, image: bytes, engine: DescribeEngineName | None) -> DescribeResponse:
        data = {"engine": engine.value} if engine else {}
        timeout = self.stage_timeout_s.get("describe")
        return self.vlm.post("/v1/describe", DescribeResponse,
                             files={"image": ("image", image, "application/octet-stream")},
                             data=data, **({"timeout": timeout} if timeout else {}))

    def sfx(self, request: SfxRequest) -> SfxResponse:
        return self.t2a.post_model("/v1/sfx", request, SfxResponse,
                                   self.stage_timeout_s.get("sfx"))

    def timbre(self, request: TimbreRequest) -> TimbreResponse:
        return self.timbre_service.post_model("/v1/timbre", request, TimbreResponse,
                                              self.stage_timeout_s.get("timbre"))

    def instrument(self, request: InstrumentRequest) -> InstrumentResponse:
        return self.render_service.post_model("/v1/instruments", request, InstrumentResponse,
                                              self.stage_timeout_s.get("instruments"))

    def arrange(self, request: ArrangementRequest) -> ArrangementResponse:
        return self.render_service.post_model("/v1/arrangement", request, ArrangementResponse,
                                              self.stage_timeout_s.get("arrangement"))

    def render(self, request: RenderRequest) -> RenderResponse:
        return self.render_service.post_model("/v1/render", request, RenderResponse,
                                              self.stage_timeout_s.get("render"))

    def close(self) -> None:
        for service in (self.vlm, self.t2a, self.timbre_service, self.render_service):
            service.close()
