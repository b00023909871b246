"""Webhook SSRF: a `webhook_url` pointing inside the deployment is refused at POST /jobs in every
spelling, and at delivery the resolved address is checked and the connection pinned to it.

Only loopback receivers are ever contacted; internal-address answers come from a resolver seam,
and those tests assert that no connection was made at all.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from gateway.app import create_app
from gateway.settings import GatewaySettings
from gateway.webhook_targets import AllowList, WebhookTargetRefused, check_url
from gateway.webhooks import post_pinned
from tests.conftest import serve_app

INTERNAL_SPELLINGS = [
    "http://127.0.0.1/hook",
    "https://127.0.0.1:6379/",  # the Redis port
    "http://127.0.0.1.:8101/",  # trailing dot
    "http://127.1/",
    "http://0x7f000001/",
    "http://0x7f.0.0.1/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://017700000001/",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://api.localhost/",
    "http://localhost.localdomain/",
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]:8000/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::127.0.0.1]/",  # IPv4-compatible
    "http://[64:ff9b::7f00:1]/",  # NAT64 of loopback
    "http://[2002:7f00:1::]/",  # 6to4 of loopback
    "http://0/",
    "http://0.0.0.0:8000/",
    "http://[::]/",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://[fe80::1%25eth0]/",
    "http://[fd00:ec2::254]/",  # unique local
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://user:secret@example.com/",  # credentials in a URL are refused too
]


@pytest.fixture
def gateway_url(redis_url: str, tmp_path: Path) -> Iterator[str]:
    settings = GatewaySettings(redis_url=redis_url, artifact_dir=tmp_path / "artifacts",
                               queue_name="test-webhook-targets")
    with serve_app(create_app(settings)) as url:
        yield url


def test_every_spelling_of_an_internal_target_is_a_422_naming_the_field(gateway_url, photo):
    image = photo.read_bytes()
    accepted = []
    with httpx.Client(base_url=gateway_url, timeout=10) as client:
        for url in INTERNAL_SPELLINGS:
            response = client.post("/jobs", files={"image": ("p.jpg", image, "image/jpeg")},
                                   data={"options": json.dumps({"webhook_url": url})})
            if response.status_code != 422:
                accepted.append((url, response.status_code))
                continue
            error = response.json()["error"]
            assert error["field"] == "options.webhook_url", (url, error)
            assert error["code"] == "webhook_target_refused", (url, error)
        assert not accepted, accepted
        # A public target is accepted (no worker runs here: nothing is ever sent to it).
        response = client.post("/jobs", files={"image": ("p.jpg", image, "image/jpeg")},
                               data={"options": json.dumps(
                                   {"webhook_url": "https://hooks.example.com/imagewave"})})
        assert response.status_code == 202, response.text


def test_the_allow_list_admits_named_hosts_addresses_and_networks():
    allow = AllowList.parse(["127.0.0.1", "hooks.internal.", "10.1.0.0/16", ""])
    for url in ("http://127.0.0.1:9000/h", "http://0x7f000001/", "http://[::ffff:127.0.0.1]/",
                "http://HOOKS.internal/x", "http://10.1.2.3/"):
        check_url(url, allow)
    for url in ("http://127.0.0.2/", "http://10.2.0.1/", "http://localhost/",
                "http://other.internal.localhost/"):
        with pytest.raises(WebhookTargetRefused):
            check_url(url, allow)
    assert GatewaySettings(webhook_allow_hosts="a.internal, 10.0.0.0/8").webhook_allow_hosts \
        == ["a.internal", "10.0.0.0/8"]


class Listener:
    """A loopback TCP socket that counts connections (and answers HTTP 204 when asked)."""

    def __init__(self, answer: bytes | None = None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.answer = answer
        self.requests: list[bytes] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.requests.append(data)
                if self.answer is not None:
                    conn.sendall(self.answer)

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener(answer=b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
    yield server
    server.close()


def test_a_name_resolving_to_an_internal_address_is_refused_without_connecting(listener):
    """DNS says loopback/private at delivery time: refused, and no packet reaches it."""
    for answer in (["127.0.0.1"], ["10.0.0.7"], ["93.184.216.34", "127.0.0.1"],
                   ["::ffff:127.0.0.1"], ["169.254.169.254"]):
        def resolver(host: str, port: int, answer=answer) -> list[str]:
            return answer

        with pytest.raises(WebhookTargetRefused, match="resolves to"):
            post_pinned(f"http://hooks.example.test:{listener.port}/h", b"{}", {},
                        AllowList.parse([]), deadline_s=2, resolver=resolver)
    assert listener.requests == []


def test_delivery_connects_to_the_checked_address_with_the_original_host(listener):
    """The resolver is asked once; the request goes to that address (not to a second, rebound
    answer) and still names the original host."""
    answers = iter([["127.0.0.1"], ["10.9.9.9"]])
    asked = []

    def rebinding_resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return next(answers)

    status = post_pinned(f"http://hooks.example.test:{listener.port}/hook?x=1", b'{"a": 1}',
                         {"webhook-id": "msg_1"}, AllowList.parse(["127.0.0.0/8"]),
                         deadline_s=5, resolver=rebinding_resolver)
    assert status == 204
    assert asked == ["hooks.example.test"]
    [request] = listener.requests
    head = request.decode("latin-1").lower()
    assert head.startswith("post /hook?x=1 http/1.1")
    assert f"host: hooks.example.test:{listener.port}\r\n" in head
    assert "webhook-id: msg_1" in head


def test_allowed_loopback_receiver_gets_the_delivery():
    app = FastAPI()
    seen = []

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        seen.append((request.headers["host"], await request.body()))
        return Response(status_code=204)

    with serve_app(app) as url:
        assert post_pinned(f"{url}/hook", b"{}", {}, AllowList.parse(["127.0.0.1"]),
                           deadline_s=5) == 204
        with pytest.raises(WebhookTargetRefused):
            post_pinned(f"{url}/hook", b"{}", {}, AllowList.parse([]), deadline_s=5)
    assert seen == [(url.removeprefix("http://"), b"{}")]
