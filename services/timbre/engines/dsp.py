"""`dsp`: the embedded default timbre engine — instrument voices driven by the effect, on CPU.

- guitar: an electric guitar string. The effect itself plucks and bows a Karplus-Strong string
  (a delay line with a lowpass in its feedback loop) tuned near G3; a soft-clipping overdrive and
  a pickup resonance make it electric.
- bass: the same string model near C2, with a darker three-tap loop filter and a low-pass body.
- keyboard: harmonic partials near C4 whose levels follow the effect's own long-term spectrum
  (a bright hiss makes a bright keyboard, a rumble a mellow one), plus the effect filtered
  through narrow resonators at those partials, which carries its grain into the tone.

Every voice then takes the effect's smoothed amplitude envelope (its own envelope divided out,
the effect's multiplied in), so a hit stays a hit and a swell a swell, and a little of the dry
effect, band-limited to the voice's range, is mixed back for texture. The voice is pitched at a
known MIDI root (`TimbreResult.root_pitch`, exact for the integer delay used) so the instrument
builder can map it across the keyboard.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from imagewave.analysis import amplitude_envelope
from imagewave.audio import to_mono
from imagewave.contracts.engines import TimbreEngineName
from imagewave.contracts.scene import Role
from imagewave.errors import InvalidInput
from services.timbre.engines import TimbreResult
from services.timbre.settings import TimbreSettings


@dataclass(frozen=True)
class Voice:
    target_pitch: float  # MIDI note the voice is built near (tuned exactly to an integer delay)
    texture_db: float  # level of the band-limited dry effect mixed back in, relative to the voice
    texture_band_hz: tuple[float, float]


VOICES: dict[Role, Voice] = {
    Role.guitar: Voice(target_pitch=55.0, texture_db=-20.0, texture_band_hz=(800, 6000)),
    Role.bass: Voice(target_pitch=36.0, texture_db=-24.0, texture_band_hz=(40, 400)),
    Role.keyboard: Voice(target_pitch=60.0, texture_db=-24.0, texture_band_hz=(200, 4000)),
}

_PEAK = 0.8
_ENVELOPE_SMOOTHING_S = 0.03


def midi_to_hz(pitch: float) -> float:
    return 440.0 * 2 ** ((pitch - 69.0) / 12.0)


def hz_to_midi(frequency_hz: float) -> float:
    return 69.0 + 12.0 * np.log2(frequency_hz / 440.0)


class DspTimbreEngine:
    name = TimbreEngineName.dsp

    @classmethod
    def from_settings(cls, settings: TimbreSettings) -> DspTimbreEngine:
        del settings  # nothing to load
        return cls()

    def check_inputs(self, samples: np.ndarray, sample_rate: int, instrument: Role) -> None:
        if instrument not in VOICES:
            raise InvalidInput(f"instrument must be keyboard, bass or guitar, got "
                               f"{getattr(instrument, 'value', instrument)!r}", field="instrument")
        if not 8_000 <= sample_rate <= 192_000:
            raise InvalidInput(f"sample_rate must be 8000..192000 Hz, got {sample_rate}",
                               field="sample_rate")
        if samples.ndim != 1 or len(samples) < sample_rate // 20:
            raise InvalidInput(f"audio must be mono and at least 50 ms long, got shape "
                               f"{samples.shape} at {sample_rate} Hz", field="audio")
        if not np.all(np.isfinite(samples)):
            raise InvalidInput("audio contains NaN or infinite samples", field="audio")

    def transfer(self, samples: np.ndarray, sample_rate: int, instrument: Role) -> TimbreResult:
        effect = to_mono(np.asarray(samples, dtype=np.float64))
        self.check_inputs(effect, sample_rate, instrument)
        voice = VOICES[instrument]
        if instrument is Role.keyboard:
            tone, root_hz = keyboard_voice(effect, sample_rate, voice.target_pitch)
        else:
            tone, root_hz = string_voice(effect, sample_rate, voice.target_pitch,
                                         electric=instrument is Role.guitar)
        texture = _bandpass(effect, sample_rate, *voice.texture_band_hz)
        shaped = impose_envelope(tone, effect, sample_rate)
        shaped += _at_relative_rms(texture, shaped, voice.texture_db)
        # Once more on the mix, at the 50 ms scale envelopes are judged at: the first pass left
        # the voice's own ripple, which matters when the effect's shape is subtle.
        shaped = impose_envelope(shaped, effect, sample_rate, smoothing_s=0.05)
        peak = np.max(np.abs(shaped))
        out = shaped * (_PEAK / peak) if peak > 0 else shaped
        return TimbreResult(samples=out.astype(np.float32), sample_rate=sample_rate,
                            root_pitch=float(hz_to_midi(root_hz)))


def string_voice(effect: np.ndarray, sample_rate: int, target_pitch: float, *,
                 electric: bool) -> tuple[np.ndarray, float]:
    """A Karplus-Strong string excited by the whole effect; returns (samples, exact root Hz).

    Guitar: two-tap averaging loop filter (delay L + 0.5), overdrive and pickup resonance.
    Bass: three-tap loop filter (delay L + 1, darker), low-pass body.
    """
    target_hz = midi_to_hz(target_pitch)
    loop_taps = np.array([0.5, 0.5]) if electric else np.array([0.25, 0.5, 0.25])
    filter_delay = (len(loop_taps) - 1) / 2
    delay = int(round(sample_rate / target_hz - filter_delay))
    root_hz = sample_rate / (delay + filter_delay)
    decay_s = 1.2 if electric else 1.8
    feedback = 10 ** (-3.0 / (root_hz * decay_s))  # per period, for a 60 dB decay in decay_s
    # Excite with the effect's upper spectrum only: its rumble would just swamp the string.
    excitation = _highpass(effect, sample_rate, 0.5 * root_hz)
    string = _feedback_comb(excitation, delay, feedback * loop_taps)
    if electric:
        drive = 3.0
        string = np.tanh(drive * string / (np.max(np.abs(string)) + 1e-12)) / np.tanh(drive)
        string += 0.6 * _peaking(string, sample_rate, 2500.0, 1.2)
        string = _lowpass(string, sample_rate, 6500.0)
    else:
        string = _lowpass(string, sample_rate, 300.0, order=4)
        # A bass guitar's fundamental is its strongest partial; an effect with little energy
        # down there would leave the string thin, so the fundamental is reinforced.
        t = np.arange(len(string)) / sample_rate
        string += _at_relative_rms(np.sin(2 * np.pi * root_hz * t), string, -3.0)
    return string, root_hz


def _feedback_comb(x: np.ndarray, delay: int, taps: np.ndarray) -> np.ndarray:
    """y[n] = x[n] + Σ_k taps[k] · y[n - delay - k], computed a block of `delay` samples at a
    time (every feedback term then lies in earlier blocks), so it costs O(n), not O(n · delay)."""
    n = len(x)
    reach = delay + len(taps) - 1
    y = np.zeros(n + reach)
    y[reach:] = x
    for start in range(reach, n + reach, delay):
        end = min(start + delay, n + reach)
        for k, tap in enumerate(taps):
            y[start:end] += tap * y[start - delay - k:end - delay - k]
    return y[reach:]


def keyboard_voice(effect: np.ndarray, sample_rate: int,
                   target_pitch: float) -> tuple[np.ndarray, float]:
    """Harmonic partials whose levels follow the effect's long-term spectral envelope, plus the
    effect through narrow resonators on those partials."""
    root_hz = midi_to_hz(target_pitch)
    count = int(min(16, (sample_rate * 0.45) // root_hz))
    partials_hz = root_hz * np.arange(1, count + 1)
    spectrum_db = _spectral_envelope_db(effect, sample_rate, partials_hz)
    # A keyboard's own roll-off (1/k^0.8) tilted by how the effect's spectrum leans, within
    # ±12 dB: enough to hear the effect's colour, not so much that it stops being a keyboard.
    tilt_db = np.clip(spectrum_db - spectrum_db.max(), -24.0, 0.0) * 0.5
    levels = partials_hz / root_hz
    amplitudes = levels ** -0.8 * 10 ** (tilt_db / 20)
    # One period as a wavetable, read at the root frequency: the same sum of partials as
    # adding sinusoids sample by sample, at a fraction of the cost.
    table_size = 4096
    cycle = np.arange(table_size + 1) / table_size
    phases = np.linspace(0, np.pi, count)  # fixed, so the voice is deterministic
    table = (amplitudes[:, None] * np.sin(2 * np.pi * np.arange(1, count + 1)[:, None] * cycle
                                          + phases[:, None])).sum(axis=0)
    position = (np.arange(len(effect)) * (root_hz / sample_rate)) % 1.0
    tone = np.interp(position * table_size, np.arange(table_size + 1), table)
    resonated = np.zeros_like(effect)
    for frequency, amplitude in zip(partials_hz[:8], amplitudes[:8], strict=True):
        radius = np.exp(-np.pi * 6.0 / sample_rate)  # 6 Hz wide: ~50 ms memory
        theta = 2 * np.pi * frequency / sample_rate
        resonated += amplitude * signal.lfilter([1 - radius], [1, -2 * radius * np.cos(theta),
                                                               radius**2], effect)
    return tone + _at_relative_rms(resonated, tone, -6.0), root_hz


def _spectral_envelope_db(x: np.ndarray, sample_rate: int, at_hz: np.ndarray) -> np.ndarray:
    """The effect's long-term power spectrum (Welch), smoothed over third-octaves, at `at_hz`."""
    frequencies, power = signal.welch(x, sample_rate, nperseg=min(len(x), 4096))
    power_db = 10 * np.log10(power + 1e-20)
    smoothed = np.empty_like(at_hz, dtype=float)
    for i, centre in enumerate(at_hz):
        band = (frequencies >= centre / 2 ** (1 / 6)) & (frequencies <= centre * 2 ** (1 / 6))
        smoothed[i] = power_db[band].mean() if band.any() else power_db.min()
    return smoothed


def impose_envelope(voice: np.ndarray, effect: np.ndarray, sample_rate: int, *,
                    smoothing_s: float = _ENVELOPE_SMOOTHING_S) -> np.ndarray:
    """Replace the voice's smoothed amplitude envelope with the effect's."""
    wanted = _envelope_at_samples(effect, sample_rate, smoothing_s)
    current = _envelope_at_samples(voice, sample_rate, smoothing_s)
    floor = 1e-3 * max(current.max(), 1e-12)
    return voice / np.maximum(current, floor) * wanted


def _envelope_at_samples(x: np.ndarray, sample_rate: int, smoothing_s: float) -> np.ndarray:
    envelope = amplitude_envelope(x, sample_rate, smoothing_s=smoothing_s)
    hop = len(x) / len(envelope)
    centres = (np.arange(len(envelope)) + 0.5) * hop
    return np.interp(np.arange(len(x)), centres, envelope)


def _at_relative_rms(x: np.ndarray, reference: np.ndarray, level_db: float) -> np.ndarray:
    level = np.sqrt(np.mean(x**2))
    if level <= 0:
        return np.zeros_like(reference)
    return x / level * np.sqrt(np.mean(reference**2)) * 10 ** (level_db / 20)


def _sos(kind: str, cutoff: float | list[float], sample_rate: int, order: int = 2) -> np.ndarray:
    return signal.butter(order, cutoff, kind, fs=sample_rate, output="sos")


def _highpass(x: np.ndarray, sample_rate: int, cutoff_hz: float) -> np.ndarray:
    return signal.sosfilt(_sos("highpass", cutoff_hz, sample_rate), x)


def _lowpass(x: np.ndarray, sample_rate: int, cutoff_hz: float, order: int = 2) -> np.ndarray:
    return signal.sosfilt(_sos("lowpass", min(cutoff_hz, sample_rate * 0.45), sample_rate,
                               order), x)


def _bandpass(x: np.ndarray, sample_rate: int, low_hz: float, high_hz: float) -> np.ndarray:
    return signal.sosfilt(_sos("bandpass", [low_hz, min(high_hz, sample_rate * 0.45)],
                               sample_rate), x)


def _peaking(x: np.ndarray, sample_rate: int, centre_hz: float, octaves: float) -> np.ndarray:
    """The band around `centre_hz` (`octaves` wide): added back, it is a pickup's presence peak."""
    low, high = centre_hz / 2 ** (octaves / 2), centre_hz * 2 ** (octaves / 2)
    return _bandpass(x, sample_rate, low, high)
