"""The service stack: `serve` (everything on this machine), `worker` (one RQ worker),
`keys` (API keys) and `submit` (a client of a running gateway)."""

from __future__ import annotations

import argparse


def cmd_serve(args: argparse.Namespace) -> int:
    from gateway.settings import GatewaySettings
    from imagewave.wiring.stack import Stack

    stack = Stack(GatewaySettings(), host=args.host, port=args.port, workers=args.workers)
    try:
        stack.start()
    except BaseException:
        stack.stop()
        raise
    print(f"imagewave is serving on http://{args.host}:{args.port}  (workers: {args.workers})",
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

    run_worker(GatewaySettings(), burst=args.burst)
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
    p.set_defaults(run=cmd_serve)

    p = commands.add_parser("keys", help="API keys of the gateway (stored hashed in its Redis)")
    p.add_argument("action", choices=["create", "list", "revoke"])
    p.add_argument("name", nargs="?", help="create: a label for the key; revoke: the key's id")
    p.set_defaults(run=cmd_keys)

    p = commands.add_parser("worker", help="one RQ worker against REDIS_URL")
    p.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    p.set_defaults(run=cmd_worker)
