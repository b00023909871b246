"""The lite describe engine on real pictures: grounded, valid, deterministic, and honest."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from imagewave.contracts.engines import DescribeEngineName
from imagewave.contracts.scene import Scene
from imagewave.errors import InvalidImage
from imagewave.wiring.evaluation import evaluate_scenes, format_report, score_scene
from services.vlm.engines import build_registry
from services.vlm.engines.lite import LiteDescribeEngine
from services.vlm.knowledge import load_knowledge
from services.vlm.serving import VlmServing
from services.vlm.settings import VlmSettings
from tests.services.vlm.conftest import SCORER, SEED_EXAMPLES


@pytest.fixture(scope="module")
def dev_result(golden_path: Path, tmp_path_factory) -> dict:
    out_dir = tmp_path_factory.mktemp("predictions")
    return evaluate_scenes(golden_path, engine=DescribeEngineName.lite, out_dir=out_dir) | {
        "out_dir": out_dir}


def _ambience_names() -> set[str]:
    return {a.name for place in load_knowledge().places.values() for a in place.ambience}


def test_dev_set_scores(dev_result):
    # Targets are recall/precision >= 0.85 and hallucination <= 0.02; the test leaves a margin.
    mean = dev_result["mean"]
    assert mean["recall"] >= 0.8, format_report(dev_result)
    assert mean["precision"] >= 0.8, format_report(dev_result)
    assert mean["hallucination"] <= 0.05, format_report(dev_result)
    assert all(row["sources"] >= 1 for row in dev_result["images"])
    assert format_report(dev_result)[-1].startswith("mean recall")


def test_predictions_are_written_and_valid(dev_result, golden_path):
    golden = json.loads(golden_path.read_text())
    for item in golden["images"]:
        path = dev_result["out_dir"] / f"{Path(item['image']).stem}.json"
        scene = Scene.model_validate_json(path.read_text())
        assert scene.mood is not None
        assert all(0.0 <= s.confidence <= 1.0 for s in scene.sound_sources)


def _shared_scorer():
    spec = importlib.util.spec_from_file_location("shared_score_scenes", SCORER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_our_scorer_agrees_with_the_shared_script(dev_result, golden_path):
    shared = _shared_scorer()
    golden = json.loads(golden_path.read_text())
    odd_predictions = [
        None,
        {"sound_sources": []},
        {"sound_sources": "not a list"},
        {"sound_sources": [{"name": "barking dogs", "material": "", "variants": []}]},
        {"sound_sources": [{"name": "Waves", "material": "water",
                            "variants": [{"play_method": "lapping"}, "junk"]}, 7]},
    ]
    for item in golden["images"]:
        stem = Path(item["image"]).stem
        ours_on_disk = json.loads((dev_result["out_dir"] / f"{stem}.json").read_text())
        for prediction in [ours_on_disk, *odd_predictions]:
            assert score_scene(item, prediction) == shared.score_image(item, prediction), stem
    # and the means the CLI prints are the script's means
    rows = [shared.score_image(item, json.loads(
        (dev_result["out_dir"] / f"{Path(item['image']).stem}.json").read_text()))
        for item in golden["images"]]
    for key in ("recall", "precision", "hallucination"):
        assert dev_result["mean"][key] == pytest.approx(sum(r[key] for r in rows) / len(rows))


def test_describe_is_deterministic(lite_engine, golden_path):
    image = Image.open(golden_path.parent / "images" / "cat.jpg").convert("RGB")
    first = lite_engine.describe(image).model_dump()
    assert lite_engine.describe(image.copy()).model_dump() == first


@pytest.mark.parametrize("kind", ["grey", "noise", "black", "white"])
def test_featureless_pictures_get_only_ambience(lite_engine, kind):
    rng = np.random.default_rng(7)
    pixels = {
        "grey": np.full((240, 320, 3), 128, np.uint8),
        "noise": rng.integers(0, 256, (240, 320, 3), dtype=np.uint8),
        "black": np.zeros((240, 320, 3), np.uint8),
        "white": np.full((240, 320, 3), 255, np.uint8),
    }[kind]
    scene = lite_engine.describe(Image.fromarray(pixels))
    names = {s.name for s in scene.sound_sources}
    assert names <= _ambience_names(), names
    animals = {f.name for f in load_knowledge().families if f.kind == "animal"}
    assert not names & animals


def test_a_photo_of_an_animal_names_it_and_nothing_wild(lite_engine, golden_path):
    scene = lite_engine.describe(Image.open(golden_path.parent / "images" / "cat.jpg"))
    names = [s.name for s in scene.sound_sources]
    assert names[0] == "cat"
    assert scene.sound_sources[0].confidence > 0.5
    assert not {"dog", "engine", "sea waves"} & set(names)


def test_a_landscape_always_has_ambience(lite_engine, golden_path):
    scene = lite_engine.describe(Image.open(golden_path.parent / "images" / "misty_lake.jpg"))
    assert {s.name for s in scene.sound_sources} & _ambience_names()
    assert scene.mood.valence < 0.2  # a dim, misty dusk is not a cheerful picture


@pytest.mark.parametrize("size,mode", [((1, 1), "RGB"), ((5, 3), "RGB"), ((4000, 60), "RGB"),
                                       ((60, 4000), "RGB"), ((320, 240), "L"),
                                       ((300, 200), "RGBA"), ((3000, 2000), "RGB")])
def test_any_picture_gives_a_valid_scene(lite_engine, size, mode):
    rng = np.random.default_rng(size[0])
    image = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    image = image.convert(mode)
    scene = lite_engine.describe(image)
    assert Scene.model_validate(scene.model_dump()) == scene
    assert 1 <= len(scene.sound_sources) <= 16


def test_painting_like_picture_gives_a_valid_scene(lite_engine):
    # Broad strokes of colour with no photographic detail, like a small painting.
    rng = np.random.default_rng(3)
    canvas = np.zeros((300, 400, 3), np.uint8)
    for _ in range(60):
        x, y = rng.integers(0, 400), rng.integers(0, 300)
        canvas[y:y + 40, x:x + 90] = rng.integers(0, 256, 3)
    scene = lite_engine.describe(Image.fromarray(canvas))
    assert Scene.model_validate(scene.model_dump()) == scene


def test_higher_floor_never_adds_object_sources(golden_path):
    image = Image.open(golden_path.parent / "images" / "rocket.jpg").convert("RGB")
    base = LiteDescribeEngine.from_settings(VlmSettings())
    strict = LiteDescribeEngine(base.model, base.knowledge, min_source_confidence=0.9)
    loose_objects, _ = base.ground(image)
    strict_objects, _ = strict.ground(image)
    assert len(strict_objects.objects) <= len(loose_objects.objects)
    assert all(c.evidence >= 0.9 for c in strict_objects.objects)


def test_bad_input_is_a_clear_error(lite_engine):
    with pytest.raises(InvalidImage, match="PIL image"):
        lite_engine.describe(np.zeros((4, 4, 3)))


def test_seed_examples_are_valid_scenes():
    paths = sorted(SEED_EXAMPLES.glob("*.json"))
    assert [p.name for p in paths] == ["plaza.json", "veranda.json"]
    for path in paths:
        scene = Scene.model_validate(json.loads(path.read_text()))
        assert scene.sound_sources


def test_the_service_serves_the_lite_engine(golden_path):
    serving = VlmServing(VlmSettings())
    assert isinstance(build_registry(VlmSettings()).get(), LiteDescribeEngine)
    buffer = io.BytesIO()
    Image.open(golden_path.parent / "images" / "coffee.jpg").save(buffer, format="PNG")
    response = serving.describe(buffer.getvalue())
    assert response.engine is DescribeEngineName.lite
    assert any("espresso" in s.name or "cup" in s.material for s in response.scene.sound_sources)
    # The service adds the pixel statistics the composer reads, whatever the engine wrote.
    from imagewave.visual import visual_features

    expected = visual_features(Image.open(golden_path.parent / "images" / "coffee.jpg"))
    assert response.scene.visual == expected


def test_evaluation_reports_a_missing_golden_file_and_a_missing_image(tmp_path, golden_path):
    from imagewave.errors import InvalidInput

    with pytest.raises(InvalidInput, match="cannot be read"):
        evaluate_scenes(tmp_path / "nope.json")
    golden = json.loads(golden_path.read_text())
    item = dict(golden["images"][0], image="images/does-not-exist.jpg")
    (tmp_path / "golden.json").write_text(json.dumps({"images": [item]}))
    result = evaluate_scenes(tmp_path / "golden.json", out_dir=tmp_path / "out")
    # scored like the shared script scores a missing prediction
    assert result["mean"] == {"recall": 0.0, "precision": 0.0, "hallucination": 1.0}
    assert not list((tmp_path / "out").glob("*.json"))


def test_classifier_gives_one_distribution_per_view(lite_engine, golden_path):
    image = Image.open(golden_path.parent / "images" / "dock.jpg").convert("RGB")
    probs = lite_engine.classify_views(image)
    assert probs.shape == (6, 1000)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)
    assert lite_engine.dtype in (torch.bfloat16, torch.float32)


SCENE_SETS = Path(__file__).resolve().parents[2] / "data"


@pytest.mark.parametrize(("golden", "floors"), [
    # The drawn development set the region rules were written on.
    ("scenes_synth/synth.json", {"recall": 0.85, "precision": 0.9, "hallucination": 0.03}),
    # Drawn by different code, never looked at while writing rules: the generalisation check
    # (issue 14's acceptance: recall >= 0.7, precision >= 0.8, hallucination <= 0.03).
    ("scenes_heldout/heldout.json", {"recall": 0.7, "precision": 0.8, "hallucination": 0.03}),
])
def test_drawn_scene_sets(golden, floors):
    report = evaluate_scenes(SCENE_SETS / golden, engine=DescribeEngineName.lite)
    mean = report["mean"]
    assert mean["recall"] >= floors["recall"], format_report(report)
    assert mean["precision"] >= floors["precision"], format_report(report)
    assert mean["hallucination"] <= floors["hallucination"], format_report(report)
