"""How long the gateway takes to refuse a hostile MIDI (issue 15 item 5).

    PYTHONPATH=$PWD .venv/bin/python bench/midi_validation.py

A 2 MB file of 340k notes (running status, 3 bytes an event) POSTed to the gateway alone over
loopback on its own redis-server; prints the status and the time to the verdict, 3 tries.
"""

from __future__ import annotations

import io
import json
import tempfile
import time
from pathlib import Path

import httpx

from gateway.app import create_app
from gateway.settings import GatewaySettings
from tests.conftest import make_photo, serve_app
from tests.reliability.harness import RedisServer


def dense_midi(notes: int) -> bytes:
    """One track, note-on/note-off pairs with running status: the densest valid encoding."""
    events = bytearray(b"\x00\x90\x3c\x5a")  # delta 0, note-on C4 velocity 90
    events += b"\x01\x3c\x00"  # delta 1, (running status) velocity 0: note off
    for i in range(notes - 1):
        pitch = 48 + i % 24
        events += bytes((0, pitch, 90, 1, pitch, 0))
    events += b"\x00\xff\x2f\x00"
    header = b"MThd" + (6).to_bytes(4, "big") + b"\x00\x00\x00\x01\x01\xe0"
    return header + b"MTrk" + len(events).to_bytes(4, "big") + bytes(events)


def main() -> None:
    midi = dense_midi(340_000)
    with tempfile.TemporaryDirectory(prefix="midi-bench-") as tmp:
        photo = make_photo(Path(tmp) / "p.jpg").read_bytes()
        redis = RedisServer(Path(tmp) / "redis")
        redis.start()
        settings = GatewaySettings(redis_url=redis.url, artifact_dir=Path(tmp) / "a")
        results = []
        try:
            with serve_app(create_app(settings)) as url:
                for _ in range(3):
                    started = time.monotonic()
                    response = httpx.post(f"{url}/jobs", timeout=120, files={
                        "image": ("p.jpg", photo), "midi": ("x.mid", io.BytesIO(midi))})
                    results.append((response.status_code, round(time.monotonic() - started, 2)))
        finally:
            redis.stop()
    print(json.dumps({"midi_bytes": len(midi), "notes": 340_000, "status_and_s": results}))


if __name__ == "__main__":
    main()
