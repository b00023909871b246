"""`imagewave eval`: score engines on a golden set; measure songs as music."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from imagewave.contracts.engines import DescribeEngineName, SfxEngineName, TimbreEngineName


def cmd_eval_scenes(args: argparse.Namespace) -> int:
    import tempfile

    from imagewave.wiring.evaluation import evaluate_audio, evaluate_scenes, format_report

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


def cmd_eval_music(args: argparse.Namespace) -> int:
    from imagewave.music_metrics import evaluate_path, format_music_report

    reports = [evaluate_path(path) for path in args.paths]
    if args.json:
        print(json.dumps(reports))
    else:
        print("\n".join(format_music_report(report) for report in reports))
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
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
    e = evals.add_parser("music", help="music metrics of MIDI files or song folders")
    e.add_argument("paths", nargs="+", metavar="PATH",
                   help="a .mid file, or a folder with arrangement.mid (+ mix.wav, stems/)")
    e.add_argument("--json", action="store_true", help="print the reports as JSON")
    e.set_defaults(run=cmd_eval_music)
