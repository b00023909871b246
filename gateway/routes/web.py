"""The web page: GET / and its static files (plain HTML/CSS/JS in gateway/static, no CDN)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from imagewave.artifacts import media_type_of
from imagewave.errors import NotFound

router = APIRouter(tags=["web"])

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
_STATIC_NAME = re.compile(r"^[a-z0-9_-]{1,64}\.(js|css|svg|png|ico)$")
_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@router.get("/", response_class=FileResponse, include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html",
                        headers={"Cache-Control": "no-cache"})


# The project's own example pictures ("Try an example" on the page); a source checkout has them,
# an installed wheel has none and the page then shows no examples.
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
_EXAMPLE_NAME = re.compile(r"^[a-z0-9_-]{1,64}\.(jpg|jpeg|png|webp)$")


def example_names() -> list[str]:
    if not EXAMPLES_DIR.is_dir():
        return []
    return sorted(p.name for p in EXAMPLES_DIR.iterdir() if _EXAMPLE_NAME.match(p.name))


@router.get("/examples", include_in_schema=False)
async def examples() -> list[str]:
    return example_names()


@router.get("/examples/{name}", response_class=FileResponse, include_in_schema=False)
async def example_picture(name: str) -> FileResponse:
    if name not in example_names():
        raise NotFound(f"example {name!r} not found")
    return FileResponse(EXAMPLES_DIR / name, media_type=media_type_of(name))


@router.get("/static/{name}", response_class=FileResponse, include_in_schema=False)
async def static_file(name: str) -> FileResponse:
    path = STATIC_DIR / name
    if not _STATIC_NAME.match(name) or not path.is_file():
        raise NotFound(f"static file {name!r} not found")
    media_type = _MEDIA_TYPES.get(path.suffix) or media_type_of(name)
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "no-cache"})
