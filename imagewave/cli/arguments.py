"""What every command group shares: plain choice names, option ranges from the contracts and
pydantic errors as the one line a command prints."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ValidationError


def engine_names(names: type[Enum]) -> list[str]:
    """Plain names for argparse: `--help` shows `lite`, not `DescribeEngineName.lite`."""
    return [name.value for name in names]


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
