"""`imagewave compose`: the whole pipeline in one process, with the in-process clients."""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import soundfile as sf

from imagewave.cli.arguments import (
    add_effect_engine_options,
    engine_names,
    field_range,
    one_line,
)
from imagewave.contracts import layout
from imagewave.contracts.engines import DescribeEngineName
from imagewave.contracts.jobs import EngineChoice, JobOptions, StageName, StageStatus
from imagewave.contracts.music import Style
from imagewave.errors import InvalidInput


class TerminalReporter:
    """Progress bars per stage on a terminal; plain log lines otherwise."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream = stream
        from imagewave.client import progress_bars_fit

        self.tty = progress_bars_fit(stream)
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
    from gateway.pipeline import JobInput, Pipeline
    from gateway.uploads import IMAGE_SUFFIX, check_midi, parse_scene
    from imagewave.artifacts import DirectoryArtifactStore
    from imagewave.images import check_image_header
    from imagewave.wiring.in_process import InProcessStageClients

    options = job_options(args)  # before anything is written: a bad value leaves no DIR
    scene = parse_scene(Path(args.scene).read_text()) if args.scene else None
    out_dir = Path(args.output)
    store = DirectoryArtifactStore(out_dir)
    image_bytes = Path(args.image).read_bytes()
    image_name = layout.input_image(IMAGE_SUFFIX[check_image_header(image_bytes)])
    store.put_bytes("compose", image_name, image_bytes)
    midi_name = None
    if args.midi:
        midi_bytes = Path(args.midi).read_bytes()
        check_midi(midi_bytes)
        midi_name = layout.INPUT_MIDI
        store.put_bytes("compose", midi_name, midi_bytes)
    started = time.monotonic()
    pipeline = Pipeline(store, InProcessStageClients(), TerminalReporter())
    if args.fresh:
        for name in layout.STAGE_OUTPUTS:
            target = out_dir / name
            shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(
                missing_ok=True)
    if scene is not None:
        # The user's scene is describe's output: the stage is skipped, the rest use it.
        store.put_bytes("compose", layout.SCENE,
                        scene.model_dump_json(indent=2, exclude_none=True).encode())
    pipeline(JobInput("compose", options, image_name, midi_name))
    elapsed_s = time.monotonic() - started
    song_s = sf.info(str(out_dir / layout.MIX_WAV)).duration
    print(f"song: {out_dir / layout.MIX_WAV}  (length {song_s:.1f} s, made in {elapsed_s:.1f} s)")
    return 0


# JobOptions fields → the `compose` options that set them, for one-line errors.
COMPOSE_FLAGS = {"audio_length_in_s": "--seconds", "seed": "--seed", "style": "--style",
                 "engines.describe": "--describe-engine", "engines.sfx": "--sfx-engine",
                 "engines.timbre": "--timbre-engine"}


def job_options(args: argparse.Namespace) -> JobOptions:
    """The job's options from the command line; a bad value is a one-line error naming the
    option (exit 2), checked before any stage runs."""
    from pydantic import ValidationError

    try:
        return JobOptions(audio_length_in_s=args.seconds, seed=args.seed, style=args.style,
                          engines=EngineChoice(describe=args.describe_engine,
                                               sfx=args.sfx_engine, timbre=args.timbre_engine))
    except ValidationError as exc:
        raise UsageError(one_line(exc, COMPOSE_FLAGS)) from None


class UsageError(InvalidInput):
    """A command-line value the job would refuse."""


def add_commands(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("compose", help="image → song, whole pipeline in one process")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("-o", "--output", required=True, metavar="DIR")
    p.add_argument("--midi", help="play this MIDI instead of a generated arrangement")
    p.add_argument("--scene", metavar="SCENE.json",
                   help="use this scene (the format of scene.json) instead of describing IMAGE")
    defaults = JobOptions()
    p.add_argument("--seconds", type=float, default=defaults.audio_length_in_s,
                   help=f"song length in seconds ({field_range(JobOptions, 'audio_length_in_s')})")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--style", default=None, choices=[style.value for style in Style],
                   help="song style (default: chosen from the picture)")
    p.add_argument("--describe-engine", type=DescribeEngineName, default=None,
                   choices=engine_names(DescribeEngineName),
                   help="default: the one the settings name (embedded: lite)")
    add_effect_engine_options(
        p, sfx_default="the one the settings name (embedded: procedural)",
        timbre_default="the one the settings name (embedded: dsp)")
    p.add_argument("--resume", dest="fresh", action="store_false",
                   help="keep finished stages in DIR instead of starting over")
    p.set_defaults(run=cmd_compose)

