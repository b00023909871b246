"""The `imagewave` command: each stage on its own, the whole pipeline in one process
(`compose`), the service stack on one machine (`serve`) and an RQ worker (`worker`).
One module per command group; `python -m imagewave.cli` runs `__main__.py`."""

from __future__ import annotations

import argparse
import logging
import sys

from pydantic import ValidationError

from imagewave.cli import compose, evaluate, models, serve, stages
from imagewave.cli.arguments import one_line
from imagewave.errors import ImagewaveError

log = logging.getLogger("imagewave")


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("imagewave")
    except PackageNotFoundError:  # a source checkout that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imagewave", description=__doc__)
    parser.add_argument("--version", action="version", version=f"imagewave {version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    # One module per command group, each adding its own subcommands.
    for group in (stages, compose, serve, evaluate, models):
        group.add_commands(commands)
    for subparser in commands.choices.values():
        _say_defaults(subparser)
    return parser


_FLAG_ACTIONS = (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse._HelpAction,
                 argparse._VersionAction, argparse._SubParsersAction)


def _say_defaults(parser: argparse.ArgumentParser) -> None:
    """Every option's `--help` line ends with its default (an unset one says so in its help)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _say_defaults(child)
        if (action.option_strings and not isinstance(action, _FLAG_ACTIONS)
                and action.default not in (None, argparse.SUPPRESS)
                and "%(default)" not in (action.help or "")):
            action.help = f"{action.help or ''} (default: %(default)s)".lstrip()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request at INFO: noise between a command's own lines and bars.
    logging.getLogger("httpx").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        return args.run(args)
    except ImagewaveError as exc:
        print(f"imagewave: error: {exc.message}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        print(f"imagewave: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"imagewave: error: {exc}", file=sys.stderr)
        return 2

