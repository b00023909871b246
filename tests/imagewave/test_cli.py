"""The `imagewave` command as a user runs it: real processes, real files."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from imagewave.contracts.scene import Scene
from tests.conftest import SEED_EXAMPLES, make_photo

pytestmark = pytest.mark.slow  # every test runs the command as a process


def imagewave(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imagewave.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_describe_prints_one_scene_as_json_and_writes_one_file_per_image(tmp_path, photo):
    result = imagewave("describe", str(photo))
    assert result.returncode == 0, result.stderr
    scene = Scene.model_validate_json(result.stdout)  # stdout holds the JSON and nothing else
    assert scene.sound_sources

    second = make_photo(tmp_path / "second.png", seed=3)
    result = imagewave("describe", str(photo), str(second), "--out-dir", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    for stem in ("photo", "second"):
        document = json.loads((tmp_path / "out" / f"{stem}.json").read_text())
        assert {"scene_description", "mood_description", "sound_sources"} <= set(document)


def test_describe_refuses_a_non_image_with_a_clear_message(tmp_path):
    bogus = tmp_path / "notes.jpg"
    bogus.write_text("shopping list")
    result = imagewave("describe", str(bogus))
    assert result.returncode == 2 and "image" in result.stderr and not result.stdout


def test_the_seed_reports_scene_documents_validate():
    for path in sorted(SEED_EXAMPLES.glob("*.json")):
        assert Scene.model_validate_json(path.read_text()).sound_sources, path


def test_stage_commands_chain_from_scene_to_song(tmp_path):
    scene = tmp_path / "scene.json"
    scene.write_text(json.dumps({
        "scene_description": "a workshop", "mood_description": "busy, bright",
        "sound_sources": [{"name": "hammer", "material": "steel on wood",
                           "variants": [{"play_method": "striking a plank", "timbre": ["sharp"],
                                         "mapping_to_music_instrument": "drums"}]}]}))
    result = imagewave("sfx", str(scene), "--out-dir", str(tmp_path / "sfx"), "--seconds", "2")
    assert result.returncode == 0, result.stderr
    effect = next((tmp_path / "sfx").glob("*.wav"))

    result = imagewave("timbre", str(effect), "--instrument", "bass", "-o",
                       str(tmp_path / "bass.wav"))
    assert result.returncode == 0, result.stderr
    for role, source in (("bass", tmp_path / "bass.wav"), ("drums", effect)):
        result = imagewave("instruments", str(source), "--role", role, "-o",
                           str(tmp_path / "instruments" / role))
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "instruments" / role / f"{role}.sfz").is_file()

    midi = pretty_midi.PrettyMIDI()
    bass = pretty_midi.Instrument(program=33)
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    for beat in range(8):
        bass.notes.append(pretty_midi.Note(90, 40 + beat % 3, beat * 0.5, beat * 0.5 + 0.4))
        drums.notes.append(pretty_midi.Note(100, 36 if beat % 2 == 0 else 38, beat * 0.5,
                                            beat * 0.5 + 0.1))
    midi.instruments += [bass, drums]
    midi.write(str(tmp_path / "song.mid"))
    result = imagewave("render", str(tmp_path / "song.mid"), "--instruments",
                       str(tmp_path / "instruments"), "-o", str(tmp_path / "song.wav"))
    assert result.returncode == 0, result.stderr
    song, rate = sf.read(tmp_path / "song.wav")
    assert rate == 48_000 and len(song) / rate >= 4.0 and np.abs(song).max() > 0.01

    # The song's stems, then `eval mix` on it as a job (mix, stems, the effect it came from).
    job = tmp_path / "job"
    result = imagewave("render", str(tmp_path / "song.mid"), "--instruments",
                       str(tmp_path / "instruments"), "-o", str(job / "mix.wav"),
                       "--stems", str(job / "stems"))
    assert result.returncode == 0, result.stderr
    assert {p.name for p in (job / "stems").glob("*.flac")} == {"bass.flac", "drums.flac"}
    (job / "sfx").mkdir()
    (job / "sfx" / effect.name).write_bytes(effect.read_bytes())
    (job / "sfx" / "index.json").write_text(json.dumps(
        {"effects": [{"source_index": 0, "name": "hammer", "file": f"sfx/{effect.name}"}]}))
    result = imagewave("eval", "mix", str(job), "--json")
    assert result.returncode == 0, result.stderr
    measures = json.loads(result.stdout.strip().splitlines()[-1])[0]
    assert abs(measures["loudness_lufs"] - -14.0) < 1.0 and measures["true_peak_dbtp"] <= -1.0
    assert 0 < measures["low_60_250"] < 1 and abs(measures["drums_vs_mix_lu"]) < 12

def test_eval_music_measures_a_midi_and_names_a_bad_path(tmp_path):
    from imagewave.contracts.scene import Mood
    from services.render.arrangement.composer import generate_arrangement

    scene = Scene(scene_description="a square", mood_description="festive",
                  sound_sources=[{"name": "bells", "variants": [{"play_method": "ringing"}]}],
                  mood=Mood(valence=0.7, arousal=0.5))
    midi, _ = generate_arrangement(scene, length_s=40, seed=0)
    midi.write(str(tmp_path / "song.mid"))
    loop = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano = pretty_midi.Instrument(program=0)
    piano.notes += [pretty_midi.Note(80, 60 + 4 * (i % 2), i * 0.5, i * 0.5 + 0.5)
                    for i in range(64)]
    loop.instruments.append(piano)
    loop.write(str(tmp_path / "loop.mid"))
    result = imagewave("eval", "music", str(tmp_path / "song.mid"), str(tmp_path / "loop.mid"),
                       "--json")
    assert result.returncode == 0, result.stderr
    song, looped = json.loads(result.stdout)
    assert song["distinct_harmony_bars"] > looped["distinct_harmony_bars"]
    assert song["velocity_std"] > looped["velocity_std"] == 0
    assert song["melody_rest_bar_ratio"] > looped["melody_rest_bar_ratio"] == 0

    result = imagewave("eval", "music", str(tmp_path / "nowhere"))
    assert result.returncode == 2 and "no MIDI file" in result.stderr


def test_compose_with_a_scene_skips_describe_and_uses_its_sources(tmp_path, photo):
    scene = tmp_path / "my-scene.json"
    scene.write_text(json.dumps({
        "scene_description": "a harbour", "mood_description": "calm",
        "sound_sources": [
            {"name": "rigging", "material": "ropes on masts",
             "variants": [{"play_method": "ropes slapping the mast", "timbre": ["knocking"],
                           "mapping_to_music_instrument": "drums"}]},
            {"name": "foghorn", "material": "a horn",
             "variants": [{"play_method": "a long low horn", "timbre": ["deep"],
                           "mapping_to_music_instrument": "bass"}]}]}))
    out = tmp_path / "song"
    result = imagewave("compose", str(photo), "--scene", str(scene), "-o", str(out),
                       "--seconds", "6")
    assert result.returncode == 0, result.stderr
    assert "describe: skipped" in result.stderr
    written = json.loads((out / "scene.json").read_text())
    assert [s["name"] for s in written["sound_sources"]] == ["rigging", "foghorn"]
    assert sorted(p.name for p in (out / "sfx").glob("*.wav")) == [
        "00_rigging.wav", "01_foghorn.wav"]
    assert (out / "mix.wav").is_file()

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"scene_description": "x", "mood_description": "y",
                               "sound_sources": "waves"}))
    result = imagewave("compose", str(photo), "--scene", str(bad), "-o", str(tmp_path / "no"))
    assert result.returncode != 0 and "scene.sound_sources" in result.stderr
