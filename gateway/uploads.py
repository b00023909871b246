"""Checks of what a client uploads, before anything is queued: sizes, image by content,
MIDI that parses, options with field-level messages."""

from __future__ import annotations

from fastapi import UploadFile
from pydantic import ValidationError

from imagewave.contracts.jobs import JobOptions
from imagewave.contracts.scene import Scene
from imagewave.errors import InvalidInput, PayloadTooLarge
from imagewave.images import check_image_header
from imagewave.midi_validation import MAX_MIDI_NOTES, MAX_MIDI_SECONDS, load_midi

IMAGE_SUFFIX = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}


async def read_limited(upload: UploadFile, limit: int, field: str) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        from gateway.limits import megabytes

        raise PayloadTooLarge(f"{field} is larger than the limit of {megabytes(limit)}",
                              field=field)
    return data


# A scene document is small (at most 16 sources of short strings): more is not a scene.
MAX_SCENE_BYTES = 64_000


def invalid_field(exc: ValidationError, prefix: str) -> InvalidInput:
    """The first validation error, as a 422 naming `prefix.<path>` (e.g. scene.sound_sources)."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    field = f"{prefix}.{where}" if where else prefix
    return InvalidInput(f"{field}: {first['msg']}", field=field)


def parse_options(raw: str | None) -> JobOptions:
    if raw is None or not raw.strip():
        return JobOptions()
    try:
        return JobOptions.model_validate_json(raw)
    except ValidationError as exc:
        raise invalid_field(exc, "options") from exc


def parse_scene(raw: str | None) -> Scene | None:
    """A user's scene document (the describe stage's format), or None when not given."""
    if raw is None or not raw.strip():
        return None
    if len(raw.encode()) > MAX_SCENE_BYTES:
        raise PayloadTooLarge(f"scene is larger than the limit of {MAX_SCENE_BYTES} bytes",
                              field="scene")
    try:
        return Scene.model_validate_json(raw)
    except ValidationError as exc:
        raise invalid_field(exc, "scene") from exc


def check_image(data: bytes, max_pixels: int) -> str:
    """Validate the picture by content; return the file suffix to store it under."""
    return IMAGE_SUFFIX[check_image_header(data, max_pixels=max_pixels)]


def check_midi(data: bytes, *, max_notes: int = MAX_MIDI_NOTES,
               max_seconds: float = MAX_MIDI_SECONDS) -> None:
    """The MIDI parses as the renderer will parse it and stays within the caps (checked again
    by the render service with the same validator)."""
    load_midi(data, max_notes=max_notes, max_seconds=max_seconds)
