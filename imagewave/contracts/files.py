"""File names inside request and response bodies: one safe-name type for every file payload.

A service writes the files of a request into a directory of its own (the render service: the
instruments it plays), so a name must never leave that directory: relative, `/`-separated
segments that start with a letter, digit or `_` (so never `.` or `..`), no `\\`, no NUL, no
empty segment, no leading `/`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

SAFE_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}"
SAFE_NAME_PATTERN = rf"^{SAFE_SEGMENT}(/{SAFE_SEGMENT})*$"

SafeFileName = Annotated[str, Field(
    min_length=1, max_length=255, pattern=SAFE_NAME_PATTERN,
    description="Relative path of `/`-separated segments; no `.`/`..` segments, no absolute "
                "paths, backslashes or NUL", examples=["samples/bass_060.wav"])]
