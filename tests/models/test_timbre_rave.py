"""`rave` timbre engine on genuine tiny RAVE exports (tests/fixtures/rave, built by
scripts/make_tiny_rave.py with acids-rave), loaded through the engine's production loader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from imagewave.contracts.audio import AudioPayload
from imagewave.contracts.engines import TimbreEngineName
from imagewave.contracts.scene import Role
from imagewave.contracts.stages import TimbreRequest
from imagewave.errors import EngineUnavailable, InvalidInput, ModelsNotInstalled
from services.timbre.engines.rave import RaveTimbreEngine
from services.timbre.serving import TimbreServing
from services.timbre.settings import TimbreSettings
from services.timbre.train.recipe import select_nsynth

pytestmark = pytest.mark.models

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rave"


def _settings(**overrides: object) -> TimbreSettings:
    values = dict(default_engine=TimbreEngineName.rave, engines=[TimbreEngineName.rave],
                  model_dir=FIXTURES, device="cpu", chunk_s=1.0, context_s=0.1, batch_chunks=2)
    values.update(overrides)
    return TimbreSettings(**values)


@pytest.fixture(scope="module")
def engine() -> RaveTimbreEngine:
    return RaveTimbreEngine.from_settings(_settings())


def _effect(seconds: float, sample_rate: int) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    rng = np.random.default_rng(1)
    return (0.5 * np.exp(-2 * t) * np.sin(2 * np.pi * 220 * t)
            + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def test_reads_rate_ratio_and_mode_from_each_export(engine: RaveTimbreEngine) -> None:
    keyboard, bass = engine.models[Role.keyboard], engine.models[Role.bass]
    assert (keyboard.sampling_rate, keyboard.compression_ratio, keyboard.streaming) == (
        44_100, 32, False)
    assert (bass.sampling_rate, bass.compression_ratio, bass.streaming) == (22_050, 64, True)
    assert Role.guitar not in engine.models


def test_chunked_batched_voice_keeps_length_and_rate(engine: RaveTimbreEngine) -> None:
    effect = _effect(3.3, 48_000)  # 4 chunks of 1 s at the model's rate, 2 per batch
    result = engine.transfer(effect, 48_000, Role.keyboard)
    assert result.sample_rate == 48_000
    assert result.samples.shape == effect.shape and result.samples.dtype == np.float32
    assert np.all(np.isfinite(result.samples)) and np.max(np.abs(result.samples)) <= 1.0
    assert np.any(result.samples != 0.0)
    assert result.root_pitch is None
    # repeatable: RAVE's latent sampling is seeded per call
    again = engine.transfer(effect, 48_000, Role.keyboard)
    np.testing.assert_array_equal(result.samples, again.samples)


def test_streaming_export_state_is_cleared_between_effects(engine: RaveTimbreEngine) -> None:
    effect = _effect(2.5, 16_000)
    first = engine.transfer(effect, 16_000, Role.bass)
    engine.transfer(_effect(1.0, 16_000)[::-1].copy(), 16_000, Role.bass)  # dirty the caches
    second = engine.transfer(effect, 16_000, Role.bass)
    assert first.samples.shape == effect.shape and first.sample_rate == 16_000
    np.testing.assert_array_equal(first.samples, second.samples)


def test_cross_fades_sum_to_one() -> None:
    chunk, context = 64, 8
    fade = RaveTimbreEngine._fade(chunk + 2 * context, context)
    overlap = fade[-2 * context :] + fade[: 2 * context]
    np.testing.assert_allclose(overlap, 1.0, rtol=1e-6)


def test_bad_input_and_missing_model_are_clear_errors(engine: RaveTimbreEngine) -> None:
    with pytest.raises(EngineUnavailable, match="guitar.ts"):
        engine.transfer(_effect(0.5, 16_000), 16_000, Role.guitar)
    with pytest.raises(InvalidInput, match="drums"):
        engine.transfer(_effect(0.5, 16_000), 16_000, Role.drums)
    with pytest.raises(InvalidInput, match="NaN"):
        engine.transfer(np.full(1000, np.nan, dtype=np.float32), 16_000, Role.bass)
    with pytest.raises(ModelsNotInstalled, match="no RAVE model"):
        RaveTimbreEngine.from_settings(_settings(model_dir=FIXTURES / "missing"))


def test_deployment_default_and_per_request_engine() -> None:
    request = TimbreRequest(audio=AudioPayload.from_array(_effect(1.2, 48_000), 48_000),
                            instrument=Role.keyboard)
    response = TimbreServing(_settings()).transfer(request)
    assert response.engine is TimbreEngineName.rave
    assert response.audio.sample_rate == 48_000
    assert response.audio.to_array().shape == (int(1.2 * 48_000),)
    # a deployment without rave refuses it per request, naming the engine
    without_rave = _settings(default_engine=TimbreEngineName.dsp, engines=[TimbreEngineName.dsp])
    with pytest.raises(EngineUnavailable, match="rave"):
        TimbreServing(without_rave).transfer(request.model_copy(
            update={"engine": TimbreEngineName.rave}))


def test_training_recipe_selects_nsynth_notes_by_family(tmp_path: Path) -> None:
    nsynth = tmp_path / "nsynth-train"
    (nsynth / "audio").mkdir(parents=True)
    notes = {
        "bass_electronic_018-036-100": ("bass", 36, 100),
        "bass_synthetic_009-090-075": ("bass", 90, 75),  # above the bass range
        "bass_acoustic_000-040-025": ("bass", 40, 25),  # quietest velocity
        "guitar_acoustic_010-052-127": ("guitar", 52, 127),
        "bass_electronic_018-045-127": ("bass", 45, 127),
    }
    metadata = {}
    for note_id, (family, pitch, velocity) in notes.items():
        sf.write(nsynth / "audio" / f"{note_id}.wav", np.full(1600, pitch / 1000, np.float32),
                 16_000)
        metadata[note_id] = {"instrument_family_str": family, "pitch": pitch,
                             "velocity": velocity}
    (nsynth / "examples.json").write_text(json.dumps(metadata))

    count = select_nsynth(nsynth, "bass", tmp_path / "out", notes_per_file=64)

    assert count == 2
    (part,) = sorted((tmp_path / "out").glob("*.wav"))
    audio, rate = sf.read(part, dtype="float32")
    assert rate == 16_000 and audio.size == 2 * 1600
    np.testing.assert_allclose(sorted(set(np.round(audio, 3))), [0.036, 0.045])


class RecordingModule:
    """Delegates to an export and records the input shapes it is given."""

    def __init__(self, module) -> None:
        self.module = module
        self.shapes: list[tuple[int, ...]] = []

    def forward(self, x):
        self.shapes.append(tuple(x.shape))
        return self.module.forward(x)

    def named_buffers(self):
        return self.module.named_buffers()

    def __getattr__(self, name):
        return getattr(self.module, name)


def test_windows_are_sized_to_the_effect_and_every_shape_is_warmed_up() -> None:
    settings = _settings(chunk_s=4.0, context_s=0.25, batch_chunks=4, warm_up=False)
    engine = RaveTimbreEngine.from_settings(settings)
    keyboard = engine.models[Role.keyboard]  # 44.1 kHz, chunked
    recorder = RecordingModule(keyboard.module)
    keyboard.module = recorder
    full_window = sum(engine._chunk_lengths(keyboard)) + engine._chunk_lengths(keyboard)[1]
    # a 1 s effect runs in one window of a power of two of blocks that holds it and its
    # context, not in a 4.6 s one
    engine.transfer(_effect(1.0, 44_100), 44_100, Role.keyboard)
    ((batch, channels, samples),) = recorder.shapes
    assert (batch, channels) == (1, 1)
    needed = 44_100 + 2 * engine._chunk_lengths(keyboard)[1]
    blocks = samples // keyboard.block_samples
    assert samples % keyboard.block_samples == 0 and blocks & (blocks - 1) == 0
    assert needed <= samples < 2 * needed and samples < full_window
    # a 13 s effect: 4 chunks, one padded batch of a power of two
    recorder.shapes.clear()
    engine.transfer(_effect(13.0, 44_100), 44_100, Role.keyboard)
    assert recorder.shapes == [(4, 1, full_window)]
    # every shape any effect length produces is one of the warmed-up ones
    expected = {(batch, samples) for batch, samples in engine.shapes(keyboard)}
    for seconds in (0.3, 2.0, 3.9, 5.0, 9.0, 17.5):
        recorder.shapes.clear()
        engine.transfer(_effect(seconds, 44_100), 44_100, Role.keyboard)
        assert {(b, s) for b, _, s in recorder.shapes} <= expected, seconds
    recorder.shapes.clear()
    engine.warm_up()
    assert {(b, s) for b, _, s in recorder.shapes} == expected
    assert len(recorder.shapes) == 2 * len(expected)  # twice each: profile, then specialise


def test_concurrent_requests_get_the_same_voice_as_one_at_a_time(engine) -> None:
    import threading

    effect = _effect(2.0, 48_000)
    alone = {role: engine.transfer(effect, 48_000, role).samples
             for role in (Role.keyboard, Role.bass)}
    results: dict[tuple[Role, int], np.ndarray] = {}

    def run(role: Role, index: int) -> None:
        results[(role, index)] = engine.transfer(effect, 48_000, role).samples

    threads = [threading.Thread(target=run, args=(role, i)) for i in range(3)
               for role in (Role.keyboard, Role.bass)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == 6
    for (role, _), samples in results.items():
        np.testing.assert_array_equal(samples, alone[role])


def test_a_stereo_export_gets_the_effect_on_both_channels_and_is_downmixed(tmp_path) -> None:
    import torch

    mono = torch.jit.load(str(FIXTURES / "keyboard.ts"))

    class StereoExport(torch.nn.Module):
        """A stereo RAVE-shaped export: 2 input channels, a differently scaled voice on each."""

        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner
            self.sr = int(inner.sr)
            params = inner.encode_params.clone()
            params[0] = 2
            self.register_buffer("encode_params", params)

        @torch.jit.export
        def encode(self, x):
            return self.inner.encode(x.mean(dim=1, keepdim=True))

        @torch.jit.export
        def decode(self, z):
            voice = self.inner.decode(z)
            return torch.cat([voice, 0.5 * voice], dim=1)

        def forward(self, x):
            assert x.shape[1] == 2
            return self.decode(self.encode(x))

    path = tmp_path / "keyboard.ts"
    torch.jit.script(StereoExport(mono)).save(str(path))
    stereo_engine = RaveTimbreEngine.from_settings(_settings(model_dir=tmp_path))
    assert stereo_engine.models[Role.keyboard].channels == 2
    effect = _effect(1.5, 44_100)
    stereo = stereo_engine.transfer(effect, 44_100, Role.keyboard).samples
    reference = RaveTimbreEngine.from_settings(_settings()).transfer(effect, 44_100,
                                                                     Role.keyboard).samples
    # the downmix of (voice, voice / 2) is 0.75 x the mono voice
    np.testing.assert_allclose(stereo, 0.75 * reference, atol=1e-5)


def test_imagewave_models_installs_checked_exports_and_the_service_then_loads_rave(
        tmp_path: Path) -> None:
    from imagewave.cli import main

    model_dir = tmp_path / "rave"
    not_a_model = tmp_path / "keyboard.ts"
    not_a_model.write_bytes(b"not a TorchScript archive")
    assert main(["models", "install-rave", str(not_a_model), "--model-dir",
                 str(model_dir)]) == 1
    assert not model_dir.exists() or not any(model_dir.iterdir())  # nothing half-installed
    # an empty folder: the service falls back to dsp and says why rave is missing
    model_dir.mkdir(exist_ok=True)
    fallback = TimbreServing(_settings(model_dir=model_dir,
                                       engines=[TimbreEngineName.rave, TimbreEngineName.dsp]))
    fallback.warm_up()
    assert fallback.engines.default is TimbreEngineName.dsp
    assert "services.timbre.install" in fallback.engines.unavailable[TimbreEngineName.rave]

    assert main(["models", "install-rave", f"bass={FIXTURES / 'bass.ts'}",
                 str(FIXTURES / "keyboard.ts"), "--model-dir", str(model_dir)]) == 0
    assert sorted(p.name for p in model_dir.iterdir()) == ["bass.ts", "keyboard.ts"]
    serving = TimbreServing(_settings(model_dir=model_dir,
                                      engines=[TimbreEngineName.rave, TimbreEngineName.dsp]))
    serving.warm_up()
    assert serving.engines.default is TimbreEngineName.rave
    assert serving.engines.describe()["default"] == "rave"
