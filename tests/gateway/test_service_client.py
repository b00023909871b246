"""`ServiceClient` retries only what can succeed on retry (gateway/clients.py): each case is a
scripted service behind httpx's MockTransport, counting how often it was called."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest
from pydantic import BaseModel

from gateway.clients import ServiceClient, ServiceFailed, ServiceRejected, ServiceUnavailable


class Ok(BaseModel):
    ok: bool


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message, "field": None}}


class Script:
    """Answers each call with the next scripted step: a Response, or an exception to raise."""

    def __init__(self, *steps) -> None:
        self.steps = list(steps)
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        if isinstance(step, Exception):
            raise step
        return step


def client_for(script: Script, waits: list[float], retries: int = 3) -> ServiceClient:
    return ServiceClient("t2a", "http://t2a.test", retries=retries, backoff_s=0.25,
                         transport=httpx.MockTransport(script), sleep=waits.append)


OK = httpx.Response(200, json={"ok": True})


def test_busy_503_with_retry_after_is_retried_after_that_long() -> None:
    busy = httpx.Response(503, headers={"Retry-After": "10"},
                          json=error_body("service_busy", "the service is busy"))
    script, waits = Script(busy, busy, OK), []
    assert client_for(script, waits).post("/v1/sfx", Ok) == Ok(ok=True)
    assert script.calls == 3
    assert waits == [10.0, 10.0]  # Retry-After, not the shorter backoff


def test_retry_after_as_an_http_date_is_honoured() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    busy = httpx.Response(503, headers={"Retry-After": when},
                          json=error_body("upstream_unavailable", "vLLM restarting"))
    script, waits = Script(busy, OK), []
    client_for(script, waits).post("/v1/describe", Ok)
    assert 25 <= waits[0] <= 31


def test_a_service_that_stays_busy_is_unavailable_after_the_retries() -> None:
    busy = httpx.Response(503, headers={"Retry-After": "1"},
                          json=error_body("service_busy", "busy"))
    script, waits = Script(busy), []
    with pytest.raises(ServiceUnavailable, match="busy") as caught:
        client_for(script, waits, retries=2).post("/v1/sfx", Ok)
    assert script.calls == 3 and caught.value.retryable


@pytest.mark.parametrize(("status", "code", "message"), [
    (502, "invalid_model_reply", "the model's reply was still invalid after one repair round"),
    (500, "internal_error", "OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"),
    (503, "models_not_installed", "no RAVE model in /models/rave"),  # no Retry-After
])
def test_deterministic_5xx_is_not_retried(status, code, message) -> None:
    script, waits = Script(httpx.Response(status, json=error_body(code, message))), []
    with pytest.raises(ServiceFailed, match=message[:20]) as caught:
        client_for(script, waits).post("/v1/sfx", Ok)
    assert script.calls == 1 and waits == []
    assert not caught.value.retryable


@pytest.mark.parametrize("status", [400, 404, 413, 422])
def test_4xx_is_the_inputs_fault_and_not_retried(status) -> None:
    answer = httpx.Response(status, json=error_body("model_rejected_input",
                                                    "maximum context length is 8192 tokens"))
    script, waits = Script(answer), []
    with pytest.raises(ServiceRejected, match="maximum context length"):
        client_for(script, waits).post("/v1/describe", Ok)
    assert script.calls == 1 and waits == []


def test_a_plain_429_is_retried_with_backoff() -> None:
    script, waits = Script(httpx.Response(429, text="slow down"), OK), []
    client_for(script, waits).post("/v1/sfx", Ok)
    assert script.calls == 2 and waits == [0.25]


def test_a_request_that_never_reached_the_service_is_resent() -> None:
    script = Script(httpx.ConnectError("connection refused"),
                    httpx.RemoteProtocolError("Server disconnected without sending a response"),
                    OK)
    waits: list[float] = []
    assert client_for(script, waits).post("/v1/timbre", Ok) == Ok(ok=True)
    assert script.calls == 3 and waits == [0.25, 0.5]


def test_a_read_timeout_is_not_resent_while_the_first_call_may_still_run() -> None:
    script, waits = Script(httpx.ReadTimeout("timed out"), OK), []
    with pytest.raises(ServiceFailed, match="may still be running") as caught:
        client_for(script, waits).post("/v1/sfx", Ok)
    assert script.calls == 1 and waits == []
    assert not caught.value.retryable


def test_a_retry_after_longer_than_the_client_waits_is_unavailable_at_once() -> None:
    busy = httpx.Response(503, headers={"Retry-After": "3600"},
                          json=error_body("upstream_unavailable", "down for maintenance"))
    script, waits = Script(busy), []
    with pytest.raises(ServiceUnavailable, match="3600"):
        client_for(script, waits).post("/v1/describe", Ok)
    assert script.calls == 1 and waits == []
