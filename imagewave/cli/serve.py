"""The service stack: `serve` (everything on this machine), `worker` (one RQ worker),
`keys` (API keys) and `submit` (a client of a running gateway)."""

from __future__ import annotations

import argparse
import sys


def cmd_serve(args: argparse.Namespace) -> int:
    from gateway.settings import GatewaySettings
    from imagewave.wiring.stack import BindError, Stack

    settings = GatewaySettings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    stack = Stack(settings, host=args.host, port=args.port, workers=args.workers)
    try:
        stack.start()
    except BindError as exc:
        stack.stop()
        print(f"imagewave: error: {exc}", file=sys.stderr)
        return 2
    except BaseException:
        stack.stop()
        raise
    page_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    print(f"imagewave is serving on http://{args.host}:{args.port}  (workers: {args.workers})\n"
          f"  page:     http://{page_host}:{args.port}/\n"
          f"  API docs: http://{page_host}:{args.port}/docs\n"
          f"  data:     {settings.data_dir}\n"
          f"  redis:    {stack.redis_url}\n"
          f"  services: " + ", ".join(f"{name} {url}" for name, url in stack.service_urls.items()),
          flush=True)
    return stack.wait()


def cmd_submit(args: argparse.Namespace) -> int:
    from imagewave.client import submit_command

    return submit_command(args)


def cmd_keys(args: argparse.Namespace) -> int:
    from gateway.auth import cmd_keys as run_keys

    return run_keys(args)


def cmd_worker(args: argparse.Namespace) -> int:
    from gateway.settings import GatewaySettings
    from gateway.worker import run_worker

    run_worker(GatewaySettings(), burst=args.burst, webhooks=args.webhooks)
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    from imagewave.client import add_submit_arguments

    p = commands.add_parser("submit", help="send IMAGE to a running server, follow its progress, "
                                           "download the song")
    add_submit_arguments(p)
    p.set_defaults(run=cmd_submit)

    p = commands.add_parser("serve", help="gateway + services + RQ workers on this machine")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=2, help="RQ workers to start (0 allowed)")
    p.add_argument("--data-dir", metavar="DIR",
                   help="embedded Redis, artifacts (default: IMAGEWAVE_DATA_DIR or "
                        "~/.local/share/imagewave); one per stack")
    p.set_defaults(run=cmd_serve)

    p = commands.add_parser("keys", help="API keys of the gateway (stored hashed in its Redis)")
    p.add_argument("action", choices=["create", "list", "revoke"])
    p.add_argument("name", nargs="?", help="create: a label for the key; revoke: the key's id")
    p.add_argument("--data-dir", metavar="DIR",
                   help="the `serve --data-dir` whose embedded Redis to use when REDIS_URL is "
                        "unset")
    p.set_defaults(run=cmd_keys)

    p = commands.add_parser("worker", help="one RQ worker against REDIS_URL")
    p.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    p.add_argument("--webhooks", action="store_true",
                   help="deliver webhooks (their own queue) instead of running jobs")
    p.set_defaults(run=cmd_worker)
