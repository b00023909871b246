"""The artifact store keeps every name inside its job and writes atomically."""

from pathlib import Path

import pytest

from imagewave.artifacts import (
    DirectoryArtifactStore,
    InvalidArtifactName,
    LocalArtifactStore,
    check_artifact_name,
)

JOB = "job_0123456789"


@pytest.mark.parametrize("name", ["../x", "a/../../b", "/etc/passwd", "", "a//b", ".hidden",
                                  "a/./b", "sfx/..", "x\\..\\y", "a b", "~/x"])
def test_unsafe_names_are_refused(name):
    with pytest.raises(InvalidArtifactName):
        check_artifact_name(name)


def test_round_trip_list_and_delete(tmp_path: Path):
    store = LocalArtifactStore(tmp_path)
    store.put_bytes(JOB, "sfx/00_cat.wav", b"RIFF")
    store.put_bytes(JOB, "mix.wav", b"RIFFWAVE")
    assert store.get_bytes(JOB, "mix.wav") == b"RIFFWAVE"
    listed = {a.name: a for a in store.list(JOB)}
    assert set(listed) == {"sfx/00_cat.wav", "mix.wav"}
    assert listed["mix.wav"].bytes == 8 and listed["mix.wav"].media_type == "audio/wav"
    assert not list(tmp_path.rglob(".*.tmp"))  # no temp files left behind
    store.delete_job(JOB)
    assert store.list(JOB) == []


def test_job_ids_are_checked_too(tmp_path: Path):
    store = LocalArtifactStore(tmp_path)
    with pytest.raises(InvalidArtifactName):
        store.put_bytes("../outside", "x.wav", b"")


def test_directory_store_writes_straight_into_its_directory(tmp_path: Path):
    store = DirectoryArtifactStore(tmp_path / "song")
    store.put_bytes("anything", "scene.json", b"{}")
    assert (tmp_path / "song" / "scene.json").read_bytes() == b"{}"
