"""Admission control in the shared service app factory, over real HTTP: a full service answers
503 `service_busy` with Retry-After at once, keeps answering its health routes, and admits again
when a slot frees; a `ServiceClient` waits that long and gets through."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from fastapi import Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from gateway.clients import ServiceClient
from imagewave.service_app import create_service_app
from tests.conftest import serve_app


class Echo(BaseModel):
    value: int


class GatedServing:
    """Work that holds its request until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Semaphore(0)
        self.calls = 0

    def warm_up(self) -> None:
        pass

    def work(self, value: int) -> Echo:
        self.calls += 1
        self.entered.release()
        assert self.gate.wait(timeout=30), "the test never opened the gate"
        return Echo(value=value)


def gated_app(serving: GatedServing, max_in_flight: int, retry_after_s: float):
    app = create_service_app("gated", lambda: serving, max_in_flight=max_in_flight,
                             retry_after_s=retry_after_s)

    @app.post("/v1/work", response_model=Echo)
    async def work(request: Request, body: Echo) -> Echo:
        return await run_in_threadpool(request.app.state.serving.work, body.value)

    return app


def post_in_background(url: str, value: int, results: list) -> threading.Thread:
    def call() -> None:
        results.append(httpx.post(url, json={"value": value}, timeout=30))

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    return thread


def test_a_full_service_answers_503_with_retry_after_and_admits_again() -> None:
    serving = GatedServing()
    with serve_app(gated_app(serving, max_in_flight=2, retry_after_s=7)) as base:
        results: list[httpx.Response] = []
        running = [post_in_background(f"{base}/v1/work", i, results) for i in range(2)]
        for _ in running:
            assert serving.entered.acquire(timeout=10)
        refused = httpx.post(f"{base}/v1/work", json={"value": 9}, timeout=10)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "7"
        error = refused.json()["error"]
        assert error["code"] == "service_busy" and "max_in_flight 2" in error["message"]
        assert serving.calls == 2  # the refused request never reached the work
        # health and the engines listing are answered while full
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        assert httpx.get(f"{base}/v1/engines", timeout=5).status_code == 200
        serving.gate.set()
        for thread in running:
            thread.join(timeout=10)
        assert [r.status_code for r in results] == [200, 200]
        again = httpx.post(f"{base}/v1/work", json={"value": 3}, timeout=10)
        assert again.status_code == 200 and again.json() == {"value": 3}


def test_failed_requests_free_their_slot() -> None:
    serving = GatedServing()
    app = gated_app(serving, max_in_flight=1, retry_after_s=1)
    with serve_app(app) as base:
        # invalid bodies are admitted, answered 422, and leave no slot taken
        for _ in range(3):
            assert httpx.post(f"{base}/v1/work", json={"value": "x"}, timeout=5
                              ).status_code == 422
        serving.gate.set()
        assert httpx.post(f"{base}/v1/work", json={"value": 1}, timeout=5).status_code == 200


def test_service_client_waits_retry_after_and_gets_through_a_full_service() -> None:
    serving = GatedServing()
    with serve_app(gated_app(serving, max_in_flight=1, retry_after_s=1)) as base:
        results: list[httpx.Response] = []
        holder = post_in_background(f"{base}/v1/work", 1, results)
        assert serving.entered.acquire(timeout=10)
        waits: list[float] = []

        def sleep(seconds: float) -> None:  # the slot frees while the client waits
            waits.append(seconds)
            serving.gate.set()
            time.sleep(seconds)

        client = ServiceClient("gated", base, retries=5, backoff_s=0.1, sleep=sleep)
        try:
            assert client.post("/v1/work", Echo, json={"value": 2}) == Echo(value=2)
        finally:
            client.close()
        holder.join(timeout=10)
    # it was refused and waited the Retry-After (1 s), not its own 0.1 s backoff
    assert waits and all(wait == pytest.approx(1.0) for wait in waits)
    assert serving.calls == 2  # the holder's call and the client's admitted retry
