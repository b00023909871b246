"""Slow and huge requests against the gateway's HTTP server (issue 15 item 7).

    PYTHONPATH=$PWD .venv/bin/python bench/slow_clients.py --server limited
    PYTHONPATH=$PWD .venv/bin/python bench/slow_clients.py --server plain

`limited`: `python -m gateway.http_server` (what serve/Docker/k8s run now); `plain`: uvicorn's
CLI with httptools as before. Opens `--slow` connections that send a request head one header
line every 2 s and `--slow` more that send a body a few bytes at a time, plus `--huge`
connections each sending an unfinished `--huge-mb` MB head; reports how many of each are still
open after `--hold-s` seconds and how much the server's memory (RSS) grew. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from tests.conftest import free_port
from tests.reliability.harness import RedisServer


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def is_open(sock: socket.socket) -> bool:
    """Still open from the server's side: no end of stream after whatever it answered."""
    sock.setblocking(False)
    try:
        while sock.recv(65536):
            pass
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", choices=["limited", "plain"], default="limited")
    parser.add_argument("--slow", type=int, default=150)
    parser.add_argument("--huge", type=int, default=20)
    parser.add_argument("--huge-mb", type=int, default=16)
    parser.add_argument("--hold-s", type=float, default=30.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="slow-clients-") as tmp:
        redis = RedisServer(Path(tmp) / "redis")
        redis.start()
        port = free_port()
        env = {**os.environ, "REDIS_URL": redis.url, "IMAGEWAVE_DATA_DIR": tmp,
               "IMAGEWAVE_LOG_LEVEL": "WARNING"}
        if args.server == "limited":
            argv = [sys.executable, "-m", "gateway.http_server", "--port", str(port)]
        else:
            argv = [sys.executable, "-m", "uvicorn", "--factory", "gateway.app:create_app",
                    "--port", str(port), "--http", "httptools", "--log-level", "warning"]
        server = subprocess.Popen(argv, env=env)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).is_success:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline and server.poll() is None, "no server"
                time.sleep(0.2)
            rss_before = rss_mb(server.pid)
            stop = threading.Event()
            slow_heads, slow_bodies, huge = [], [], []

            def trickle() -> None:
                line = 0
                while not stop.wait(2.0):
                    line += 1
                    for sock in slow_heads:
                        try:
                            sock.send(f"X-Slow-{line}: a\r\n".encode())
                        except OSError:
                            pass
                    for sock in slow_bodies:
                        try:
                            sock.send(b"abc")
                        except OSError:
                            pass

            for _ in range(args.slow):
                sock = socket.create_connection(("127.0.0.1", port))
                sock.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                slow_heads.append(sock)
                sock = socket.create_connection(("127.0.0.1", port))
                sock.send(b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data;"
                          b" boundary=x\r\nContent-Length: 1000000\r\n\r\n--x\r\n"
                          b"Content-Disposition: form-data; name=\"image\"; "
                          b"filename=\"a.jpg\"\r\n\r\n")
                slow_bodies.append(sock)
            threading.Thread(target=trickle, daemon=True).start()
            chunk = b"X-Huge: " + b"a" * (1024 * 1024 - 10) + b"\r\n"
            for _ in range(args.huge):
                sock = socket.create_connection(("127.0.0.1", port))
                sock.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                try:
                    for _ in range(args.huge_mb):
                        sock.sendall(chunk)
                except OSError:
                    pass
                huge.append(sock)
            rss_peak = rss_mb(server.pid)
            time.sleep(args.hold_s)
            still_open = {name: sum(is_open(s) for s in socks) for name, socks in
                          (("slow_head", slow_heads), ("slow_body", slow_bodies),
                           ("huge_head", huge))}
            rss_after = rss_mb(server.pid)
            started = time.monotonic()
            try:
                healthz = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code
            except httpx.TransportError as exc:
                healthz = repr(exc)
            healthz_s = time.monotonic() - started
            stop.set()
            for sock in slow_heads + slow_bodies + huge:
                sock.close()
        finally:
            server.terminate()
            server.wait(timeout=20)
            redis.stop()
    print(json.dumps({"server": args.server, "slow": args.slow, "huge": args.huge,
                      "huge_mb": args.huge_mb, "hold_s": args.hold_s, "still_open": still_open,
                      "rss_growth_mb_peak": round(rss_peak - rss_before, 1),
                      "rss_growth_mb_after_hold": round(rss_after - rss_before, 1),
                      "healthz_after": healthz, "healthz_s": round(healthz_s, 3)}))


if __name__ == "__main__":
    main()
