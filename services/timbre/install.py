"""Install exported RAVE models into the timbre service's model folder.

    python -m services.timbre.install keyboard=/path/to/piano.ts bass=/path/to/bass.ts
    python -m services.timbre.install /path/to/exports/        # keyboard.ts, bass.ts, guitar.ts

Each file is loaded as the engine will load it (on CPU: `sr`, `encode_params`, mono or stereo)
before it is copied, so a wrong file is refused here rather than at the service's start; the
copy lands under a temporary name and is renamed into place, so a running service never reads
half a file. The destination is the service's own `IMAGEWAVE_TIMBRE_MODEL_DIR` (or
`--model-dir`). Run it in the timbre image against the models volume (docs/studio.md), then
restart the timbre service: it serves `dsp` until exports are there and loads `rave` at start.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import torch

from imagewave.contracts.scene import MELODIC_ROLES, Role
from services.timbre.engines.rave import RaveModel
from services.timbre.settings import TimbreSettings

ROLE_NAMES = [role.value for role in MELODIC_ROLES]


def exports_to_install(sources: list[str]) -> dict[Role, Path]:
    """`role=path`, a `<role>.ts` file, or a folder holding `<role>.ts` files → role: path."""
    chosen: dict[Role, Path] = {}
    for source in sources:
        name, sep, path_text = source.partition("=")
        if sep:
            if name not in ROLE_NAMES:
                raise ValueError(f"{source}: the role must be one of {ROLE_NAMES}")
            chosen[Role(name)] = Path(path_text)
            continue
        path = Path(source)
        if path.is_dir():
            found = {Role(p.stem): p for p in path.glob("*.ts") if p.stem in ROLE_NAMES}
            if not found:
                raise ValueError(f"{path}: no {', '.join(n + '.ts' for n in ROLE_NAMES)}")
            chosen.update(found)
        elif path.stem in ROLE_NAMES:
            chosen[Role(path.stem)] = path
        else:
            raise ValueError(f"{source}: name the role (keyboard=FILE) or call it <role>.ts")
    return chosen


def install(exports: dict[Role, Path], model_dir: Path) -> list[str]:
    """Check every export first, then copy them all; returns one line per installed model."""
    checked = {role: RaveModel.load(path, torch.device("cpu")) for role, path in exports.items()}
    model_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for role, model in checked.items():
        target = model_dir / f"{role.value}.ts"
        partial = target.with_name(f".{target.name}.partial")
        shutil.copyfile(model.path, partial)
        os.replace(partial, target)
        lines.append(f"{role.value}: {model.path} → {target} ({model.sampling_rate} Hz, ratio "
                     f"{model.compression_ratio}, {model.channels} channel(s)"
                     f"{', streaming' if model.streaming else ''})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.timbre.install",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("sources", nargs="+", help="role=FILE, <role>.ts, or a folder of them")
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="default: the service's IMAGEWAVE_TIMBRE_MODEL_DIR")
    args = parser.parse_args(argv)
    model_dir = args.model_dir or TimbreSettings().model_dir
    try:
        lines = install(exports_to_install(args.sources), model_dir)
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"not installed: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
