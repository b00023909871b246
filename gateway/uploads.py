"""Checks of what a client uploads, before anything is queued: sizes, image by content,
MIDI that parses, options with field-level messages."""

from __future__ import annotations

import io

from fastapi import UploadFile
from pydantic import ValidationError

from imagewave.contracts.jobs import JobOptions
from imagewave.errors import InvalidInput, InvalidMidi, PayloadTooLarge
from imagewave.images import check_image_header

IMAGE_SUFFIX = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif",
                "BMP": "bmp", "TIFF": "tiff"}


async def read_limited(upload: UploadFile, limit: int, field: str) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"{field} is larger than the limit of {limit} bytes", field=field)
    return data


def parse_options(raw: str | None) -> JobOptions:
    if raw is None or not raw.strip():
        return JobOptions()
    try:
        return JobOptions.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "options"
        field = f"options.{where}" if first["loc"] else "options"
        raise InvalidInput(f"{field}: {first['msg']}", field=field) from exc


def check_image(data: bytes, max_pixels: int) -> str:
    """Validate the picture by content; return the file suffix to store it under."""
    return IMAGE_SUFFIX[check_image_header(data, max_pixels=max_pixels)]


def check_midi(data: bytes, *, max_notes: int = 50_000, max_seconds: float = 900.0) -> None:
    """The MIDI parses and stays within the render service's caps (checked again there)."""
    import mido

    if not data.startswith(b"MThd"):
        raise InvalidMidi("midi is not a Standard MIDI File (no MThd header)", field="midi")
    try:
        midi = mido.MidiFile(file=io.BytesIO(data))
        notes = sum(1 for track in midi.tracks for message in track
                    if message.type == "note_on" and message.velocity > 0)
        length_s = midi.length
    except Exception as exc:  # mido raises many types (OSError, ValueError, KeyError, ...)
        raise InvalidMidi(f"midi could not be parsed: {type(exc).__name__}: {exc}",
                          field="midi") from exc
    if notes == 0:
        raise InvalidMidi("midi has no notes", field="midi")
    if notes > max_notes:
        raise InvalidMidi(f"midi has {notes} notes, more than the limit of {max_notes}",
                          field="midi")
    if length_s > max_seconds:
        raise InvalidMidi(f"midi lasts {length_s:.1f} s, longer than the limit of "
                          f"{max_seconds:g} s", field="midi")
