"""Do trickling webhook receivers delay normal jobs? (issue 15 item 2)

    PYTHONPATH=$PWD .venv/bin/python bench/webhook_isolation.py --pairs 4 --workers 2

Starts a real stack (redis-server, four services, gateway, job workers) and a loopback receiver
that answers a webhook POST with one byte every `--trickle-s` seconds, never finishing. Submits
`--pairs` jobs whose webhook points at it and cancels each at once (a cancel sends the webhook),
then submits one normal job and reports how long it waited to start and to finish. All traffic
stays on 127.0.0.1 (the receiver is admitted with IMAGEWAVE_WEBHOOK_ALLOW_HOSTS).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import httpx

from tests.conftest import make_photo
from tests.reliability.harness import LiveStack, TricklingReceiver

OPTIONS = {"audio_length_in_s": 5, "sfx_length_in_s": 1}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trickle-s", type=float, default=5.0)
    args = parser.parse_args()

    receiver = TricklingReceiver(args.trickle_s)
    hook = receiver.url
    with tempfile.TemporaryDirectory(prefix="webhook-bench-") as tmp:
        photo = make_photo(Path(tmp) / "photo.jpg").read_bytes()
        stack = LiveStack(Path(tmp) / "stack", workers=args.workers,
                          env={"IMAGEWAVE_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
                               "IMAGEWAVE_LOG_LEVEL": "WARNING"}).start()
        try:
            started = time.monotonic()
            for _ in range(args.pairs):
                job_id = stack.submit(photo, json.dumps(OPTIONS | {"webhook_url": hook}))
                httpx.delete(f"{stack.url}/jobs/{job_id}", timeout=30)
            submit_cancel_s = time.monotonic() - started
            time.sleep(1.0)  # let the deliveries reach the workers
            submitted = time.monotonic()
            normal = stack.submit(photo, json.dumps(OPTIONS))
            stack.wait_for_stage(normal, "describe", timeout_s=600)
            start_wait_s = time.monotonic() - submitted
            job = stack.wait(normal, timeout_s=600)
            total_s = time.monotonic() - submitted
        finally:
            stack.stop()
    print(json.dumps({"pairs": args.pairs, "workers": args.workers,
                      "trickle_s": args.trickle_s, "submit_cancel_s": round(submit_cancel_s, 2),
                      "receiver_connections": receiver.connections,
                      "normal_job_start_wait_s": round(start_wait_s, 2),
                      "normal_job_total_s": round(total_s, 2), "status": job["status"]}))


if __name__ == "__main__":
    main()
