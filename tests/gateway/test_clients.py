"""ServiceClient's retries, through httpx.MockTransport: each case scripts the service's answers
and counts the requests the client made. No server, no Redis: part of the fast tier. (What is
retried and what is not, case by case: test_service_client.py.)"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from gateway.clients import ServiceClient, ServiceFailed, ServiceRejected, ServiceUnavailable
from imagewave.contracts.stages import RoleChoice
from imagewave.errors import ErrorDetail, ErrorResponse

OK = RoleChoice(role="bass", source_index=2, source_name="waves")


def error_body(message: str) -> bytes:
    return ErrorResponse(error=ErrorDetail(code="x", message=message)).model_dump_json().encode()


def busy(request: httpx.Request) -> httpx.Response:
    """The service's admission control is full: 503 with Retry-After (0: no wait in tests)."""
    return httpx.Response(503, headers={"Retry-After": "0"}, content=error_body("answer 503"))


def scripted(*answers: Callable[[httpx.Request], httpx.Response] | int) -> tuple[
        httpx.MockTransport, list[httpx.Request]]:
    """A transport answering with `answers` in turn: a status code (with an error body, or OK's
    body for 200) or a callable; the last answer repeats."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[min(len(seen), len(answers)) - 1]
        if callable(answer):
            return answer(request)
        if answer == 200:
            return httpx.Response(200, content=OK.model_dump_json())
        return httpx.Response(answer, content=error_body(f"answer {answer}"))

    return httpx.MockTransport(handler), seen


def client(transport: httpx.MockTransport, retries: int = 2) -> ServiceClient:
    return ServiceClient("render", "http://127.0.0.1:9", retries=retries, backoff_s=0.0,
                         transport=transport)


def test_a_success_is_parsed_into_the_response_model() -> None:
    transport, seen = scripted(200)
    assert client(transport).post_model("/v1/x", OK, RoleChoice) == OK
    assert len(seen) == 1 and seen[0].headers["content-type"] == "application/json"
    assert RoleChoice.model_validate_json(seen[0].content) == OK


@pytest.mark.parametrize("answer", [busy, 429], ids=["503+Retry-After", "429"])
def test_a_busy_or_throttling_service_is_retried_until_one_succeeds(answer) -> None:
    transport, seen = scripted(answer, answer, 200)
    assert client(transport).post("/v1/x", RoleChoice) == OK
    assert len(seen) == 3


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_without_retry_after_fail_at_once(status: int) -> None:
    transport, seen = scripted(status, 200)
    with pytest.raises(ServiceFailed, match=f"render service answered {status}"):
        client(transport).post("/v1/x", RoleChoice)
    assert len(seen) == 1


def test_a_busy_service_gives_up_after_the_retries_with_the_last_answer() -> None:
    transport, seen = scripted(busy)
    with pytest.raises(ServiceUnavailable, match="render service answered 503: answer 503"):
        client(transport, retries=2).post("/v1/x", RoleChoice)
    assert len(seen) == 3


@pytest.mark.parametrize("status", [400, 404, 413, 422])
def test_input_errors_fail_at_once_with_the_services_message(status: int) -> None:
    transport, seen = scripted(status)
    with pytest.raises(ServiceRejected,
                       match=f"render service rejected the input: answer {status}") as caught:
        client(transport).post("/v1/x", RoleChoice)
    assert len(seen) == 1
    assert caught.value.status_code == 422  # InvalidInput: the job fails, RQ does not retry


def test_an_unreachable_service_is_retried_then_reported() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    transport, seen = scripted(refuse)
    with pytest.raises(ServiceUnavailable, match="render service unreachable at "
                                                 "http://127.0.0.1:9"):
        client(transport, retries=1).post("/v1/x", RoleChoice)
    assert len(seen) == 2


def test_a_body_that_is_not_the_error_shape_is_quoted() -> None:
    transport, _ = scripted(lambda request: httpx.Response(400, text="plain text failure"))
    with pytest.raises(ServiceRejected, match="plain text failure"):
        client(transport).post("/v1/x", RoleChoice)


def test_no_retries_means_one_attempt() -> None:
    transport, seen = scripted(busy, 200)
    with pytest.raises(ServiceUnavailable):
        client(transport, retries=0).post("/v1/x", RoleChoice)
    assert len(seen) == 1
