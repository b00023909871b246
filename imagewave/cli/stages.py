"""One stage at a time: `describe`, `sfx`, `timbre`, `instruments`, `render`; each calls
one service's serving object in this process."""

from __future__ import annotations

import argparse
from pathlib import Path

from imagewave.audio import to_mono
from imagewave.cli.arguments import engine_names
from imagewave.contracts import layout
from imagewave.contracts.engines import DescribeEngineName, SfxEngineName, TimbreEngineName
from imagewave.contracts.scene import MELODIC_ROLES, Role


def cmd_describe(args: argparse.Namespace) -> int:
    from services.vlm.serving import VlmServing
    from services.vlm.settings import VlmSettings

    serving = VlmServing(VlmSettings(default_engine=args.engine, engines=[args.engine]))
    if len(args.images) > 1 and not args.out_dir:
        raise SystemExit("describe: several images need --out-dir")
    for image in args.images:
        scene = serving.describe(Path(image).read_bytes(), args.engine).scene
        text = scene.model_dump_json(indent=2, exclude_none=True)
        if args.out_dir:
            out = Path(args.out_dir) / f"{Path(image).stem}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text + "\n")
            print(out)
        else:
            print(text)
    return 0


def cmd_sfx(args: argparse.Namespace) -> int:
    from imagewave.contracts.scene import Scene
    from imagewave.contracts.stages import SfxRequest
    from services.t2a.serving import T2aServing
    from services.t2a.settings import T2aSettings

    scene = Scene.model_validate_json(Path(args.scene).read_text())
    serving = T2aServing(T2aSettings(default_engine=args.engine, engines=[args.engine]))
    response = serving.generate(SfxRequest(scene=scene, audio_length_in_s=args.seconds,
                                           seed=args.seed, engine=args.engine))
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for effect in response.effects:
        path = out_dir / Path(layout.sfx_file(effect.source_index, effect.name)).name
        path.write_bytes(effect.audio.wav_bytes())
        print(f"{path}\t{effect.prompt}")
    return 0


def cmd_timbre(args: argparse.Namespace) -> int:
    from imagewave.contracts.audio import AudioPayload
    from imagewave.contracts.stages import TimbreRequest
    from services.timbre.serving import TimbreServing
    from services.timbre.settings import TimbreSettings

    serving = TimbreServing(TimbreSettings(default_engine=args.engine, engines=[args.engine]))
    response = serving.transfer(TimbreRequest(
        audio=AudioPayload.from_wav_bytes(_read_wav_as_float(args.wav)),
        instrument=Role(args.instrument), engine=args.engine))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_bytes(response.audio.wav_bytes())
    root = f" (root MIDI pitch {response.root_pitch:.2f})" if response.root_pitch else ""
    print(f"{args.output}{root}")
    return 0


def cmd_instruments(args: argparse.Namespace) -> int:
    import soundfile as sf

    from services.render.instruments.build import build_instrument

    samples, sample_rate = sf.read(args.wav, dtype="float32", always_2d=True)
    sfz = build_instrument(to_mono(samples), sample_rate, Role(args.role),
                           instrument_dir(Path(args.output), Role(args.role)),
                           root_pitch=args.root_pitch)
    print(sfz)
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    import soundfile as sf

    from services.render.playback.midi import load_midi
    from services.render.playback.sampler import render_song
    from services.render.settings import RenderSettings

    settings = RenderSettings()
    instruments = find_instruments(Path(args.instruments))
    midi = load_midi(Path(args.midi).read_bytes(), max_notes=settings.max_midi_notes,
                     max_seconds=settings.max_midi_seconds)
    song = render_song(midi, instruments, role_overrides={}, sample_rate=settings.sample_rate,
                       target_lufs=settings.target_lufs, true_peak_dbtp=settings.true_peak_dbtp,
                       stems_dir=Path(args.stems) if args.stems else None,
                       max_memory_bytes=settings.max_render_memory_mb * 2**20)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    with sf.SoundFile(args.output, "w", samplerate=song.sample_rate, channels=2,
                      subtype="FLOAT") as out:
        for start in range(0, len(song.mix), 1 << 16):  # no interleaved copy of the whole song
            out.write(song.mix[start:start + (1 << 16)])
    print(f"{args.output}\t{len(song.mix) / song.sample_rate:.1f} s\t"
          f"{song.loudness_lufs:.1f} LUFS")
    return 0


def instrument_dir(out_dir: Path, role: Role) -> Path:
    """`instruments -o DIR` writes `DIR/<role>/`, the layout `render --instruments DIR` reads,
    so one DIR collects a whole set; a DIR already named after the role is used as it is."""
    return out_dir if out_dir.name == role.value else out_dir / role.value


def find_instruments(instruments_dir: Path) -> dict[Role, Path]:
    """`DIR/<role>/<role>.sfz` for any subset of roles, or one instrument's own folder."""
    from imagewave.errors import InvalidInput

    found = {}
    for role in Role:
        for candidate in (instruments_dir / role.value / f"{role.value}.sfz",
                          instruments_dir / f"{role.value}.sfz"):
            if candidate.is_file():
                found[role] = candidate
                break
    if not found:
        raise InvalidInput(f"--instruments: no <role>/<role>.sfz under {instruments_dir}")
    return found


def _read_wav_as_float(path: str) -> bytes:
    import io

    import soundfile as sf

    samples, sample_rate = sf.read(path, dtype="float32")
    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


def add_commands(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("describe", help="image → scene JSON")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--engine", type=DescribeEngineName,
                   default=DescribeEngineName.lite.value,
                   choices=engine_names(DescribeEngineName))
    p.add_argument("--out-dir", help="write DIR/<image stem>.json per image")
    p.set_defaults(run=cmd_describe)

    p = commands.add_parser("sfx", help="scene JSON → one sound effect per source")
    p.add_argument("scene", metavar="SCENE.json")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--engine", type=SfxEngineName,
                   default=SfxEngineName.procedural.value,
                   choices=engine_names(SfxEngineName))
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=cmd_sfx)

    p = commands.add_parser("timbre", help="effect → keyboard / bass / guitar voice")
    p.add_argument("wav", metavar="WAV")
    p.add_argument("--instrument", required=True, choices=[r.value for r in MELODIC_ROLES])
    p.add_argument("-o", "--output", required=True, metavar="OUT.wav")
    p.add_argument("--engine", type=TimbreEngineName,
                   default=TimbreEngineName.dsp.value, choices=engine_names(TimbreEngineName))
    p.set_defaults(run=cmd_timbre)

    p = commands.add_parser("instruments", help="audio → SFZ (+SF2) instrument in DIR")
    p.add_argument("wav", metavar="WAV")
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument("--root-pitch", type=float, default=None, help="known MIDI pitch of WAV")
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="writes DIR/<role>/<role>.sfz (+ .sf2, samples/), what render reads")
    p.set_defaults(run=cmd_instruments)

    p = commands.add_parser("render", help="MIDI + instruments → mixed wav")
    p.add_argument("midi", metavar="MIDI")
    p.add_argument("--instruments", required=True, metavar="DIR",
                   help="DIR/<role>/<role>.sfz for any subset of roles")
    p.add_argument("-o", "--output", required=True, metavar="OUT.wav")
    p.add_argument("--stems", metavar="DIR", help="also write DIR/<stem>.flac")
    p.set_defaults(run=cmd_render)
