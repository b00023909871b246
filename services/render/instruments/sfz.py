"""SFZ instruments: the writer used by the instrument builder and the reader used by the sampler.

Rendering goes through `read_sfz`, so the song is made from exactly the files a user downloads.
Only the opcodes our instruments use (and a few common ones found in hand-written files) are
understood; the reader keeps unknown opcodes in `Region.extra` instead of failing, like samplers do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from imagewave.audio import to_mono

_NOTE_OFFSETS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_HEADER = re.compile(r"<(\w+)>")
_OPCODE = re.compile(r"(\w+)=")


@dataclass
class Region:
    """One SFZ region with the opcodes the sampler understands; SFZ defaults otherwise."""

    sample: str
    lokey: int = 0
    hikey: int = 127
    lovel: int = 1
    hivel: int = 127
    pitch_keycenter: float = 60.0
    pitch_keytrack: float = 100.0  # cents per key
    tune: float = 0.0  # cents
    transpose: int = 0
    volume: float = 0.0  # dB
    pan: float = 0.0  # -100 .. 100
    loop_mode: str = "no_loop"  # no_loop | one_shot | loop_continuous | loop_sustain
    loop_start: int | None = None  # first frame of the loop
    loop_end: int | None = None  # last frame of the loop (inclusive, as in SFZ)
    offset: int = 0
    end: int | None = None  # last frame played (inclusive)
    ampeg_attack: float = 0.0  # seconds
    ampeg_hold: float = 0.0
    ampeg_decay: float = 0.0
    ampeg_sustain: float = 100.0  # percent
    ampeg_release: float = 0.001
    amp_veltrack: float = 100.0  # percent
    group: int = 0
    off_by: int | None = None
    # Round robin: the region plays on every seq_length-th note-on that reaches it, starting
    # with the seq_position-th (sfizz's per-region sequence counter).
    seq_length: int = 1
    seq_position: int = 1
    extra: dict[str, str] = field(default_factory=dict)

    def to_sfz(self, defaults: Region | None = None) -> str:
        """The region's opcodes that differ from `defaults` (e.g. the <global> values)."""
        defaults = defaults or Region(sample="")
        parts = [f"sample={self.sample}"]
        for name in _WRITTEN_OPCODES:
            value = getattr(self, name)
            if value != getattr(defaults, name):
                parts.append(f"{name}={_format(value)}")
        return " ".join(parts)

    def matches(self, key: int, velocity: int) -> bool:
        return self.lokey <= key <= self.hikey and self.lovel <= velocity <= self.hivel

    def plays_in_sequence(self, note_on_count: int) -> bool:
        """Whether the region sounds on its `note_on_count`-th matching note-on (0-based)."""
        if self.seq_length <= 1:
            return True
        return note_on_count % self.seq_length == (self.seq_position - 1) % self.seq_length


_WRITTEN_OPCODES = (
    "lokey", "hikey", "lovel", "hivel", "pitch_keycenter", "pitch_keytrack", "tune", "transpose",
    "volume", "pan", "loop_mode", "loop_start", "loop_end", "offset", "end", "ampeg_attack",
    "ampeg_hold", "ampeg_decay", "ampeg_sustain", "ampeg_release", "amp_veltrack", "group",
    "off_by", "seq_length", "seq_position",
)
_INT_OPCODES = {"lokey", "hikey", "lovel", "hivel", "transpose", "loop_start", "loop_end", "offset",
                "end", "group", "off_by", "seq_length", "seq_position"}
_FLOAT_OPCODES = {"pitch_keycenter", "pitch_keytrack", "tune", "volume", "pan", "ampeg_attack",
                  "ampeg_hold", "ampeg_decay", "ampeg_sustain", "ampeg_release", "amp_veltrack"}
_ALIASES = {"loopmode": "loop_mode", "loopstart": "loop_start", "loopend": "loop_end",
            "loop_start": "loop_start", "loop_end": "loop_end"}


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@dataclass
class SfzInstrument:
    regions: list[Region]
    path: Path
    sample_dir: Path
    comment: str = ""

    def regions_for(self, key: int, velocity: int) -> list[Region]:
        return [r for r in self.regions if r.matches(key, velocity)]

    def sample_path(self, region: Region) -> Path:
        return self.sample_dir / region.sample.replace("\\", "/")


def write_sfz(path: Path, regions: list[Region], *, global_opcodes: Region | None = None,
              default_path: str = "samples/", comment: str = "") -> Path:
    """Write an SFZ file; opcodes shared by all regions go to <global> when given."""
    lines = [f"// {line}" for line in comment.splitlines()]
    lines += ["<control>", f"default_path={default_path}", ""]
    defaults = Region(sample="")
    if global_opcodes is not None:
        opcodes = global_opcodes.to_sfz(defaults).split(" ", 1)
        lines += ["<global>", opcodes[1] if len(opcodes) > 1 else "", ""]
        defaults = global_opcodes
    lines += ["<region> " + region.to_sfz(defaults) for region in regions]
    path.write_text("\n".join(lines) + "\n")
    return path


def parse_note(value: str) -> int:
    """A key as an SFZ value: a MIDI number or a note name where c4 = 60 (e.g. "c#4", "eb2")."""
    value = value.strip().lower()
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    match = re.fullmatch(r"([a-g])([#b]?)(-?\d+)", value)
    if not match:
        raise ValueError(f"not a MIDI key or note name: {value!r}")
    letter, accidental, octave = match.groups()
    shift = {"#": 1, "b": -1, "": 0}[accidental]
    return (int(octave) + 1) * 12 + _NOTE_OFFSETS[letter] + shift


def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, value) tokens: ("header", name) or ("opcode", "name=value")."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    tokens: list[tuple[str, str]] = []
    for line in text.splitlines():
        position = 0
        for header in _HEADER.finditer(line):
            tokens += _line_opcodes(line[position:header.start()])
            tokens.append(("header", header.group(1).lower()))
            position = header.end()
        tokens += _line_opcodes(line[position:])
    return tokens


def _line_opcodes(segment: str) -> list[tuple[str, str]]:
    # A value runs until the next `name=` on the same line, so sample paths may contain spaces.
    matches = list(_OPCODE.finditer(segment))
    out = []
    for i, match in enumerate(matches):
        stop = matches[i + 1].start() if i + 1 < len(matches) else len(segment)
        out.append(("opcode", f"{match.group(1)}={segment[match.end():stop].strip()}"))
    return out


def _apply(opcodes: dict[str, str], region: Region) -> Region:
    for name, raw in opcodes.items():
        name = _ALIASES.get(name, name)
        if name == "sample":
            region.sample = raw
        elif name == "key":
            key = parse_note(raw)
            region.lokey = region.hikey = key
            region.pitch_keycenter = float(key)
        elif name in ("lokey", "hikey"):
            setattr(region, name, parse_note(raw))
        elif name == "pitch_keycenter":
            region.pitch_keycenter = float(parse_note(raw))
        elif name in _INT_OPCODES:
            setattr(region, name, int(float(raw)))
        elif name in _FLOAT_OPCODES:
            setattr(region, name, float(raw))
        elif name == "loop_mode":
            region.loop_mode = raw
        else:
            region.extra[name] = raw
    return region


def read_sfz(path: Path) -> SfzInstrument:
    """Parse an SFZ file: <control> default_path, <global>/<master>/<group> inheritance."""
    path = Path(path)
    tokens = _tokens(path.read_text(errors="replace"))
    levels: dict[str, dict[str, str]] = {"control": {}, "global": {}, "master": {}, "group": {}}
    regions: list[Region] = []
    current: str | None = None
    region_opcodes: dict[str, str] | None = None

    def close_region() -> None:
        if region_opcodes is not None:
            merged = {**levels["global"], **levels["master"], **levels["group"], **region_opcodes}
            if "sample" in merged:
                regions.append(_apply(merged, Region(sample="")))

    for kind, value in tokens:
        if kind == "header":
            close_region()
            region_opcodes = None
            current = value
            if value == "region":
                region_opcodes = {}
            elif value in levels:
                levels[value] = {}
                if value == "global":
                    levels["master"], levels["group"] = {}, {}
                elif value == "master":
                    levels["group"] = {}
            continue
        name, _, raw = value.partition("=")
        if current == "region" and region_opcodes is not None:
            region_opcodes[name] = raw
        elif current in levels:
            levels[current][name] = raw
    close_region()
    default_path = levels["control"].get("default_path", "")
    return SfzInstrument(regions=regions, path=path,
                         sample_dir=path.parent / default_path.replace("\\", "/"))


def load_sample(path: Path, sample_rate: int) -> tuple[np.ndarray, float]:
    """A region's sample as mono float32 at `sample_rate` (resampled with soxr when needed),
    and the factor that converts the file's frame positions (loop points) to the result's."""
    import soxr

    data, rate = sf.read(path, dtype="float32", always_2d=True)
    mono = to_mono(data)
    if rate != sample_rate:
        mono = soxr.resample(mono, rate, sample_rate).astype(np.float32)
    return np.ascontiguousarray(mono, dtype=np.float32), sample_rate / rate
