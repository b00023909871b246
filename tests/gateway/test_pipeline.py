"""The pipeline in-process (what `imagewave compose` runs): every artifact, resume, failures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from gateway.clients import ServiceUnavailable
from gateway.pipeline import JobInput, Pipeline, StageError
from imagewave.artifacts import DirectoryArtifactStore
from imagewave.contracts.jobs import JobOptions, StageName, StageStatus
from imagewave.wiring.in_process import InProcessStageClients


class RecordingReporter:
    def __init__(self) -> None:
        self.events: list[tuple[StageName, StageStatus, float]] = []

    def stage(self, stage: StageName, status: StageStatus, progress: float) -> None:
        self.events.append((stage, status, progress))

    def final(self) -> dict[StageName, StageStatus]:
        return {stage: status for stage, status, _ in self.events}

    def is_canceled(self) -> bool:
        return False


@pytest.fixture(scope="module")
def clients() -> InProcessStageClients:
    return InProcessStageClients()


def run(store, clients, image: Path, **options) -> RecordingReporter:
    store.put_bytes("job", "input/image.jpg", image.read_bytes())
    reporter = RecordingReporter()
    job = JobInput("job", JobOptions(audio_length_in_s=10, sfx_length_in_s=2, **options),
                   "input/image.jpg")
    Pipeline(store, clients, reporter)(job)
    return reporter


def test_image_to_song_writes_every_artifact(tmp_path, clients, example_image):
    store = DirectoryArtifactStore(tmp_path)
    reporter = run(store, clients, example_image)

    assert set(reporter.final().values()) == {StageStatus.succeeded}
    names = {a.name for a in store.list("job")}
    assert {"scene.json", "sfx/index.json", "roles.json", "timbre/index.json",
            "instruments/index.json", "arrangement.mid", "arrangement.json", "mix.wav",
            "mix.flac"} <= names
    scene = json.loads((tmp_path / "scene.json").read_text())
    assert len([n for n in names if n.startswith("sfx/") and n.endswith(".wav")]) == len(
        scene["sound_sources"])
    for role in ("keyboard", "bass", "guitar", "drums"):
        assert (tmp_path / "instruments" / role / f"{role}.sfz").is_file()
        for sample in (tmp_path / "instruments" / role / "samples").glob("*.wav"):
            data, _ = sf.read(sample)
            assert np.isfinite(data).all() and np.abs(data).max() > 0, sample
    roles = json.loads((tmp_path / "roles.json").read_text())
    assert {c["role"] for c in roles["choices"]} == {"keyboard", "bass", "guitar", "drums"}
    mix, rate = sf.read(tmp_path / "mix.wav")
    assert rate == 48_000 and len(mix) / rate >= 10
    assert np.isfinite(mix).all() and 0.01 < np.abs(mix).max() <= 1.0


def test_a_rerun_skips_finished_stages(tmp_path, clients, example_image):
    store = DirectoryArtifactStore(tmp_path)
    run(store, clients, example_image)
    (tmp_path / "mix.wav").unlink()

    reporter = run(store, clients, example_image)

    final = reporter.final()
    assert final[StageName.render] is StageStatus.succeeded
    assert all(final[s] is StageStatus.skipped for s in StageName if s is not StageName.render)
    assert (tmp_path / "mix.wav").is_file()


class TimbreDown(InProcessStageClients):
    def timbre(self, request):
        raise ServiceUnavailable("timbre service unreachable")


def test_a_failing_stage_is_named_and_earlier_work_is_kept(tmp_path, example_image):
    store = DirectoryArtifactStore(tmp_path)
    with pytest.raises(StageError) as error:
        run(store, TimbreDown(), example_image)
    assert error.value.stage is StageName.timbre
    assert "timbre" in error.value.message and not error.value.is_input_error
    assert (tmp_path / "roles.json").is_file() and not (tmp_path / "timbre/index.json").exists()


def test_only_causes_that_may_pass_on_a_second_try_are_worth_a_job_retry() -> None:
    from gateway.clients import ServiceFailed, ServiceRejected, ServiceUnavailable
    from gateway.pipeline import StageError
    from imagewave.contracts.jobs import StageName

    def verdict(cause: Exception) -> bool:
        return StageError(StageName.describe, cause).worth_retrying

    assert verdict(ServiceUnavailable("vlm service unreachable"))
    assert verdict(RuntimeError("a worker-side bug may be transient"))
    assert not verdict(ServiceFailed("invalid model reply"))  # same input, same reply
    assert not verdict(ServiceRejected("bad image", field="image"))


def test_cues_come_from_the_arrangement_summary_when_it_has_them():
    from types import SimpleNamespace

    from gateway.pipeline import arrangement_cues

    summary = SimpleNamespace(sections=[
        {"start_s": 0.0, "phrase_end_s": [8.0, 16.0]},
        SimpleNamespace(start_s=16.0, phrase_end_s=[24.0, 30.5]), {"start_s": 32.0}])
    assert arrangement_cues(summary) == [8.0, 16.0, 24.0, 30.5, 32.0]
    assert arrangement_cues(SimpleNamespace()) == []  # an older summary: bar lines instead
    assert arrangement_cues(None) == []  # an uploaded MIDI
