"""Audio on the wire: WAV bytes, base64 in JSON, with the sample rate stated.

Services exchange audio inside JSON bodies so every stage request is one validated pydantic
model. WAV float32 keeps the exact samples; payloads are seconds long, so base64's overhead is
cheaper than a second transport.
"""

from __future__ import annotations

import base64
import binascii
import io

import numpy as np
import soundfile as sf
from pydantic import BaseModel, Field

from imagewave.contracts.files import SafeFileName
from imagewave.errors import InvalidInput


class AudioPayload(BaseModel):
    """A mono or multi-channel clip as base64 WAV."""

    sample_rate: int = Field(gt=0, le=384_000)
    wav_base64: str = Field(min_length=1, description="WAV file bytes, base64-encoded")

    @classmethod
    def from_array(cls, samples: np.ndarray, sample_rate: int) -> AudioPayload:
        buffer = io.BytesIO()
        sf.write(buffer, np.asarray(samples, dtype=np.float32), sample_rate, format="WAV",
                 subtype="FLOAT")
        return cls(sample_rate=sample_rate, wav_base64=base64.b64encode(buffer.getvalue()).decode())

    @classmethod
    def from_wav_bytes(cls, data: bytes) -> AudioPayload:
        info = sf.info(io.BytesIO(data))
        return cls(sample_rate=info.samplerate, wav_base64=base64.b64encode(data).decode())

    def wav_bytes(self) -> bytes:
        try:
            return base64.b64decode(self.wav_base64, validate=True)
        except binascii.Error as exc:
            raise InvalidInput(f"audio is not valid base64: {exc}", field="audio") from exc

    def to_array(self) -> np.ndarray:
        """Samples as float32, shape (frames,) for mono or (frames, channels)."""
        try:
            samples, _ = sf.read(io.BytesIO(self.wav_bytes()), dtype="float32",
                                 always_2d=False)
        except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
            raise InvalidInput(f"audio is not a readable WAV file: {exc}", field="audio") from exc
        if samples.size == 0 or not np.isfinite(samples).all():
            raise InvalidInput("audio is empty or holds NaN/inf samples", field="audio")
        return samples


class FilePayload(BaseModel):
    """A named file (SFZ text, sample, MIDI) inside a JSON body."""

    name: SafeFileName
    data_base64: str

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> FilePayload:
        return cls(name=name, data_base64=base64.b64encode(data).decode())

    def data(self) -> bytes:
        return base64.b64decode(self.data_base64)
