"""The renderer: a mastered 48 kHz stereo mix that starts at MIDI zero, keeps the MIDI's
timing, lasts through the release tails, with stems per role and role fallbacks."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pyloudnorm
import pytest
import soundfile as sf

from imagewave.contracts.scene import Role, Scene
from imagewave.errors import InvalidInput
from services.render.arrangement.composer import generate_arrangement
from services.render.instruments.sfz import read_sfz
from services.render.playback.sampler import RenderedSong, render_song
from tests.services.render.conftest import pyin_pitch, single_notes_midi
from tests.services.render.playback.test_mastering import reference_true_peak_db

RATE = 48_000


def render(midi, instruments, **kwargs) -> RenderedSong:
    return render_song(midi, instruments, role_overrides=kwargs.pop("role_overrides", {}),
                       sample_rate=RATE, target_lufs=-14.0, true_peak_dbtp=-1.0, **kwargs)


def test_song_is_mastered_stereo_48k_with_stems(instruments, tmp_path):
    scene = Scene(scene_description="a market", mood_description="lively and bright",
                  sound_sources=[{"name": "crowd", "variants": [{"play_method": "chatter"}]}])
    midi, _ = generate_arrangement(scene, length_s=16.0, seed=2)
    song = render(midi, instruments, stems_dir=tmp_path)
    assert song.sample_rate == RATE
    assert song.mix.ndim == 2 and song.mix.shape[1] == 2 and song.mix.dtype == np.float32
    assert np.isfinite(song.mix).all() and np.abs(song.mix).max() < 1.0
    measured = pyloudnorm.Meter(RATE).integrated_loudness(np.asarray(song.mix, np.float64))
    assert abs(measured - -14.0) <= 1.0 and abs(song.loudness_lufs - measured) < 0.2
    assert reference_true_peak_db(np.asarray(song.mix.T)) <= -1.0 + 1e-3
    assert set(song.stems) in ({"keyboard", "guitar", "bass", "drums"},
                               {"keyboard", "bass", "drums"})
    for path in song.stems.values():
        stem, rate = sf.read(path, dtype="float32")
        assert rate == RATE and stem.shape == song.mix.shape and np.abs(stem).max() > 0.01
    # Left and right differ: tracks are placed in the stereo field.
    assert np.abs(song.mix[:, 0] - song.mix[:, 1]).max() > 0.01


def test_starts_at_zero_and_lasts_through_the_release(instruments):
    release_s = read_sfz(instruments[Role.keyboard]).regions[0].ampeg_release
    song = render(single_notes_midi([(60, 0.0, 1.0)]), {Role.keyboard: instruments[Role.keyboard]})
    assert np.abs(song.mix[: int(0.005 * RATE)]).max() > 0.01  # sound within 5 ms of zero
    assert len(song.mix) >= int((1.0 + release_s) * RATE)
    assert np.abs(song.mix[int(1.05 * RATE):int(1.1 * RATE)]).max() > 1e-3  # release rings on


def onset_times(mono: np.ndarray, expected_s: list[float]) -> list[float]:
    """Per expected onset, when the signal first rises 20% of the way from what was already
    sounding (the previous hit's tail, which rings for real now) to the hit's peak."""
    found = []
    for time_s in expected_s:
        start = int((time_s - 0.03) * RATE)
        window = np.abs(mono[start:start + int(0.1 * RATE)])
        already = np.abs(mono[start:start + int(0.015 * RATE)]).max()
        threshold = already + 0.2 * (window.max() - already)
        found.append((start + int(np.argmax(window > threshold))) / RATE)
    return found


def test_onsets_land_within_5_ms_of_the_midi(instruments):
    drum_times = [0.0, 0.437, 1.013, 1.651, 2.249, 2.851]
    keyboard_times = [3.5, 4.123, 4.777]
    midi = single_notes_midi([(k, t, t + 0.1) for k, t in zip([36, 38, 42, 36, 38, 42],
                                                              drum_times, strict=True)],
                             is_drum=True)
    keys = pretty_midi.Instrument(program=0)
    keys.notes = [pretty_midi.Note(velocity=v, pitch=p, start=t, end=t + 0.2)
                  for p, t, v in zip([60, 67, 72], keyboard_times, [60, 90, 120], strict=True)]
    midi.instruments.append(keys)
    song = render(midi, {Role.drums: instruments[Role.drums],
                         Role.keyboard: instruments[Role.keyboard]}, audition=True)
    mono = song.mix.mean(axis=1)
    expected = drum_times[1:] + keyboard_times  # the first hit is checked by the test above
    for want, got in zip(expected, onset_times(mono, expected), strict=True):
        assert abs(got - want) <= 0.005, (want, got)


def test_missing_role_falls_back_and_overrides_apply(instruments, tmp_path):
    midi = pretty_midi.PrettyMIDI()
    for program, is_drum, pitch in ((33, False, 40), (0, True, 36), (0, False, 64)):
        track = pretty_midi.Instrument(program=program, is_drum=is_drum)
        track.notes.append(pretty_midi.Note(velocity=100, pitch=pitch, start=0.0, end=0.5))
        midi.instruments.append(track)
    song = render(midi, {Role.keyboard: instruments[Role.keyboard]},
                  role_overrides={2: Role.guitar}, stems_dir=tmp_path)
    assert set(song.stems) == {"bass", "drums", "guitar"}
    assert all(np.abs(sf.read(path)[0]).max() > 0.01 for path in song.stems.values())


def test_sustain_pedal_holds_notes(instruments):
    def level_after_release(pedal: bool) -> float:
        midi = single_notes_midi([(60, 0.0, 0.3)])
        if pedal:
            track = midi.instruments[0]
            track.control_changes = [pretty_midi.ControlChange(64, 127, 0.0),
                                     pretty_midi.ControlChange(64, 0, 1.5)]
        song = render(midi, {Role.keyboard: instruments[Role.keyboard]}, space=False)
        after = song.mix[int(1.0 * RATE):int(1.2 * RATE)]
        return float(np.abs(after).max()) if after.size else 0.0

    assert level_after_release(False) < 1e-3 < level_after_release(True)


def test_hand_written_sfz_with_note_names_groups_and_loops(tmp_path):
    """Our reader is a real SFZ reader: a file we did not write, with a <group> header,
    note names, comments and a sample path with spaces, plays at the right pitch."""
    t = np.arange(RATE) / RATE
    tone = 0.5 * np.sin(2 * np.pi * 261.6256 * t)  # C4
    (tmp_path / "my samples").mkdir()
    sf.write(tmp_path / "my samples" / "sine c4.wav", tone, RATE)
    (tmp_path / "hand.sfz").write_text(
        "// hand written\n<control> default_path=my samples/\n"
        "<group> loop_mode=loop_continuous ampeg_release=0.2 /* block comment */\n"
        "<region> sample=sine c4.wav lokey=c3 hikey=b5 pitch_keycenter=c4 "
        "loop_start=0 loop_end=47999\n")
    song = render(single_notes_midi([(64, 0.0, 2.0)]), {Role.keyboard: tmp_path / "hand.sfz"})
    voiced, cents = pyin_pitch(song.mix[int(0.2 * RATE):int(1.8 * RATE)], RATE, 64)
    assert voiced > 0.9 and abs(cents) < 10
    # The 1 s sample loops: the 2 s note still sounds at 1.8 s.
    assert np.abs(song.mix[int(1.7 * RATE):int(1.8 * RATE)]).max() > 0.1


def test_bad_instrument_inputs_are_named(instruments, tmp_path):
    midi = single_notes_midi([(60, 0.0, 0.5)])
    with pytest.raises(InvalidInput, match="instruments"):
        render(midi, {})
    with pytest.raises(InvalidInput, match="no SFZ file"):
        render(midi, {Role.keyboard: tmp_path / "missing.sfz"})
    broken = tmp_path / "broken.sfz"
    broken.write_text("<region> sample=nothere.wav\n")
    with pytest.raises(InvalidInput, match="missing sample"):
        render(midi, {Role.keyboard: broken})


def test_a_song_shorter_than_a_loudness_block_is_still_mastered(instruments):
    # The guitar: its release (0.3 s) keeps a 20 ms note under a block (a pad's would not).
    song = render(single_notes_midi([(60, 0.0, 0.02)], velocity=30),
                  {Role.keyboard: instruments[Role.guitar]}, space=False)
    assert len(song.mix) < 0.4 * RATE
    assert abs(song.loudness_lufs - -14.0) < 0.5
    assert reference_true_peak_db(np.asarray(song.mix.T)) <= -1.0 + 1e-3


def test_a_long_note_streams_from_its_loop_in_bounded_memory(instruments, monkeypatch):
    """A 60 s note costs no more voice memory than a 2 s one (the voice is the attack plus one
    loop period), keeps its level, and its loop wraps without clicks."""
    import services.render.playback.sampler as sampler

    sizes = {}
    original = sampler._make_voice

    def spy(loaded, speed, sample_rate):
        voice = original(loaded, speed, sample_rate)
        sizes.setdefault("bytes", []).append(voice.wave.nbytes)
        return voice

    monkeypatch.setattr(sampler, "_make_voice", spy)
    voice_bytes = {}
    for seconds in (2.0, 60.0):
        sizes.clear()
        song = render(single_notes_midi([(57, 0.0, seconds)]),
                      {Role.keyboard: instruments[Role.keyboard]}, space=False)
        voice_bytes[seconds] = sum(sizes["bytes"])
    assert voice_bytes[60.0] == voice_bytes[2.0]
    mono = song.mix.mean(axis=1)
    tail = mono[int(40 * RATE):int(59 * RATE)]
    levels = [np.sqrt(np.mean(chunk ** 2)) for chunk in np.array_split(tail, 19)]
    assert max(levels) / min(levels) < 1.5  # sustained, not dying or pumping
    steps = np.abs(np.diff(tail))
    assert steps.max() < 6 * np.percentile(steps, 99.9)


def test_lead_and_chords_on_one_keyboard_are_placed_apart(instruments):
    """Melody and chords share the keyboard instrument but not its place or colour."""
    from services.render.playback.mix import STRIPS, Part, track_part

    melody = pretty_midi.Instrument(program=0, name="melody")
    melody.notes = [pretty_midi.Note(velocity=100, pitch=72 + i % 5, start=i * 0.5,
                                     end=i * 0.5 + 0.4) for i in range(16)]
    chords = pretty_midi.Instrument(program=0, name="")
    chords.notes = [pretty_midi.Note(velocity=90, pitch=p, start=b, end=b + 1.9)
                    for b in (0.0, 2.0, 4.0, 6.0) for p in (48, 52, 55)]
    assert track_part(melody, Role.keyboard) is Part.lead
    assert track_part(chords, Role.keyboard) is Part.chords
    lead, pad = STRIPS[Part.lead], STRIPS[Part.chords]
    assert lead.pan != pad.pan and lead.send != pad.send and lead.eq != pad.eq

    def balance_db(track: pretty_midi.Instrument) -> float:
        midi = pretty_midi.PrettyMIDI(initial_tempo=120)
        midi.instruments.append(track)
        song = render(midi, {Role.keyboard: instruments[Role.keyboard]}, space=False)
        return 10 * np.log10(np.mean(song.mix[:, 1] ** 2) / np.mean(song.mix[:, 0] ** 2))

    # Chords sit left of centre, the lead just right of it: at least 3 dB apart in balance.
    assert balance_db(melody) - balance_db(chords) > 3.0
