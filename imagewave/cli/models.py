"""`imagewave models`: put model files where the services load them from.

    imagewave models install-rave keyboard=piano.ts bass=bass.ts [--model-dir DIR]
    imagewave models install-rave exports/                # keyboard.ts, bass.ts, guitar.ts

The work is `services.timbre.install` (also runnable as `python -m services.timbre.install`
in the timbre image, which is how a deployment's models volume gets its exports)."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_install_rave(args: argparse.Namespace) -> int:
    from services.timbre.install import main

    return main([*args.sources, *(["--model-dir", str(args.model_dir)]
                                  if args.model_dir else [])])


def add_commands(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("models", help="install model files for the studio engines")
    actions = p.add_subparsers(dest="action", required=True)
    rave = actions.add_parser("install-rave", help="check and copy RAVE exports (<role>.ts) "
                              "into the timbre service's model folder")
    rave.add_argument("sources", nargs="+", help="role=FILE, <role>.ts, or a folder of them")
    rave.add_argument("--model-dir", type=Path, default=None,
                      help="default: IMAGEWAVE_TIMBRE_MODEL_DIR (the timbre service's)")
    rave.set_defaults(run=cmd_install_rave)
