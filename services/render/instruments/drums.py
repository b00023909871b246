"""Drum kit from one sound: slice hits, classify them, shape each GM piece from that material.

Every General MIDI kit piece is made from the source's own hits: the hit that suits the piece
best (low, mid or bright; short or ringing) is filtered and enveloped into it, and a piece the
source lacks (a kick from a hiss, hats from a thud) is synthesised from that material — low-passed
and underpinned by a pitched body for kick and toms, ring-modulated up into the treble for hats
and cymbals — never one sample repeated on every key. Cymbals are shaped from the hit's colour
made steady (its spectrum with fresh phases), so a crash rings about a second even when the
source's hits are over in 20 ms. The source's raw hits also play on the
hand-percussion keys (54-81), so the kit keeps the picture's own sounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

from imagewave.contracts.instrument import EnvelopeCard, InstrumentCard
from imagewave.contracts.scene import Role
from services.render.instruments.sfz import Region, write_sfz

# sfizz plays a full-scale one-shot at velocity 100 near 0.1 peak: this <global> volume brings
# the kit to about -6 dBFS there (see build.MELODIC_VOLUME_DB).
DRUM_VOLUME_DB = 12.0


@dataclass
class Hit:
    samples: np.ndarray
    onset_s: float
    centroid_hz: float
    decay_s: float
    energy: float


@dataclass(frozen=True)
class Piece:
    name: str
    keys: tuple[int, ...]
    level: float  # peak level of the written sample
    choke_group: int = 0  # SFZ group/off_by (hats choke each other)


PIECES = (
    Piece("kick", (35, 36), 0.95),
    Piece("snare", (38, 40), 0.85),
    Piece("side_stick", (37,), 0.5),
    Piece("clap", (39,), 0.7),
    Piece("closed_hat", (42, 44), 0.45, choke_group=1),
    Piece("open_hat", (46,), 0.45, choke_group=1),
    Piece("low_tom", (41, 43), 0.8),
    Piece("mid_tom", (45, 47), 0.8),
    Piece("high_tom", (48, 50), 0.8),
    Piece("crash", (49, 52, 55, 57), 0.5),
    Piece("ride", (51, 53, 59), 0.4),
)
HAND_PERCUSSION_KEYS = tuple(k for k in range(54, 82) if k not in (55, 57, 59))


def detect_onsets(samples: np.ndarray, sample_rate: int, *, min_gap_s: float = 0.06) -> np.ndarray:
    """Onset times (s) from half-wave rectified spectral flux with an adaptive threshold."""
    n_fft, hop = 1024, 256
    if len(samples) < n_fft:
        return np.array([0.0])
    frames = 1 + (len(samples) - n_fft) // hop
    index = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    spectra = np.abs(np.fft.rfft(samples[index] * np.hanning(n_fft), axis=1))
    log_spectra = np.log1p(100 * spectra / (spectra.max() + 1e-12))
    flux = np.maximum(np.diff(log_spectra, axis=0), 0).sum(axis=1)
    flux = np.concatenate([[0.0], flux])
    local = np.convolve(flux, np.ones(15) / 15, mode="same")
    threshold = local + 0.5 * np.std(flux) + 1e-9
    is_peak = (flux > threshold) & (flux >= np.roll(flux, 1)) & (flux >= np.roll(flux, -1))
    peaks = np.flatnonzero(is_peak)
    onsets: list[float] = []
    for peak in peaks:
        time_s = peak * hop / sample_rate
        if not onsets or time_s - onsets[-1] >= min_gap_s:
            onsets.append(time_s)
    if not onsets or onsets[0] > 0.05:
        onsets.insert(0, 0.0)
    return np.asarray(onsets)


def slice_hits(samples: np.ndarray, sample_rate: int, *, max_hit_s: float = 0.8,
               max_hits: int = 24) -> list[Hit]:
    """One Hit per onset, up to the next onset, described by brightness, decay and energy."""
    onsets = detect_onsets(samples, sample_rate)
    hits = []
    for index, onset_s in enumerate(onsets[:max_hits]):
        start = max(0, int(onset_s * sample_rate) - int(0.002 * sample_rate))
        stop = int(onsets[index + 1] * sample_rate) if index + 1 < len(onsets) else len(samples)
        stop = min(stop, start + int(max_hit_s * sample_rate))
        piece = _from_attack(samples[start:stop], sample_rate)
        if len(piece) < int(0.02 * sample_rate):
            continue
        hits.append(_describe(piece, onset_s, sample_rate))
    if hits:  # slices of near silence between events are not hits
        loudest = max(hit.energy for hit in hits)
        hits = [hit for hit in hits if hit.energy >= 1e-3 * loudest]
    if not hits:
        hits.append(_describe(samples[: int(max_hit_s * sample_rate)], 0.0, sample_rate))
    return hits


def _from_attack(audio: np.ndarray, sample_rate: int, *, threshold: float = 0.1,
                 pre_s: float = 0.001) -> np.ndarray:
    """Start a hit (or a kit sample) 1 ms before it first reaches 10% of its peak, so the
    sound starts when its note does."""
    if audio.size == 0 or not np.any(audio):
        return audio
    first = int(np.argmax(np.abs(audio) >= threshold * np.abs(audio).max()))
    return audio[max(0, first - int(pre_s * sample_rate)):]


def _describe(piece: np.ndarray, onset_s: float, sample_rate: int) -> Hit:
    spectrum = np.abs(np.fft.rfft(piece))
    frequencies = np.fft.rfftfreq(len(piece), 1.0 / sample_rate)
    centroid = float((spectrum * frequencies).sum() / (spectrum.sum() + 1e-12))
    hop = max(1, int(0.005 * sample_rate))
    frames = max(1, len(piece) // hop)
    rms = np.sqrt(np.mean(piece[: frames * hop].reshape(frames, hop) ** 2, axis=1) + 1e-18)
    peak = int(np.argmax(rms))
    below = np.flatnonzero(rms[peak:] < rms[peak] * 0.1)
    decay_s = (below[0] if below.size else frames - peak) * hop / sample_rate
    return Hit(samples=piece.astype(np.float64), onset_s=float(onset_s), centroid_hz=centroid,
               decay_s=float(decay_s), energy=float(np.sum(piece**2)))


def _filter(samples: np.ndarray, sample_rate: int, kind: str, cutoff_hz) -> np.ndarray:
    sos = signal.butter(4, cutoff_hz, btype=kind, fs=sample_rate, output="sos")
    return signal.sosfilt(sos, samples)


def _fit(samples: np.ndarray, length: int) -> np.ndarray:
    """The material stretched to `length` frames: repeated (reversed every other time) if short."""
    if len(samples) >= length:
        return samples[:length]
    reps = int(np.ceil(length / max(1, len(samples))))
    tiles = [samples if i % 2 == 0 else samples[::-1] for i in range(reps)]
    return np.concatenate(tiles)[:length]


def _decay(length: int, sample_rate: int, decay_s: float, attack_s: float = 0.001) -> np.ndarray:
    t = np.arange(length) / sample_rate
    envelope = np.exp(-t / max(decay_s, 1e-3))
    attack = int(attack_s * sample_rate)
    if attack:
        envelope[:attack] *= np.linspace(0, 1, attack)
    return envelope


def _unit(samples: np.ndarray) -> np.ndarray:
    return samples / (np.max(np.abs(samples)) + 1e-12)


def _body(length: int, sample_rate: int, start_hz: float, end_hz: float,
          sweep_s: float) -> np.ndarray:
    """A pitched drum body: a sine gliding from start_hz to end_hz."""
    t = np.arange(length) / sample_rate
    frequency = end_hz + (start_hz - end_hz) * np.exp(-t / sweep_s)
    return np.sin(2 * np.pi * np.cumsum(frequency) / sample_rate)


def _steady(hit: Hit, length: int, sample_rate: int, seed: int) -> np.ndarray:
    """Material of the hit's own colour that does not die away: the hit's (smoothed) spectrum
    with random phases, `length` frames long. A cymbal shaped from a knock that is over in
    20 ms must still ring for a second: the piece's envelope, not the hit's, sets its decay."""
    spectrum = np.abs(np.fft.rfft(hit.samples, n=max(len(hit.samples), 2048)))
    kernel = np.hanning(9)
    spectrum = np.convolve(spectrum, kernel / kernel.sum(), mode="same")
    frequencies = np.fft.rfftfreq(length, 1.0 / sample_rate)
    source_frequencies = np.fft.rfftfreq(max(len(hit.samples), 2048), 1.0 / sample_rate)
    magnitude = np.interp(frequencies, source_frequencies, spectrum)
    phases = np.random.default_rng(seed).uniform(0, 2 * np.pi, len(frequencies))
    return _unit(np.fft.irfft(magnitude * np.exp(1j * phases), length))


def _treble(material: np.ndarray, sample_rate: int, carrier_hz: float) -> np.ndarray:
    """Material moved up into the treble: ring modulation with a square carrier, high-passed."""
    t = np.arange(len(material)) / sample_rate
    carrier = np.sign(np.sin(2 * np.pi * carrier_hz * t) + 1e-9)
    carrier2 = np.sign(np.sin(2 * np.pi * carrier_hz * 1.4837 * t) + 1e-9)
    return _filter(material * (carrier + carrier2), sample_rate, "highpass", 5000.0)


def make_pieces(hits: list[Hit], sample_rate: int) -> dict[str, np.ndarray]:
    """Shape every kit piece from the best-suited hit (see module docstring)."""
    by_brightness = sorted(hits, key=lambda h: h.centroid_hz)
    darkest, brightest = by_brightness[0], by_brightness[-1]
    middle = by_brightness[len(by_brightness) // 2]
    longest = max(hits, key=lambda h: h.decay_s)
    sr = sample_rate

    def material(hit: Hit, length_s: float) -> np.ndarray:
        return _unit(_fit(hit.samples, int(length_s * sr)))

    n = int(0.5 * sr)
    kick = (0.9 * _body(n, sr, 140.0, 48.0, 0.03) * _decay(n, sr, 0.18)
            + 0.6 * _unit(_filter(material(darkest, 0.5), sr, "lowpass", 180.0))
            * _decay(n, sr, 0.09)
            + 0.15 * _unit(_filter(material(darkest, 0.5), sr, "highpass", 2000.0))
            * _decay(n, sr, 0.006))
    n = int(0.35 * sr)
    snare_noise = _unit(_filter(material(middle, 0.35), sr, "bandpass", (1200.0, 9000.0)))
    # The shell's ring: the hit's own colour in the 150-420 Hz band, under a faint pitched
    # body (a sine carrying much of a snare reads as a tone, not a drum).
    shell = _unit(_filter(_steady(middle, n, sr, 6), sr, "bandpass", (150.0, 420.0)))
    snare = (0.1 * _body(n, sr, 240.0, 185.0, 0.02) * _decay(n, sr, 0.04)
             + 0.5 * shell * _decay(n, sr, 0.07)
             + 0.8 * snare_noise * _decay(n, sr, 0.11)
             + 0.3 * _unit(_filter(material(middle, 0.35), sr, "bandpass", (150.0, 1200.0)))
             * _decay(n, sr, 0.05))
    n = int(0.12 * sr)
    side_stick = (_unit(_filter(material(middle, 0.12), sr, "bandpass", (800.0, 5000.0)))
                  * _decay(n, sr, 0.02) + 0.5 * _body(n, sr, 500.0, 450.0, 0.01)
                  * _decay(n, sr, 0.015))
    n = int(0.3 * sr)
    clap_source = _unit(_filter(material(middle, 0.3), sr, "bandpass", (900.0, 4000.0)))
    # Three quick bursts, then the room: how a handclap's envelope looks.
    bursts = sum(np.roll(_decay(n, sr, 0.008), int(k * 0.011 * sr)) for k in range(3))
    tail = np.roll(_decay(n, sr, 0.09), int(0.033 * sr))
    tail[: int(0.033 * sr)] = 0.0
    clap = clap_source * (bursts + tail)
    # Cymbals and hats: the brightest (and the longest-ringing) hit's colour made steady, moved
    # up into the treble with its own grain, then given the piece's decay: a closed hat is
    # over in 0.1 s, an open hat rings half a second, a crash about a second (-20 dB at 1 s).
    def metal(hit: Hit, length_s: float, carrier_hz: float, seed: int) -> np.ndarray:
        n = int(length_s * sr)
        steady = 0.7 * _steady(hit, n, sr, seed) + 0.3 * material(hit, length_s)
        return _unit(_treble(steady, sr, carrier_hz))

    closed_hat = metal(brightest, 0.15, 6500.0, 1) * _decay(int(0.15 * sr), sr, 0.03)
    open_hat = metal(brightest, 0.9, 6500.0, 2) * _decay(int(0.9 * sr), sr, 0.25,
                                                         attack_s=0.002)
    crash = metal(longest, 2.2, 4700.0, 3) * _decay(int(2.2 * sr), sr, 0.45, attack_s=0.003)
    ride_n = int(1.6 * sr)
    ride_wash = metal(brightest, 1.6, 5200.0, 4)
    # The ride's bell: narrow bands of the same steady material (not a sine) near 3 and 4.4 kHz.
    bell_material = _steady(brightest, ride_n, sr, 5)
    bell = _unit(_filter(bell_material, sr, "bandpass", (3000.0, 3300.0))
                 + 0.6 * _filter(bell_material, sr, "bandpass", (4300.0, 4600.0)))
    ride = (0.8 * ride_wash * _decay(ride_n, sr, 0.5)
            + 0.3 * bell * _decay(ride_n, sr, 0.25, attack_s=0.002))
    pieces = {"kick": kick, "snare": snare, "side_stick": side_stick, "clap": clap,
              "closed_hat": closed_hat, "open_hat": open_hat, "crash": crash, "ride": ride}
    for name, low_hz, high_hz in (("low_tom", 150.0, 82.0), ("mid_tom", 200.0, 115.0),
                                  ("high_tom", 260.0, 155.0)):
        n = int(0.6 * sr)
        pieces[name] = (0.9 * _body(n, sr, low_hz, high_hz, 0.05) * _decay(n, sr, 0.2)
                        + 0.4 * _unit(_filter(material(darkest, 0.6), sr, "bandpass",
                                              (high_hz, high_hz * 6))) * _decay(n, sr, 0.08))
    return pieces


def build_drum_kit(samples: np.ndarray, sample_rate: int, out_dir: Path, *,
                   written: dict[str, tuple[np.ndarray, int]] | None = None) -> Path:
    """Write `out_dir/drums.sfz` and `out_dir/samples/drums_*.wav`; return the .sfz path.

    `written`, when given, receives each sample's audio (name → audio, rate) for the SF2.
    """
    written = {} if written is None else written
    samples = np.asarray(samples, dtype=np.float64)
    if np.max(np.abs(samples)) < 1e-6:
        samples = np.random.default_rng(len(samples)).standard_normal(len(samples)) * 0.1
    hits = slice_hits(samples, sample_rate)
    pieces = make_pieces(hits, sample_rate)
    sample_dir = Path(out_dir) / "samples"
    sample_dir.mkdir(parents=True, exist_ok=True)
    regions: list[Region] = []
    for piece in PIECES:
        audio = _fade_out(piece.level * _unit(_from_attack(pieces[piece.name], sample_rate)),
                          sample_rate)
        name = f"drums_{piece.name}.wav"
        written[name] = (audio.astype(np.float32), sample_rate)
        sf.write(sample_dir / name, written[name][0], sample_rate, subtype="PCM_24")
        for key in piece.keys:
            regions.append(Region(sample=name, lokey=key, hikey=key, pitch_keycenter=float(key),
                                  group=piece.choke_group,
                                  off_by=piece.choke_group or None))
    # The source's own hits on the hand-percussion keys, brightest last.
    raw = sorted(hits, key=lambda h: h.centroid_hz)[:8]
    for index, hit in enumerate(raw):
        name = f"drums_source_{index:02d}.wav"
        audio = _fade_out(0.7 * _unit(hit.samples), sample_rate)
        written[name] = (audio.astype(np.float32), sample_rate)
        sf.write(sample_dir / name, written[name][0], sample_rate, subtype="PCM_24")
        for key in HAND_PERCUSSION_KEYS[index::len(raw)]:
            regions.append(Region(sample=name, lokey=key, hikey=key, pitch_keycenter=float(key)))
    shared = Region(sample="", loop_mode="one_shot", amp_veltrack=100.0, ampeg_release=0.03,
                    volume=DRUM_VOLUME_DB)
    for region in regions:
        region.loop_mode, region.amp_veltrack, region.ampeg_release = "one_shot", 100.0, 0.03
        region.volume = DRUM_VOLUME_DB
    card = InstrumentCard(
        role=Role.drums, envelope=EnvelopeCard(kind="one_shot", attack_s=0.0, decay_s=0.0,
                                               sustain_percent=100.0, release_s=0.03),
        zones=len(PIECES) + len(raw), round_robin=1,
        velocity="amp_veltrack 100 (level only)", volume_db=DRUM_VOLUME_DB)
    (Path(out_dir) / "drums.json").write_text(card.model_dump_json(indent=2) + "\n")
    return write_sfz(Path(out_dir) / "drums.sfz", regions, global_opcodes=shared,
                     comment=f"imagewave drums: {len(hits)} hits sliced from the source")


def _fade_out(audio: np.ndarray, sample_rate: int, fade_s: float = 0.01) -> np.ndarray:
    out = np.array(audio, copy=True)
    n = min(len(out), int(fade_s * sample_rate))
    out[-n:] *= np.linspace(1.0, 0.0, n)
    return out
