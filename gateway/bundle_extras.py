"""What bundle.zip adds to a job's artifacts so a producer can use it without the API: the
picture it came from, a 44.1 kHz 16-bit WAV of the mix to share, and a README saying what each
file is, the song's tempo and key, and how to load the instruments in sfizz, Decent Sampler or
a DAW."""

from __future__ import annotations

import io
import logging

import numpy as np
import soundfile as sf
import soxr

from imagewave.artifacts import ArtifactStore
from imagewave.contracts import layout

log = logging.getLogger(__name__)

SHARE_WAV = "mix-44k1-16bit.wav"
SHARE_RATE = 44_100
README = "README.txt"

_WHAT = {  # artifact name prefix → what it is, for the README
    layout.MIX_WAV: "the song, 48 kHz 32-bit float WAV (the master)",
    layout.MIX_FLAC: "the same song, FLAC (lossless, smaller)",
    SHARE_WAV: "the song as a 44.1 kHz 16-bit WAV, for sharing and CD-style players",
    layout.ARRANGEMENT_MIDI: "the arrangement as General MIDI: drag it into a DAW",
    layout.ARRANGEMENT_INDEX: "where the arrangement came from: tempo, key, chords, and "
                              "which role each MIDI track played",
    layout.STEMS_DIR: "one FLAC per instrument role (drums, bass, keyboard, guitar), time-aligned",
    "instruments": "the instruments made from the picture's sounds: <role>/<role>.sfz with its "
                   "samples/, <role>.sf2 (the same instrument as a SoundFont) and preview.wav",
    layout.SCENE: "what the picture was heard as: sound sources, materials, mood",
    layout.ROLES: "which sound became which instrument, and why",
    "sfx": "the sound effect made for each sound source",
    "timbre": "each melodic instrument's voice, made from an effect",
    "picture": "the picture the song was made from",
}


def share_wav(mix_wav: bytes) -> bytes:
    """48 kHz float → 44.1 kHz 16-bit PCM (high-quality resampling, TPDF dither)."""
    samples, rate = sf.read(io.BytesIO(mix_wav), dtype="float32", always_2d=True)
    if rate != SHARE_RATE:
        samples = soxr.resample(samples, rate, SHARE_RATE, quality="HQ")
    lsb = 1 / 32768
    rng = np.random.default_rng(0)
    dither = (rng.random(samples.shape) - rng.random(samples.shape)) * lsb
    pcm = np.clip(np.round((samples + dither) * 32767), -32768, 32767).astype(np.int16)
    out = io.BytesIO()
    sf.write(out, pcm, SHARE_RATE, format="WAV", subtype="PCM_16")
    return out.getvalue()


def _song_line(store: ArtifactStore, job_id: str) -> str:
    if not store.exists(job_id, layout.ARRANGEMENT_INDEX):
        return ""
    index = layout.ArrangementIndex.model_validate_json(
        store.get_bytes(job_id, layout.ARRANGEMENT_INDEX))
    if index.summary is not None:
        s = index.summary
        return (f"Tempo {s.tempo_bpm:g} BPM, key {s.key} {s.mode}, {s.bars} bars "
                f"({s.length_s:.1f} s); chords {' '.join(s.chords)}. Set your DAW's project "
                f"tempo to {s.tempo_bpm:g} BPM before importing arrangement.mid or the stems.\n")
    tracks = ", ".join(f"track {t.index} ({t.name}) → {t.role.value}" for t in index.tracks or [])
    return ("The arrangement is the MIDI file you uploaded; its tempo and key are its own.\n"
            + (f"Roles played: {tracks}.\n" if tracks else ""))


def readme(store: ArtifactStore, job_id: str, names: list[str], picture: str | None) -> str:
    present = []
    for key, text in _WHAT.items():
        shown = picture if key == "picture" else key
        if not shown:
            continue
        if shown in names:
            present.append(f"  {shown:22s} {text}")
        elif any(n.startswith(shown + "/") for n in names):
            present.append(f"  {shown + '/':22s} {text}")
    return f"""imagewave — the song of your picture (job {job_id})

{_song_line(store, job_id)}
What is here
{chr(10).join(present)}

Playing the instruments
  sfizz (free, sfz.tools/sfizz): load instruments/<role>/<role>.sfz in the sfizz plug-in or
    run `sfizz_jack instruments/bass/bass.sfz`; keep the samples/ folder next to the .sfz.
  Decent Sampler (free): it reads its own .dspreset format, not SFZ or SF2; open the .sfz
    in sfizz instead, or build a preset from the plain WAV files in samples/ (the .sfz lists
    each sample's root key and key range).
  SoundFont players (FluidSynth, Polyphone, a DAW's SF2 instrument): load
    instruments/<role>/<role>.sf2; drums are a percussion kit (bank 128).
    `fluidsynth -F out.wav instruments/bass/bass.sf2 arrangement.mid` renders from the shell.
  In a DAW (Reaper, Ableton Live, Bitwig, Logic with an SFZ/SF2 plug-in): import
    arrangement.mid, put an sfizz (or SF2 player) instance on each track with the matching
    role's instrument (arrangement.json says which track is which role), or just drop the
    stems/ onto audio tracks at bar 1.
"""


def extras(store: ArtifactStore, job_id: str, names: list[str]) -> list[tuple[str, bytes]]:
    """(name in the bundle, content) of what the bundle adds beside the artifacts."""
    added: list[tuple[str, bytes]] = []
    picture = None
    for artifact in store.list(job_id, prefix=layout.INPUT_DIR):
        stem = artifact.name.rsplit("/", 1)[-1]
        if not artifact.name.endswith(".mid"):
            picture = f"picture.{stem.rsplit('.', 1)[-1]}"
            added.append((picture, store.get_bytes(job_id, artifact.name)))
    if layout.MIX_WAV in names:
        try:
            added.append((SHARE_WAV, share_wav(store.get_bytes(job_id, layout.MIX_WAV))))
        except (sf.LibsndfileError, RuntimeError, ValueError):
            # An unreadable master still gets its bundle, without the sharing copy.
            log.warning("job %s: mix.wav unreadable, bundle without %s", job_id, SHARE_WAV)
    all_names = names + [name for name, _ in added]
    added.append((README, readme(store, job_id, all_names, picture).encode()))
    return added
