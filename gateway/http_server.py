"""The gateway's HTTP server: uvicorn (httptools) with the limits uvicorn itself lacks.

uvicorn has no limit on a request head's size with httptools, no timeout for receiving the
head or the body, and its connection cap answers in plain text. A slow client can therefore hold
a connection (and, with a 16 MB head, memory) for as long as it likes. This protocol adds:

- `http_max_header_bytes`: a head larger than this is answered 431 and the connection closed;
- `http_header_timeout_s`: a head (the first request's, or the next one's on a kept-alive
  connection) must arrive within this time of its first byte or of the connection's start;
  else 408 and close;
- `http_body_timeout_s` + `http_body_min_rate_bytes_s`: a request's body must arrive within
  the timeout of its head, extended by one second per `min_rate` bytes received (so a large
  upload on a slow line passes, a trickle does not; Apache's mod_reqtimeout MinRate); else 408
  and close (the route sees a client disconnect);
- `http_max_connections`: past this many open connections a new request gets 503 with
  Retry-After in the one error shape, and its connection is closed.

`python -m gateway.http_server` (what `imagewave serve`, the Dockerfile and k8s run) serves
`gateway.app:create_app` with it.
"""

from __future__ import annotations

import argparse
import asyncio
import json

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.settings import GatewaySettings


def _response(status: int, reason: str, code: str, message: str,
              extra_headers: tuple[tuple[str, str], ...] = ()) -> bytes:
    body = json.dumps({"error": {"code": code, "message": message, "field": None}}).encode()
    head = [f"HTTP/1.1 {status} {reason}", "content-type: application/json",
            f"content-length: {len(body)}", "connection: close",
            *(f"{name}: {value}" for name, value in extra_headers)]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with head size, head/body timeouts and a connection cap."""

    max_header_bytes = 64 * 1024
    header_timeout_s = 10.0
    body_timeout_s = 20.0
    body_min_rate_bytes_s = 50_000
    max_connections = 1000

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0
        self._in_head = True
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > self.max_header_bytes:
            self._refuse(431, "Request Header Fields Too Large", "headers_too_large",
                         f"the request head is larger than {self.max_header_bytes} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        if self._head_timer is None:  # the next request on a kept-alive connection
            self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if len(self.connections) > self.max_connections:
            self._refuse(503, "Service Unavailable", "too_many_connections",
                         f"the server has more than {self.max_connections} open connections; "
                         "try again shortly", (("retry-after", "2"),))
            return
        super().on_headers_complete()
        self._body_started = self.loop.time()
        self._body_bytes = 0
        self._body_timer = self.loop.call_later(self.body_timeout_s, self._body_timed_out)

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    # -- timers ------------------------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a response is under way (pipelining); the body timer covers the rest
        if self._head_bytes == 0 and self.cycle is not None:
            self.transport.close()  # idle keep-alive: uvicorn's keep-alive timeout's job
            return
        self._refuse(408, "Request Timeout", "request_timeout",
                     f"the request head did not arrive within {self.header_timeout_s:g} s")

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self.cycle is not None and not self.cycle.more_body:
            return
        allowed_s = self.body_timeout_s + self._body_bytes / self.body_min_rate_bytes_s
        left_s = self._body_started + allowed_s - self.loop.time()
        if left_s > 0.01:  # the body kept its pace: look again when its allowance ends
            self._body_timer = self.loop.call_later(left_s, self._body_timed_out)
            return
        if self.cycle is not None and not self.cycle.response_started:
            self.transport.write(_response(
                408, "Request Timeout", "request_timeout",
                "the request body arrives too slowly"))
        self.transport.close()  # the route's next receive() is a disconnect

    def _refuse(self, status: int, reason: str, code: str, message: str,
                extra_headers: tuple[tuple[str, str], ...] = ()) -> None:
        self._cancel_timers()
        if not self.transport.is_closing():
            self.transport.write(_response(status, reason, code, message, extra_headers))
            self.transport.close()


def limited_protocol(settings: GatewaySettings) -> type[LimitedHttpToolsProtocol]:
    """The protocol class with this deployment's limits (uvicorn instantiates it itself)."""
    return type("GatewayHttpProtocol", (LimitedHttpToolsProtocol,), {
        "max_header_bytes": settings.http_max_header_bytes,
        "header_timeout_s": settings.http_header_timeout_s,
        "body_timeout_s": settings.http_body_timeout_s,
        "body_min_rate_bytes_s": settings.http_body_min_rate_bytes_s,
        "max_connections": settings.http_max_connections,
    })


def server_config(settings: GatewaySettings, *, host: str | None = None,
                  port: int | None = None, proxy_headers: bool = False,
                  forwarded_allow_ips: str | None = None) -> uvicorn.Config:
    return uvicorn.Config(
        "gateway.app:create_app", factory=True, host=host or settings.host,
        port=port if port is not None else settings.port, http=limited_protocol(settings),
        loop="auto", timeout_keep_alive=settings.http_keep_alive_s,
        proxy_headers=proxy_headers, forwarded_allow_ips=forwarded_allow_ips,
        log_level=settings.log_level.lower(), access_log=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway.http_server",
                                     description="Serve the gateway with its HTTP limits")
    parser.add_argument("--host", help="default: IMAGEWAVE_HOST")
    parser.add_argument("--port", type=int, help="default: IMAGEWAVE_PORT")
    parser.add_argument("--proxy-headers", action="store_true",
                        help="trust X-Forwarded-* from --forwarded-allow-ips")
    parser.add_argument("--forwarded-allow-ips", default=None)
    args = parser.parse_args(argv)
    config = server_config(GatewaySettings(), host=args.host, port=args.port,
                           proxy_headers=args.proxy_headers,
                           forwarded_allow_ips=args.forwarded_allow_ips)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
