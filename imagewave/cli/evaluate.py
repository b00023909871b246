"""`imagewave eval`: score engines on a golden set; measure songs as music and as mixes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from imagewave.cli.arguments import add_effect_engine_options, engine_names
from imagewave.contracts.engines import DescribeEngineName


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


def cmd_eval_mix(args: argparse.Namespace) -> int:
    """Mix measures of finished jobs (a `compose` output dir each): band shares, drums, picture
    match (with two or more jobs), loudness, true peak and loudness range."""
    import numpy as np
    import soundfile as sf

    from imagewave.analysis import mix_measures, own_match_ranks, spectral_profile
    from imagewave.contracts import layout

    rows, mixes, effects = [], [], []
    for job in map(Path, args.jobs):
        mix, rate = sf.read(job / layout.MIX_WAV, dtype="float32")
        drums_path = job / "stems" / "drums.flac"
        drums = sf.read(drums_path, dtype="float32")[0] if drums_path.is_file() else None
        rows.append({"job": str(job), **mix_measures(mix, rate, drums).as_dict()})
        index = json.loads((job / layout.SFX_INDEX).read_text())
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
    e.add_argument("--engine", type=DescribeEngineName,
                   default=DescribeEngineName.lite.value,
                   choices=engine_names(DescribeEngineName))
    e.add_argument("--out-dir", help="keep the predicted scene documents here")
    e.add_argument("--json", action="store_true", help="also print the report as JSON")
    e.add_argument("--audio", action="store_true",
                   help="also make each source's effect and voices: tonality, envelope kept")
    add_effect_engine_options(e, sfx_default="the settings' one",
                              timbre_default="the settings' one")
    e.add_argument("--seed", type=int, default=0)
    e.set_defaults(run=cmd_eval_scenes)
    e = evals.add_parser("mix", help="measure finished songs (compose output dirs)")
    e.add_argument("jobs", nargs="+", metavar="DIR")
    e.add_argument("--json", action="store_true", help="also print the measures as JSON")
    e.set_defaults(run=cmd_eval_mix)
    e = evals.add_parser("music", help="music metrics of MIDI files or song folders")
    e.add_argument("paths", nargs="+", metavar="PATH",
                   help="a .mid file, or a folder with arrangement.mid (+ mix.wav, stems/)")
    e.add_argument("--json", action="store_true", help="print the reports as JSON")
    e.set_defaults(run=cmd_eval_music)
