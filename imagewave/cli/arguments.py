"""What every command group shares: plain choice names, option ranges from the contracts and
pydantic errors as the one line a command prints."""

from __future__ import annotations

import argparse
from enum import Enum

from pydantic import BaseModel, ValidationError

from imagewave.contracts.engines import SfxEngineName, TimbreEngineName


def engine_names(names: type[Enum]) -> list[str]:
    """Plain names for argparse: `--help` shows `lite`, not `DescribeEngineName.lite`."""
    return [name.value for name in names]


def add_effect_engine_options(parser: argparse.ArgumentParser, *, sfx_default: str,
                              timbre_default: str) -> None:
    """`--sfx-engine` and `--timbre-engine`, unset by default (the settings decide); the help
    says what that default is where the command runs."""
    parser.add_argument("--sfx-engine", type=SfxEngineName, default=None,
                        choices=engine_names(SfxEngineName), help=f"default: {sfx_default}")
    parser.add_argument("--timbre-engine", type=TimbreEngineName, default=None,
                        choices=engine_names(TimbreEngineName), help=f"default: {timbre_default}")


def field_range(model: type[BaseModel], name: str) -> str:
    """`5–600` from the field's own limits, so help and the contract cannot disagree."""
    low = high = None
    for constraint in model.model_fields[name].metadata:
        low = getattr(constraint, "ge", low)
        high = getattr(constraint, "le", high)
    return f"{low:g}–{high:g}"


def one_line(exc: ValidationError, flags: dict[str, str] | None = None) -> str:
    """A pydantic error as one line: the option it came from (via `flags`) and why."""
    first = exc.errors()[0]
    path = ".".join(str(part) for part in first["loc"])
    name = (flags or {}).get(path, path)
    return f"{name}: {first['msg']}" if name else first["msg"]
