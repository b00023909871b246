"""The gateway's HTTP server limits (gateway/http_server.py) over real sockets: a request head
over the size limit is a 431, a head or body that trickles in is cut off with 408, past the
connection cap a request gets 503 in the one error shape, and normal requests still work."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from gateway.http_server import server_config
from gateway.settings import GatewaySettings
from tests.conftest import free_port


@pytest.fixture
def server(redis_url: str, tmp_path: Path) -> Iterator[tuple[str, int]]:
    settings = GatewaySettings(redis_url=redis_url, artifact_dir=tmp_path / "artifacts",
                               http_max_header_bytes=8192, http_header_timeout_s=1.0,
                               http_body_timeout_s=1.5, http_body_min_rate_bytes_s=50_000,
                               http_max_connections=10, log_level="WARNING")
    port = free_port()
    config = server_config(settings, host="127.0.0.1", port=port)
    config.app = __import__("gateway.app", fromlist=["create_app"]).create_app(settings)
    config.factory = False
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.02)
    yield "127.0.0.1", port
    instance.should_exit = True
    thread.join(timeout=10)


def read_until_closed(sock: socket.socket, timeout_s: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes; and when it closed."""
    sock.settimeout(timeout_s)
    started, data = time.monotonic(), b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        pytest.fail(f"connection still open after {timeout_s} s; got {data[:200]!r}")
    except ConnectionResetError:
        pass
    return data, time.monotonic() - started


def error_of(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)["error"]


def test_a_head_over_the_size_limit_is_a_431(server):
    with socket.create_connection(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000)
        status, error = error_of(read_until_closed(sock, 5)[0])
    assert status == 431 and error["code"] == "headers_too_large"


def test_a_trickling_or_missing_head_is_cut_off(server):
    with socket.create_connection(server) as idle, socket.create_connection(server) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")

        def trickle() -> None:
            for i in range(20):
                try:
                    slow.sendall(f"X-{i}: a\r\n".encode())
                except OSError:
                    return
                time.sleep(0.2)

        threading.Thread(target=trickle, daemon=True).start()
        for sock in (idle, slow):
            answer, closed_after_s = read_until_closed(sock, 5)
            assert error_of(answer)[0] == 408 and closed_after_s < 2.5, closed_after_s


def test_a_trickling_body_is_cut_off_and_a_fast_one_passes(server):
    with socket.create_connection(server) as sock:
        sock.sendall(b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
                     b"Content-Type: multipart/form-data; boundary=x\r\n\r\n--x\r\n"
                     b"Content-Disposition: form-data; name=\"image\"; "
                     b"filename=\"a.jpg\"\r\n\r\n")

        def trickle() -> None:
            for _ in range(40):
                try:
                    sock.sendall(b"abc")
                except OSError:
                    return
                time.sleep(0.1)

        threading.Thread(target=trickle, daemon=True).start()
        answer, closed_after_s = read_until_closed(sock, 6)
    assert closed_after_s < 3.5, closed_after_s
    assert error_of(answer)[0] == 408
    # A body that keeps the pace passes: 1 MB in well under its allowance.
    response = httpx.post(f"http://{server[0]}:{server[1]}/jobs",
                          files={"image": ("p.jpg", b"\xff\xd8" + b"\0" * 1_000_000)}, timeout=10)
    # Read to its end and judged by content (not a picture), not cut off.
    assert response.status_code == 422 and response.json()["error"]["field"] == "image"


def test_past_the_connection_cap_requests_get_503_then_recover(server):
    holders = [socket.create_connection(server) for _ in range(10)]
    try:
        time.sleep(0.2)
        with socket.create_connection(server) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            status, error = error_of(read_until_closed(sock, 5)[0])
        assert status == 503 and error["code"] == "too_many_connections"
    finally:
        for sock in holders:
            sock.close()
    time.sleep(0.2)
    assert httpx.get(f"http://{server[0]}:{server[1]}/healthz", timeout=5).status_code == 200
