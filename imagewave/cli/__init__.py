"""The `imagewave` command: each stage on its own, the whole pipeline in one process
(`compose`), the service stack on one machine (`serve`) and an RQ worker (`worker`).
One module per command group; `python -m imagewave.cli` runs `__main__.py`."""

from __future__ import annotations

import argparse
import logging
import sys

from imagewave.cli import compose, evaluate, models, serve, stages
from imagewave.errors import ImagewaveError

log = logging.getLogger("imagewave")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imagewave", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    # One module per command group, each adding its own subcommands.
    for group in (stages, compose, serve, evaluate, models):
        group.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args)
    except ImagewaveError as exc:
        print(f"imagewave: error: {exc.message}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"imagewave: error: {exc}", file=sys.stderr)
        return 2

