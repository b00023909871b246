"""imagewave.client against a real stack: submit, wait with progress, download; sync and async;
and the `imagewave submit` command."""

from __future__ import annotations

import argparse
import asyncio
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from imagewave.client import (
    ApiError,
    AsyncClient,
    Client,
    JobEvent,
    add_submit_arguments,
    submit_command,
)
from imagewave.contracts.jobs import JobStatus, StageName
from tests.web.conftest import FAST_OPTIONS, Served

pytestmark = pytest.mark.slow


def test_the_sync_client_round_trips_a_job(served: Served, photo: Path, tmp_path: Path):
    events: list[JobEvent] = []
    with Client(served.url) as client:
        job = client.submit(photo, options=FAST_OPTIONS)
        assert job.status is JobStatus.queued
        done = client.wait(job.id, on_event=events.append, timeout_s=120)

        assert done.status is JobStatus.succeeded
        assert events[-1].is_final and events[-1].status == "succeeded"
        assert {e.stage for e in events if e.stage} == {s.value for s in StageName}

        mix_path = client.download(job.id, "mix.wav", tmp_path / "song.wav")
        mix, rate = sf.read(mix_path)
        assert len(mix) / rate >= FAST_OPTIONS["audio_length_in_s"]
        assert 0.01 < np.abs(mix).max() <= 1.0

        bundle_path = client.download_bundle(job.id, tmp_path / "song.zip")
        names = set(zipfile.ZipFile(bundle_path).namelist())
        folder = f"imagewave-{job.id[:8]}"
        for expected in ("mix.wav", "mix.flac", "arrangement.mid", "scene.json", "roles.json",
                         "stems/drums.flac", "instruments/bass/bass.sfz",
                         "instruments/bass/bass.sf2", "instruments/drums/preview.wav"):
            assert f"{folder}/{expected}" in names, expected
        assert not any(n.startswith(f"{folder}/input/") for n in names)

        # Each instrument's preview is a few seconds of real sound.
        for role in ("keyboard", "bass", "guitar", "drums"):
            with zipfile.ZipFile(bundle_path) as bundle:
                preview, rate = sf.read(io.BytesIO(
                    bundle.read(f"{folder}/instruments/{role}/preview.wav")))
            assert 2 < len(preview) / rate < 10 and np.abs(preview).max() > 0.05, role


def test_the_client_raises_the_gateways_error(served: Served, tmp_path: Path):
    with Client(served.url) as client, pytest.raises(ApiError) as caught:
        client.submit(b"GIF89a-but-not-really")
    assert caught.value.status_code == 422 and caught.value.field == "image"
    with Client(served.url) as client, pytest.raises(ApiError) as caught:
        client.download_bundle("no-such-job-000", tmp_path / "x.zip")
    assert caught.value.status_code == 404


def test_the_async_client_round_trips_a_job(served: Served, photo: Path, tmp_path: Path):
    async def scenario() -> tuple[JobStatus, int, Path]:
        seen: list[JobEvent] = []
        async with AsyncClient(served.url) as client:
            job = await client.submit(photo.read_bytes(), options=FAST_OPTIONS | {"seed": 5})
            done = await client.wait(job.id, on_event=seen.append, timeout_s=120)
            path = await client.download(job.id, "scene.json", tmp_path / "scene.json")
        return done.status, len(seen), path

    status, event_count, scene_path = asyncio.run(scenario())
    assert status is JobStatus.succeeded and event_count >= 2 * len(StageName)
    assert "sound_sources" in scene_path.read_text()


def test_the_submit_command_downloads_the_song(served: Served, photo: Path, tmp_path: Path,
                                               capsys):
    parser = argparse.ArgumentParser(prog="imagewave submit")
    add_submit_arguments(parser)
    args = parser.parse_args([str(photo), "--server", served.url, "--seconds", "5",
                              "--sfx-seconds", "1", "--seed", "1", "-o", str(tmp_path)])
    assert submit_command(args) == 0
    out, err = capsys.readouterr()
    song = Path(out.strip())
    assert song.parent == tmp_path and song.suffix == ".wav"
    assert sf.info(song).duration >= 5
    assert "render: succeeded" in err and "job succeeded" in err

    bad = tmp_path / "not-a-picture.jpg"
    bad.write_bytes(b"GIF89a-but-not-really")
    assert submit_command(parser.parse_args([str(bad), "--server", served.url])) == 2
    assert "error: IMAGE:" in capsys.readouterr().err  # the option at fault, as typed
