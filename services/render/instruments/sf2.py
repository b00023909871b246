"""SoundFont 2 writer: the SF2 twin of an SFZ instrument, for samplers and DAWs that want SF2.

Written with our own code (about 200 lines of `struct`) rather than a library: the maintained
Python SoundFont packages read SF2 (sf2utils) or drive a synth (pyfluidsynth); none writes one,
and the subset we need (instruments of mono 16-bit samples, key/velocity ranges, root key, loops,
volume envelope, pan, exclusive class) is small and fully specified by the SoundFont 2.04 spec.
The SF2 is converted from the SFZ file just written, so both formats carry the same zones (but
SF2 has no round robin: only the first of a round-robin set is kept). An instrument's own font
puts it at bank 0 / program 0 (drums 128 / 0); `merge_sf2` joins several fonts into one
GM-mapped set without decoding audio.

Envelope mapping: sfizz decays exponentially by 78 dB (exp(-9)) over `ampeg_decay`, SF2 decays
linearly in dB by 100 dB over decayVolEnv; times are scaled by 100/78 so both fall at the same
rate. Velocity follows the SFZ `amp_veltrack` through an instrument modulator that replaces the
default velocity-to-attenuation one.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from imagewave.audio import to_mono
from services.render.instruments.sfz import Region, read_sfz

# Generator operators (SoundFont 2.04, section 8.1.2).
GEN_PAN = 17
GEN_ATTACK_VOL_ENV = 34
GEN_HOLD_VOL_ENV = 35
GEN_DECAY_VOL_ENV = 36
GEN_SUSTAIN_VOL_ENV = 37
GEN_RELEASE_VOL_ENV = 38
GEN_INSTRUMENT = 41
GEN_KEY_RANGE = 43
GEN_VEL_RANGE = 44
GEN_INITIAL_ATTENUATION = 48
GEN_COARSE_TUNE = 51
GEN_FINE_TUNE = 52
GEN_SAMPLE_ID = 53
GEN_SAMPLE_MODES = 54
GEN_SCALE_TUNING = 56
GEN_EXCLUSIVE_CLASS = 57
GEN_OVERRIDING_ROOT_KEY = 58

SAMPLE_MODES = {"loop_continuous": 1, "loop_sustain": 3}
SFZ_TO_SF2_ENVELOPE_TIME = 100.0 / 78.2  # see module docstring
_VELOCITY_SOURCE = 0x0502  # concave, unipolar, positive, key velocity (the default modulator)
_ZERO_PADDING_FRAMES = 46  # required after each sample


def _timecents(seconds: float) -> int:
    if seconds <= 0.001:
        return -12000
    return int(np.clip(round(1200 * math.log2(seconds)), -12000, 8000))


def _chunk(tag: bytes, data: bytes) -> bytes:
    if len(data) % 2:
        data += b"\0"
    return tag + struct.pack("<I", len(data)) + data


def _list(tag: bytes, chunks: list[bytes]) -> bytes:
    body = tag + b"".join(chunks)
    return b"LIST" + struct.pack("<I", len(body)) + body


def _name(text: str) -> bytes:
    return text.encode("ascii", "replace")[:19].ljust(20, b"\0")


def _zstr(text: str) -> bytes:
    data = text.encode("ascii", "replace")[:255] + b"\0"
    return data + (b"\0" if len(data) % 2 else b"")


def _zone_generators(region: Region, sample_id: int, sample_frames: int,
                     sample_rate: int, loudest_volume_db: float = 0.0) -> list[tuple[int, int]]:
    gens = [(GEN_KEY_RANGE, region.lokey | (region.hikey << 8)),
            (GEN_VEL_RANGE, region.lovel | (region.hivel << 8))]
    if region.tune:
        gens.append((GEN_FINE_TUNE, int(round(region.tune))))
    if region.transpose:
        gens.append((GEN_COARSE_TUNE, region.transpose))
    if region.pitch_keytrack != 100.0:
        gens.append((GEN_SCALE_TUNING, int(round(region.pitch_keytrack))))
    # SF2 can only attenuate: volumes are taken relative to the loudest region's (an SFZ's
    # positive <global> volume only sets sfizz's playing level).
    if region.volume < loudest_volume_db:
        gens.append((GEN_INITIAL_ATTENUATION,
                     int(round(10 * (loudest_volume_db - region.volume)))))
    if region.pan:
        gens.append((GEN_PAN, int(np.clip(round(5 * region.pan), -500, 500))))
    gens.append((GEN_ATTACK_VOL_ENV, _timecents(region.ampeg_attack)))
    if region.ampeg_hold > 0:
        gens.append((GEN_HOLD_VOL_ENV, _timecents(region.ampeg_hold)))
    if region.ampeg_decay > 0 and region.ampeg_sustain < 100:
        gens.append((GEN_DECAY_VOL_ENV,
                     _timecents(region.ampeg_decay * SFZ_TO_SF2_ENVELOPE_TIME)))
        sustain = max(region.ampeg_sustain, 1e-3) / 100.0
        gens.append((GEN_SUSTAIN_VOL_ENV, int(np.clip(round(-200 * math.log10(sustain)), 0, 1440))))
    if region.loop_mode == "one_shot":
        # SF2 has no one-shot: let the sample ring out after note-off.
        release_s = sample_frames / sample_rate
    else:
        release_s = region.ampeg_release * SFZ_TO_SF2_ENVELOPE_TIME
    gens.append((GEN_RELEASE_VOL_ENV, _timecents(release_s)))
    if region.off_by is not None and region.group:
        gens.append((GEN_EXCLUSIVE_CLASS, region.group))
    gens.append((GEN_OVERRIDING_ROOT_KEY, int(round(region.pitch_keycenter))))
    if region.loop_mode in SAMPLE_MODES and region.loop_start is not None:
        gens.append((GEN_SAMPLE_MODES, SAMPLE_MODES[region.loop_mode]))
    gens.append((GEN_SAMPLE_ID, sample_id))  # must be last
    return gens


@dataclass(frozen=True)
class FontInstrument:
    """One SFZ instrument to put in an SF2, reachable from the presets (`bank`, program)."""

    sfz_path: Path
    name: str
    bank: int
    programs: tuple[int, ...]
    samples: dict[str, tuple[np.ndarray, int]] = field(default_factory=dict)


def write_sf2_from_sfz(sfz_path: Path, sf2_path: Path, *, name: str, bank: int,
                       programs: list[int],
                       samples: dict[str, tuple[np.ndarray, int]] | None = None) -> Path:
    """Write an SF2 with one instrument holding every region of `sfz_path`, reachable from each
    preset (`bank`, program) in `programs` (an instrument's own font: bank 0 / program 0, drum
    kits bank 128 / program 0, so a plain MIDI on channel 1 or 10 finds it).

    `samples` (SFZ sample name → mono audio, rate) may hand over audio just written, to save
    reading it back; anything missing is read from the SFZ's sample files.
    """
    return write_sf2(sf2_path, [FontInstrument(Path(sfz_path), name, bank, tuple(programs),
                                               samples or {})], name=name)


def write_sf2(sf2_path: Path, instruments: list[FontInstrument], *, name: str) -> Path:
    """Write an SF2 holding several instruments (a whole set, GM-mapped), samples shared.

    SF2 has no round robin: of a round-robin set only the first (`seq_position=1`) plays.
    """
    sample_index: dict[Path, int] = {}
    sample_blobs: list[bytes] = []
    sample_headers: list[bytes] = []
    zone_gens: list[list[tuple[int, int]]] = []
    zone_mods: list[list[bytes]] = []
    first_zone: list[int] = []  # per instrument, its first zone's index
    position = 0
    frames_and_rate: dict[Path, tuple[int, int]] = {}
    for font in instruments:
        first_zone.append(len(zone_gens))
        instrument = read_sfz(font.sfz_path)
        loudest_volume_db = max(0.0, max((r.volume for r in instrument.regions), default=0.0))
        for region in instrument.regions:
            if region.seq_length > 1 and region.seq_position != 1:
                continue
            path = instrument.sample_path(region)
            if path not in sample_index:
                if region.sample in font.samples:
                    mono, rate = font.samples[region.sample]
                else:
                    data, rate = sf.read(path, dtype="float32", always_2d=True)
                    mono = to_mono(data)
                pcm = np.clip(np.round(mono * 32767), -32768, 32767).astype("<i2")
                start, end = position, position + len(pcm)
                if region.loop_start is not None and region.loop_end is not None:
                    loop_start, loop_end = start + region.loop_start, start + region.loop_end + 1
                else:
                    loop_start, loop_end = start, max(start + 1, end - 1)
                sample_headers.append(
                    _name(path.stem) + struct.pack("<5IBbHH", start, end, loop_start, loop_end,
                                                   rate, int(round(region.pitch_keycenter)) & 0x7F,
                                                   0, 0, 1))
                sample_blobs.append(pcm.tobytes() + b"\0\0" * _ZERO_PADDING_FRAMES)
                position = end + _ZERO_PADDING_FRAMES
                sample_index[path] = len(sample_headers) - 1
                frames_and_rate[path] = (len(pcm), rate)
            frames, rate = frames_and_rate[path]
            zone_gens.append(_zone_generators(region, sample_index[path], frames, rate,
                                              loudest_volume_db))
            attenuation_cb = int(round(960 * region.amp_veltrack / 100.0))
            zone_mods.append([struct.pack("<HHhHH", _VELOCITY_SOURCE, GEN_INITIAL_ATTENUATION,
                                          attenuation_cb, 0, 0)])

    ibag, igen, imod = b"", b"", b""
    gen_count = mod_count = 0
    for gens, mods in zip(zone_gens, zone_mods, strict=True):
        ibag += struct.pack("<HH", gen_count, mod_count)
        igen += b"".join(struct.pack("<HH" if op in (GEN_KEY_RANGE, GEN_VEL_RANGE) else "<Hh",
                                     op, amount) for op, amount in gens)
        imod += b"".join(mods)
        gen_count += len(gens)
        mod_count += len(mods)
    ibag += struct.pack("<HH", gen_count, mod_count)
    igen += struct.pack("<HH", 0, 0)
    imod += b"\0" * 10
    inst = b"".join(_name(font.name) + struct.pack("<H", zone)
                    for font, zone in zip(instruments, first_zone, strict=True))
    inst += _name("EOI") + struct.pack("<H", len(zone_gens))
    shdr = b"".join(sample_headers) + _name("EOS") + b"\0" * 26

    presets = sorted(((font.bank, program, index, font.name)
                      for index, font in enumerate(instruments) for program in font.programs))
    phdr, pbag, pgen = b"", b"", b""
    for number, (bank, program, instrument_index, preset_name) in enumerate(presets):
        phdr += _name(preset_name) + struct.pack("<HHHIII", program, bank, number, 0, 0, 0)
        pbag += struct.pack("<HH", number, 0)
        pgen += struct.pack("<HH", GEN_INSTRUMENT, instrument_index)
    phdr += _name("EOP") + struct.pack("<HHHIII", 0, 0, len(presets), 0, 0, 0)
    pbag += struct.pack("<HH", len(presets), 0)
    pgen += struct.pack("<HH", 0, 0)
    pmod = b"\0" * 10

    info = _list(b"INFO", [_chunk(b"ifil", struct.pack("<HH", 2, 1)),
                           _chunk(b"isng", _zstr("EMU8000")),
                           _chunk(b"INAM", _zstr(name)),
                           _chunk(b"ISFT", _zstr("imagewave"))])
    sdta = _list(b"sdta", [_chunk(b"smpl", b"".join(sample_blobs))])
    pdta = _list(b"pdta", [_chunk(b"phdr", phdr), _chunk(b"pbag", pbag), _chunk(b"pmod", pmod),
                           _chunk(b"pgen", pgen), _chunk(b"inst", inst), _chunk(b"ibag", ibag),
                           _chunk(b"imod", imod), _chunk(b"igen", igen), _chunk(b"shdr", shdr)])
    body = b"sfbk" + info + sdta + pdta
    Path(sf2_path).write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return Path(sf2_path)


@dataclass(frozen=True)
class FontPresets:
    """A written SF2 (its bytes) and the presets (`bank`, programs) its first instrument gets
    in a merged font."""

    data: bytes
    name: str
    bank: int
    programs: tuple[int, ...]


def _riff_chunks(data: bytes, start: int, stop: int) -> dict[bytes, bytes]:
    """Sub-chunks of a RIFF list body, LIST chunks keyed by their list type."""
    chunks: dict[bytes, bytes] = {}
    position = start
    while position + 8 <= stop:
        tag, size = data[position:position + 4], struct.unpack("<I", data[position + 4:
                                                                        position + 8])[0]
        body = data[position + 8:position + 8 + size]
        chunks[body[:4] if tag == b"LIST" else tag] = body[4:] if tag == b"LIST" else body
        position += 8 + size + (size % 2)
    return chunks


def merge_sf2(fonts: list[FontPresets], *, name: str) -> bytes:
    """One SF2 holding the instruments of several SF2 files written by `write_sf2` (a whole
    set, GM-mapped: keyboard 0-7, guitar 24-31, bass 32-39, drums bank 128), merged byte-wise
    (no audio decoded), so a render can hand it out for the price of a copy."""
    smpl, shdr, inst, ibag, igen, imod = [], [], [], [], [], []
    sample_frames = sample_count = instrument_count = bag_count = gen_count = mod_count = 0
    presets: list[tuple[int, int, int, str]] = []
    for font in fonts:
        riff = _riff_chunks(font.data, 12, len(font.data))
        sdta, pdta = _riff_chunks(riff[b"sdta"], 0, len(riff[b"sdta"])), _riff_chunks(
            riff[b"pdta"], 0, len(riff[b"pdta"]))
        smpl.append(sdta[b"smpl"])
        headers = [pdta[b"shdr"][i:i + 46] for i in range(0, len(pdta[b"shdr"]) - 46, 46)]
        for header in headers:
            start, end, loop_start, loop_end = struct.unpack("<4I", header[20:36])
            shdr.append(header[:20] + struct.pack("<4I", *(value + sample_frames for value in (
                start, end, loop_start, loop_end))) + header[36:])
        instruments = [pdta[b"inst"][i:i + 22] for i in range(0, len(pdta[b"inst"]) - 22, 22)]
        for record in instruments:
            bag = struct.unpack("<H", record[20:22])[0]
            inst.append(record[:20] + struct.pack("<H", bag + bag_count))
        bags = [struct.unpack("<HH", pdta[b"ibag"][i:i + 4])
                for i in range(0, len(pdta[b"ibag"]) - 4, 4)]
        ibag += [struct.pack("<HH", g + gen_count, m + mod_count) for g, m in bags]
        gens = [struct.unpack("<HH", pdta[b"igen"][i:i + 4])
                for i in range(0, len(pdta[b"igen"]) - 4, 4)]
        igen += [struct.pack("<HH", op, amount + sample_count if op == GEN_SAMPLE_ID else amount)
                 for op, amount in gens]
        imod.append(pdta[b"imod"][:-10])
        presets += [(font.bank, program, instrument_count, font.name) for program in font.programs]
        sample_frames += len(sdta[b"smpl"]) // 2
        sample_count += len(headers)
        instrument_count += len(instruments)
        bag_count += len(bags)
        gen_count += len(gens)
        mod_count += len(pdta[b"imod"]) // 10 - 1

    phdr, pbag, pgen = b"", b"", b""
    for number, (bank, program, instrument_index, preset_name) in enumerate(sorted(presets)):
        phdr += _name(preset_name) + struct.pack("<HHHIII", program, bank, number, 0, 0, 0)
        pbag += struct.pack("<HH", number, 0)
        pgen += struct.pack("<HH", GEN_INSTRUMENT, instrument_index)
    phdr += _name("EOP") + struct.pack("<HHHIII", 0, 0, len(presets), 0, 0, 0)
    pbag += struct.pack("<HH", len(presets), 0)
    pgen += struct.pack("<HH", 0, 0)
    pdta_chunks = [
        _chunk(b"phdr", phdr), _chunk(b"pbag", pbag), _chunk(b"pmod", b"\0" * 10),
        _chunk(b"pgen", pgen),
        _chunk(b"inst", b"".join(inst) + _name("EOI") + struct.pack("<H", bag_count)),
        _chunk(b"ibag", b"".join(ibag) + struct.pack("<HH", gen_count, mod_count)),
        _chunk(b"imod", b"".join(imod) + b"\0" * 10),
        _chunk(b"igen", b"".join(igen) + struct.pack("<HH", 0, 0)),
        _chunk(b"shdr", b"".join(shdr) + _name("EOS") + b"\0" * 26)]
    info = _list(b"INFO", [_chunk(b"ifil", struct.pack("<HH", 2, 1)),
                           _chunk(b"isng", _zstr("EMU8000")), _chunk(b"INAM", _zstr(name)),
                           _chunk(b"ISFT", _zstr("imagewave"))])
    body = (b"sfbk" + info + _list(b"sdta", [_chunk(b"smpl", b"".join(smpl))])
            + _list(b"pdta", pdta_chunks))
    return b"RIFF" + struct.pack("<I", len(body)) + body
