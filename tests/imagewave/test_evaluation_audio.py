"""The audio half of `imagewave eval`: tonality per source and envelope kept per voice."""

from imagewave.contracts.scene import Scene, SoundSource, SoundVariant
from imagewave.wiring.evaluation import evaluate_audio


def test_reports_tonality_per_source_and_envelopes_per_voice():
    scene = Scene(scene_description="a harbour", mood_description="calm", sound_sources=[
        SoundSource(name="waves", material="sea water",
                    variants=[SoundVariant(play_method="waves breaking on rocks")]),
        SoundSource(name="bell", material="bronze", variants=[SoundVariant(play_method="struck")]),
    ])
    report = evaluate_audio({"harbour": scene}, audio_length_in_s=2.0, sample_rate=22_050)

    assert [r["source"] for r in report["rows"]] == ["waves", "bell"]
    summary = report["summary"]
    assert summary["sfx_engine"] == "procedural" and summary["timbre_engine"] == "dsp"
    assert summary["non_musical_passed"] == 2
    for row in report["rows"]:
        assert 0.0 <= row["tonality"] <= summary["tonality_threshold"]
        for role in ("keyboard", "bass", "guitar"):
            assert row[f"envelope_{role}"] >= 0.8
