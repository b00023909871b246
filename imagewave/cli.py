"""The `imagewave` command: each stage on its own, the whole pipeline in one process
(`compose`), the service stack on one machine (`serve`) and an RQ worker (`worker`)."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from pathlib import Path

from imagewave.contracts.engines import DescribeEngineName, SfxEngineName, TimbreEngineName
from imagewave.contracts.jobs import EngineChoice, JobOptions, StageName, StageStatus
from imagewave.contracts.scene import MELODIC_ROLES, Role
from imagewave.errors import ImagewaveError

log = logging.getLogger("imagewave")


# -- one stage at a time ------------------------------------------------------------------


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
    from gateway.pipeline import slug
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
        path = out_dir / f"{effect.source_index:02d}_{slug(effect.name)}.wav"
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
    sfz = build_instrument(samples.mean(axis=1), sample_rate, Role(args.role), Path(args.output),
                           root_pitch=args.root_pitch)
    print(sfz)
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    import soundfile as sf

    from services.render.playback.midi import load_midi
    from services.render.playback.sampler import render_song
    from services.render.settings import RenderSettings

    settings = RenderSettings()
    instruments_dir = Path(args.instruments)
    instruments = {role: instruments_dir / role.value / f"{role.value}.sfz" for role in Role
                   if (instruments_dir / role.value / f"{role.value}.sfz").is_file()}
    if not instruments:
        raise SystemExit(f"render: no <role>/<role>.sfz under {instruments_dir}")
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


def _read_wav_as_float(path: str) -> bytes:
    import io

    import soundfile as sf

    samples, sample_rate = sf.read(path, dtype="float32")
    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


# -- the whole pipeline in one process ----------------------------------------------------


class TerminalReporter:
    """Progress bars per stage on a terminal; plain log lines otherwise."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._bars: dict[StageName, object] = {}
        self._started: dict[StageName, float] = {}

    def stage(self, stage: StageName, status: StageStatus, progress: float) -> None:
        if self.tty:
            from tqdm import tqdm

            bar = self._bars.get(stage)
            if bar is None:
                bar = self._bars[stage] = tqdm(total=100, desc=f"{stage.value:12s}",
                                               file=self.stream, leave=True,
                                               bar_format="{desc} {bar} {percentage:3.0f}% "
                                                          "{elapsed}")
            bar.n = int(progress * 100)
            bar.refresh()
            if status in (StageStatus.succeeded, StageStatus.skipped, StageStatus.failed):
                bar.close()
            return
        if status is StageStatus.running and progress == 0.0:
            self._started[stage] = time.monotonic()
            print(f"[imagewave] {stage.value}: started", file=self.stream, flush=True)
        elif status is not StageStatus.running:
            took = time.monotonic() - self._started.get(stage, time.monotonic())
            print(f"[imagewave] {stage.value}: {status.value} ({took:.2f} s)", file=self.stream,
                  flush=True)

    def is_canceled(self) -> bool:
        return False


def cmd_compose(args: argparse.Namespace) -> int:
    from gateway.clients import InProcessStageClients
    from gateway.pipeline import JobInput, Pipeline
    from gateway.uploads import IMAGE_SUFFIX, check_midi
    from imagewave.artifacts import DirectoryArtifactStore
    from imagewave.images import check_image_header

    out_dir = Path(args.output)
    store = DirectoryArtifactStore(out_dir)
    image_bytes = Path(args.image).read_bytes()
    image_name = f"input/image.{IMAGE_SUFFIX[check_image_header(image_bytes)]}"
    store.put_bytes("compose", image_name, image_bytes)
    midi_name = None
    if args.midi:
        midi_bytes = Path(args.midi).read_bytes()
        check_midi(midi_bytes)
        midi_name = "input/arrangement.mid"
        store.put_bytes("compose", midi_name, midi_bytes)
    options = JobOptions(audio_length_in_s=args.seconds, seed=args.seed,
                         engines=EngineChoice(describe=args.describe_engine,
                                              sfx=args.sfx_engine, timbre=args.timbre_engine))
    started = time.monotonic()
    pipeline = Pipeline(store, InProcessStageClients(), TerminalReporter())
    if args.fresh:
        for name in ("scene.json", "sfx", "roles.json", "timbre", "instruments",
                     "arrangement.json", "arrangement.mid", "mix.wav", "mix.flac", "stems"):
            target = out_dir / name
            shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(
                missing_ok=True)
    pipeline(JobInput("compose", options, image_name, midi_name))
    print(f"song: {out_dir / 'mix.wav'}  ({time.monotonic() - started:.1f} s)")
    return 0


# -- services -----------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    from gateway.settings import GatewaySettings
    from imagewave.stack import Stack

    stack = Stack(GatewaySettings(), host=args.host, port=args.port, workers=args.workers)
    try:
        stack.start()
    except BaseException:
        stack.stop()
        raise
    print(f"imagewave is serving on http://{args.host}:{args.port}  (workers: {args.workers})",
          flush=True)
    return stack.wait()


def cmd_submit(args: argparse.Namespace) -> int:
    from imagewave.client import submit_command

    return submit_command(args)


def cmd_keys(args: argparse.Namespace) -> int:
    from gateway.auth import cmd_keys as run_keys

    return run_keys(args)


def cmd_worker(args: argparse.Namespace) -> int:
    from gateway.settings import GatewaySettings
    from gateway.worker import run_worker

    run_worker(GatewaySettings(), burst=args.burst)
    return 0


def cmd_eval_scenes(args: argparse.Namespace) -> int:
    import tempfile

    from imagewave.evaluation import evaluate_audio, evaluate_scenes, format_report

    with tempfile.TemporaryDirectory() as scratch:
        out_dir = Path(args.out_dir or scratch)
        report = evaluate_scenes(Path(args.golden), engine=args.engine, out_dir=out_dir)
        print("\n".join(format_report(report)))
        if args.audio:
            scenes = {p.stem: json.loads(p.read_text()) for p in sorted(out_dir.glob("*.json"))}
            audio = evaluate_audio(scenes, sfx_engine=args.sfx_engine,
                                   timbre_engine=args.timbre_engine, seed=args.seed)
            for row in audio["rows"]:
                print(f"{row['image']:16s} {row['source'][:28]:28s} tonality {row['tonality']:.3f}"
                      f" {'ok ' if row['non_musical'] else 'MUSICAL'}  envelope keyboard "
                      f"{row['envelope_keyboard']:.2f} bass {row['envelope_bass']:.2f} "
                      f"guitar {row['envelope_guitar']:.2f}")
            summary = audio["summary"]
            print(f"sfx {summary['sfx_engine']}: {summary['non_musical_passed']}/"
                  f"{summary['sources']} non-musical (tonality ≤ {summary['tonality_threshold']}),"
                  f" median {summary['tonality_median']:.3f}, max {summary['tonality_max']:.3f};"
                  f" timbre {summary['timbre_engine']}: envelope correlation min keyboard "
                  f"{summary['envelope_keyboard_min']:.2f} bass {summary['envelope_bass_min']:.2f}"
                  f" guitar {summary['envelope_guitar_min']:.2f}")
            report["audio"] = audio
    if args.json:
        print(json.dumps(report))
    return 0


def cmd_eval_mix(args: argparse.Namespace) -> int:
    """Mix measures of finished jobs (a `compose` output dir each): band shares, drums, picture
    match (with two or more jobs), loudness, true peak and loudness range."""
    import numpy as np
    import soundfile as sf

    from imagewave.analysis import mix_measures, own_match_ranks, spectral_profile

    rows, mixes, effects = [], [], []
    for job in map(Path, args.jobs):
        mix, rate = sf.read(job / "mix.wav", dtype="float32")
        drums_path = job / "stems" / "drums.flac"
        drums = sf.read(drums_path, dtype="float32")[0] if drums_path.is_file() else None
        rows.append({"job": str(job), **mix_measures(mix, rate, drums).as_dict()})
        index = json.loads((job / "sfx" / "index.json").read_text())
        sounds = [sf.read(job / e["file"], dtype="float32") for e in index["effects"]]
        joined = np.concatenate([s if s.ndim == 1 else s.mean(axis=1) for s, _ in sounds])
        mixes.append(spectral_profile(mix, rate))
        effects.append(spectral_profile(joined, sounds[0][1]))
    if len(rows) >= 2:
        for row, rank in zip(rows, own_match_ranks(mixes, effects), strict=True):
            row["own_effects_rank"] = rank
    for row in rows:
        print(f"{row['job']}: 60-250 Hz {100 * row['low_60_250']:.1f}%, 2-6 kHz "
              f"{100 * row['presence_2k_6k']:.1f}%, >6 kHz {100 * row['air_6k_up']:.1f}%, "
              f"drums vs mix {row['drums_vs_mix_lu'] or float('nan'):.1f} LU, "
              f"{row['loudness_lufs']:.2f} LUFS, {row['true_peak_dbtp']:.2f} dBTP, "
              f"LRA {row['loudness_range_lu']:.1f} LU"
              + (f", own effects rank {row['own_effects_rank']}/{len(rows)}"
                 if "own_effects_rank" in row else ""))
    if args.json:
        print(json.dumps(rows))
    return 0


# -- parser -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imagewave", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("describe", help="image → scene JSON")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--engine", type=DescribeEngineName, default=DescribeEngineName.lite,
                   choices=list(DescribeEngineName))
    p.add_argument("--out-dir", help="write DIR/<image stem>.json per image")
    p.set_defaults(run=cmd_describe)

    p = commands.add_parser("sfx", help="scene JSON → one sound effect per source")
    p.add_argument("scene", metavar="SCENE.json")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--engine", type=SfxEngineName, default=SfxEngineName.procedural,
                   choices=list(SfxEngineName))
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=cmd_sfx)

    p = commands.add_parser("timbre", help="effect → keyboard / bass / guitar voice")
    p.add_argument("wav", metavar="WAV")
    p.add_argument("--instrument", required=True, choices=[r.value for r in MELODIC_ROLES])
    p.add_argument("-o", "--output", required=True, metavar="OUT.wav")
    p.add_argument("--engine", type=TimbreEngineName, default=TimbreEngineName.dsp,
                   choices=list(TimbreEngineName))
    p.set_defaults(run=cmd_timbre)

    p = commands.add_parser("instruments", help="audio → SFZ (+SF2) instrument in DIR")
    p.add_argument("wav", metavar="WAV")
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument("--root-pitch", type=float, default=None, help="known MIDI pitch of WAV")
    p.add_argument("-o", "--output", required=True, metavar="DIR")
    p.set_defaults(run=cmd_instruments)

    p = commands.add_parser("render", help="MIDI + instruments → mixed wav")
    p.add_argument("midi", metavar="MIDI")
    p.add_argument("--instruments", required=True, metavar="DIR",
                   help="DIR/<role>/<role>.sfz for any subset of roles")
    p.add_argument("-o", "--output", required=True, metavar="OUT.wav")
    p.add_argument("--stems", metavar="DIR", help="also write DIR/<stem>.flac")
    p.set_defaults(run=cmd_render)

    p = commands.add_parser("compose", help="image → song, whole pipeline in one process")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("-o", "--output", required=True, metavar="DIR")
    p.add_argument("--midi", help="play this MIDI instead of a generated arrangement")
    p.add_argument("--seconds", type=float, default=30.0, help="song length")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--describe-engine", type=DescribeEngineName, default=None,
                   choices=list(DescribeEngineName))
    p.add_argument("--sfx-engine", type=SfxEngineName, default=None, choices=list(SfxEngineName))
    p.add_argument("--timbre-engine", type=TimbreEngineName, default=None,
                   choices=list(TimbreEngineName))
    p.add_argument("--resume", dest="fresh", action="store_false",
                   help="keep finished stages in DIR instead of starting over")
    p.set_defaults(run=cmd_compose)

    from imagewave.client import add_submit_arguments

    p = commands.add_parser("submit", help="send IMAGE to a running server, follow its progress, "
                                           "download the song")
    add_submit_arguments(p)
    p.set_defaults(run=cmd_submit)

    p = commands.add_parser("serve", help="gateway + services + RQ workers on this machine")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=2, help="RQ workers to start (0 allowed)")
    p.set_defaults(run=cmd_serve)

    p = commands.add_parser("keys", help="API keys of the gateway (stored hashed in its Redis)")
    p.add_argument("action", choices=["create", "list", "revoke"])
    p.add_argument("name", nargs="?", help="create: a label for the key; revoke: the key's id")
    p.set_defaults(run=cmd_keys)

    p = commands.add_parser("worker", help="one RQ worker against REDIS_URL")
    p.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    p.set_defaults(run=cmd_worker)

    p = commands.add_parser("eval", help="evaluate engines on a golden set")
    evals = p.add_subparsers(dest="what", required=True)
    e = evals.add_parser("scenes", help="score describe against GOLDEN.json")
    e.add_argument("golden", metavar="GOLDEN.json")
    e.add_argument("--engine", type=DescribeEngineName, default=DescribeEngineName.lite,
                   choices=list(DescribeEngineName))
    e.add_argument("--out-dir", help="keep the predicted scene documents here")
    e.add_argument("--json", action="store_true", help="also print the report as JSON")
    e.add_argument("--audio", action="store_true",
                   help="also make each source's effect and voices: tonality, envelope kept")
    e.add_argument("--sfx-engine", type=SfxEngineName, default=None, choices=list(SfxEngineName))
    e.add_argument("--timbre-engine", type=TimbreEngineName, default=None,
                   choices=list(TimbreEngineName))
    e.add_argument("--seed", type=int, default=0)
    e.set_defaults(run=cmd_eval_scenes)
    e = evals.add_parser("mix", help="measure finished songs (compose output dirs)")
    e.add_argument("jobs", nargs="+", metavar="DIR")
    e.add_argument("--json", action="store_true", help="also print the measures as JSON")
    e.set_defaults(run=cmd_eval_mix)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args)
    except ImagewaveError as exc:
        print(f"imagewave: error: {exc.message}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"imagewave: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
