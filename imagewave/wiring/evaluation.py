"""Scene evaluation: run a describe engine over a golden set and score it.

The scoring is the one of the shared `score_scenes.py` (kept in step by a test that runs both
on the same predictions): a predicted source matches a golden concept when its name, material
or a play method contains one of the concept's words (whole word; plural, -ing and -ed forms
allowed).

    recall        = golden concepts matched / golden concepts
    precision     = predicted sources matching some concept / predicted sources
    hallucination = unmatched sources naming an absent word / predicted sources

A missing or unreadable prediction scores 0 recall, 0 precision and 1 hallucination. Next to
those, each row says how the coarse mood compares with the golden label (not part of the
shared score).
"""

from __future__ import annotations

import json
import re
import time
from functools import cache
from pathlib import Path
from typing import Any

from imagewave.audio import SAMPLE_RATE
from imagewave.contracts.engines import DescribeEngineName
from imagewave.errors import InvalidInput

SCORE_KEYS = ("recall", "precision", "hallucination")


@cache
def _term_pattern(term: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in term.lower().split()]
    return re.compile(r"\b" + r"\s+".join(words) + r"(?:s|es|ing|ed)?\b")


def _source_text(source: dict[str, Any]) -> str:
    parts = [str(source.get("name", "")), str(source.get("material", ""))]
    for variant in source.get("variants") or []:
        if isinstance(variant, dict):
            parts.append(str(variant.get("play_method", "")))
    return " ".join(parts).lower()


def score_scene(golden: dict[str, Any], prediction: dict[str, Any] | None) -> dict[str, float]:
    """Recall, precision and hallucination of one predicted scene (a JSON dict) for one item."""
    if not isinstance(prediction, dict) or not isinstance(prediction.get("sound_sources"), list):
        return {"recall": 0.0, "precision": 0.0, "hallucination": 1.0, "sources": 0}
    concepts = [[_term_pattern(term) for term in concept["accept"]]
                for concept in golden["sources"]]
    absent = [_term_pattern(term) for term in golden.get("absent", [])]
    texts = [_source_text(s) for s in prediction["sound_sources"] if isinstance(s, dict)]
    matched_concepts: set[int] = set()
    matched_sources = hallucinated = 0
    for text in texts:
        hits = {i for i, patterns in enumerate(concepts) if any(p.search(text) for p in patterns)}
        matched_concepts |= hits
        if hits:
            matched_sources += 1
        elif any(p.search(text) for p in absent):
            hallucinated += 1
    n_sources = len(texts)
    return {
        "recall": len(matched_concepts) / len(concepts),
        "precision": matched_sources / n_sources if n_sources else 0.0,
        "hallucination": hallucinated / n_sources if n_sources else 1.0,
        "sources": n_sources,
    }


def _mood_agreement(golden_mood: dict[str, str] | None,
                    mood: dict[str, float] | None) -> float | None:
    """1 when both coarse labels agree, 0.5 for one, 0 for none; None when either is missing."""
    if not golden_mood or not mood:
        return None
    valence = mood.get("valence", 0.0)
    arousal = mood.get("arousal", 0.0)
    valence_label = "positive" if valence > 0.2 else "negative" if valence < -0.2 else "neutral"
    arousal_label = "energetic" if arousal > 0.35 else "calm" if arousal < -0.1 else "moderate"
    return ((valence_label == golden_mood.get("valence"))
            + (arousal_label == golden_mood.get("arousal"))) / 2


def load_golden(golden_path: Path) -> dict[str, Any]:
    try:
        golden = json.loads(Path(golden_path).read_text())
    except OSError as exc:
        raise InvalidInput(f"golden file {golden_path} cannot be read: {exc}",
                           field="golden_path") from exc
    except ValueError as exc:
        raise InvalidInput(f"golden file {golden_path} is not JSON: {exc}",
                           field="golden_path") from exc
    if not isinstance(golden, dict) or not isinstance(golden.get("images"), list):
        raise InvalidInput(f"golden file {golden_path} has no 'images' list", field="golden_path")
    return golden


def summarize(rows: list[dict[str, Any]]) -> dict[str, float]:
    if not rows:
        return dict.fromkeys(SCORE_KEYS, 0.0)
    return {key: sum(row[key] for row in rows) / len(rows) for key in SCORE_KEYS}


def evaluate_scenes(golden_path: Path, *, engine: DescribeEngineName = DescribeEngineName.lite,
                    out_dir: Path | None = None) -> dict[str, Any]:
    """Describe every golden image with `engine`, write `<stem>.json` predictions to `out_dir`
    (when given) and score them.

    Returns {"engine", "golden", "images": [{image, recall, precision, hallucination, sources,
    describe_ms, mood_agreement}], "mean": {recall, precision, hallucination}}.
    """
    # Imported here: the vlm service depends on the core package, not the other way round.
    from imagewave.images import open_image
    from services.vlm.engines import build_registry
    from services.vlm.settings import VlmSettings

    # 1. Check inputs
    golden_path = Path(golden_path)
    golden = load_golden(golden_path)
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)

    # 2. Load the engine once
    settings = VlmSettings(default_engine=engine, engines=[engine])
    describer = build_registry(settings).get(engine)

    # 3. Describe and score each image
    rows = []
    for item in golden["images"]:
        image_path = golden_path.parent / item["image"]
        stem = Path(item["image"]).stem
        prediction: dict[str, Any] | None = None
        describe_ms = None
        try:
            image = open_image(image_path.read_bytes(), max_pixels=settings.max_image_pixels)
        except (OSError, InvalidInput):
            image = None  # scored as a missing prediction, like the shared scorer does
        if image is not None:
            started = time.perf_counter()
            scene = describer.describe(image)
            describe_ms = (time.perf_counter() - started) * 1000.0
            prediction = scene.model_dump(mode="json", exclude_none=True)
            if out_dir is not None:
                (out_dir / f"{stem}.json").write_text(json.dumps(prediction, indent=2) + "\n")
        row: dict[str, Any] = {"image": stem, **score_scene(item, prediction)}
        row["describe_ms"] = None if describe_ms is None else round(describe_ms, 1)
        row["mood_agreement"] = _mood_agreement(item.get("mood"),
                                                (prediction or {}).get("mood"))
        rows.append(row)

    return {"engine": engine.value, "golden": str(golden_path), "images": rows,
            "mean": summarize(rows)}


def format_report(result: dict[str, Any]) -> list[str]:
    """Lines for the command line: one per image, then the means (the shared script's layout)."""
    lines = [f"{row['image']:20s} recall {row['recall']:.2f}  precision {row['precision']:.2f}  "
             f"hallucination {row['hallucination']:.2f}  sources {row['sources']}"
             for row in result["images"]]
    mean = result["mean"]
    lines.append(f"mean recall {mean['recall']:.3f} precision {mean['precision']:.3f} "
                 f"hallucination {mean['hallucination']:.3f} over {len(result['images'])} images")
    return lines


def evaluate_audio(scenes: dict[str, Any], *, sfx_engine=None, timbre_engine=None,
                   audio_length_in_s: float = 4.0, seed: int = 0,
                   sample_rate: int = SAMPLE_RATE) -> dict[str, Any]:
    """Make every source's effect and its three instrument voices; measure what issue C asks.

    `scenes` maps an image stem to its scene (a `Scene` or its JSON dict). Per source: the
    effect's tonality and whether it passes the non-musical check; per voice: the envelope
    correlation between effect and voice. Returns rows and per-engine summaries.
    """
    import statistics

    from imagewave.analysis import (
        NON_MUSICAL_TONALITY_MAX,
        timbre_envelope_correlation,
        tonality,
    )
    from imagewave.contracts.audio import AudioPayload
    from imagewave.contracts.scene import MELODIC_ROLES, Scene
    from imagewave.contracts.stages import SfxRequest, TimbreRequest
    from services.t2a.serving import T2aServing
    from services.t2a.settings import T2aSettings
    from services.timbre.serving import TimbreServing
    from services.timbre.settings import TimbreSettings

    # 1. Load the engines once
    t2a = T2aServing(T2aSettings(**({"default_engine": sfx_engine, "engines": [sfx_engine]}
                                    if sfx_engine else {})))
    timbre = TimbreServing(TimbreSettings(**({"default_engine": timbre_engine,
                                              "engines": [timbre_engine]}
                                             if timbre_engine else {})))
    # 2. Effects and voices per source
    rows: list[dict[str, Any]] = []
    sfx_name = timbre_name = ""
    for stem, scene in scenes.items():
        scene = scene if isinstance(scene, Scene) else Scene.model_validate(scene)
        effects = t2a.generate(SfxRequest(scene=scene, audio_length_in_s=audio_length_in_s,
                                          sample_rate=sample_rate, seed=seed))
        sfx_name = effects.engine.value
        for effect in effects.effects:
            samples = effect.audio.to_array()
            score = tonality(samples, sample_rate)
            row: dict[str, Any] = {"image": stem, "source": effect.name,
                                   "tonality": round(score, 3),
                                   "non_musical": score <= NON_MUSICAL_TONALITY_MAX}
            for role in MELODIC_ROLES:
                voice = timbre.transfer(TimbreRequest(audio=AudioPayload.from_array(
                    samples, sample_rate), instrument=role))
                timbre_name = voice.engine.value
                row[f"envelope_{role.value}"] = round(timbre_envelope_correlation(
                    samples, sample_rate, voice.audio.to_array(), voice.audio.sample_rate), 3)
            rows.append(row)
    # 3. Summaries per engine
    tonalities = [r["tonality"] for r in rows]
    summary: dict[str, Any] = {
        "sfx_engine": sfx_name, "timbre_engine": timbre_name, "sources": len(rows),
        "tonality_median": statistics.median(tonalities) if rows else None,
        "tonality_max": max(tonalities) if rows else None,
        "non_musical_passed": sum(r["non_musical"] for r in rows),
        "tonality_threshold": NON_MUSICAL_TONALITY_MAX,
    }
    for role in MELODIC_ROLES:
        values = [r[f"envelope_{role.value}"] for r in rows]
        summary[f"envelope_{role.value}_min"] = min(values) if values else None
        summary[f"envelope_{role.value}_median"] = statistics.median(values) if values else None
    return {"rows": rows, "summary": summary}
