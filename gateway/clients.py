"""One HTTP client per service, and the `StageClients` protocol the pipeline sees.

The same protocol is met in-process by `imagewave.wiring.in_process.InProcessStageClients`
(`imagewave compose`): the gateway itself never imports a service."""

from __future__ import annotations

import datetime
import email.utils
import logging
import time
from collections.abc import Callable
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
    """The service could not be reached, or stayed busy through every retry: the same call may
    well succeed later (a job-level retry is worth it)."""

    status_code = 503
    code = "service_unavailable"
    retryable = True


class ServiceFailed(ImagewaveError):
    """The service answered a 5xx that another identical call would get again (an invalid model
    reply, a CUDA out-of-memory on this request, a bug), or a call that may still be running
    there timed out: not resent, so one bad input costs one GPU run, not one per retry."""

    status_code = 502
    code = "stage_service_failed"
    retryable = False


class ServiceRejected(InvalidInput):
    """The service answered 4xx: the input is at fault and retrying will not help."""

    code = "stage_rejected_input"
    retryable = False


# Transport errors raised before the service can have started the work: the connection was
# never made, the request was never fully written, or the connection closed without an answer
# (the process that held it is gone, and its work with it). Sending the request again is safe.
_NOT_STARTED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError,
                httpx.WriteTimeout, httpx.RemoteProtocolError)
# The longest Retry-After honoured; a service asking for more is treated as down.
MAX_RETRY_AFTER_S = 120.0


@dataclass
class ServiceClient:
    """Calls one service, and retries only what can succeed on retry:

    - a request that never reached the service (`_NOT_STARTED`): backoff and resend;
    - 429 or 503 *with* `Retry-After` (the service's admission control is full, or the server it
      depends on is restarting): wait at least that long, then resend;
    - 429 without `Retry-After` (a plain rate limit): backoff and resend.

    Everything else fails at once: other 4xx as `ServiceRejected` (the input), other 5xx as
    `ServiceFailed` (the same call would fail the same way), and a read timeout also as
    `ServiceFailed`: the first call may still be running on the GPU, and the services cannot
    cancel thread-pool work or recognise a resent request, so a resend would only double the
    load. Give slow stages a long `stage_timeout_s` instead; the job-level retry decides the
    rest (`retryable` on each error says whether one is worth it)."""

    name: str
    base_url: str
    timeout_s: float = 300.0
    retries: int = 3
    backoff_s: float = 0.5
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
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
            except _NOT_STARTED as exc:
                problem = f"{self.name} service unreachable at {self.base_url}: {exc!r}"
                wait_s = delay
            except httpx.TransportError as exc:
                raise ServiceFailed(
                    f"{self.name} service did not answer in time ({exc!r}); not resent, since "
                    "the first call may still be running there") from exc
            else:
                if response.status_code < 400:
                    return response_model.model_validate_json(response.content)
                message = _error_message(response)
                retry_after_s = _retry_after_s(response)
                status = response.status_code
                transient = (status == 429 or (status == 503 and retry_after_s is not None))
                if not transient and status < 500:
                    raise ServiceRejected(f"{self.name} service rejected the input: {message}")
                if not transient:
                    raise ServiceFailed(f"{self.name} service answered {status}: {message}")
                if retry_after_s is not None and retry_after_s > MAX_RETRY_AFTER_S:
                    raise ServiceUnavailable(f"{self.name} service answered {status} and asks "
                                             f"for {retry_after_s:g} s: {message}")
                problem = f"{self.name} service answered {status}: {message}"
                wait_s = max(delay, retry_after_s or 0.0)
            if attempt < self.retries:
                log.warning("%s (attempt %d/%d), retrying in %.1fs", problem, attempt + 1,
                            self.retries + 1, wait_s)
                self.sleep(wait_s)
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


def _retry_after_s(response: httpx.Response) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date), or None when absent or unreadable."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, (when - datetime.datetime.now(datetime.UTC)).total_seconds())


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
