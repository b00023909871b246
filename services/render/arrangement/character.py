"""The picture's character: style, key, mode, tempo, meter, register and figures.

Everything here comes from the scene: its mood (numbers, else words), its words, its sound
sources and the pixel statistics the describe service measured (`scene.visual`). The seed only
breaks near-ties, so two pictures differ more than two seeds of one picture.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from imagewave.contracts.music import Style
from imagewave.contracts.scene import Scene, VisualFeatures
from services.render.arrangement.harmony import MODES_BY_BRIGHTNESS

# Mood words → (valence, arousal) nudges; the describer writes free English.
MOOD_WORDS: dict[str, tuple[float, float]] = {
    "happy": (0.8, 0.4), "joy": (0.8, 0.5), "joyful": (0.8, 0.5), "cheerful": (0.8, 0.4),
    "bright": (0.6, 0.2), "sunny": (0.6, 0.2), "playful": (0.6, 0.5), "warm": (0.5, -0.1),
    "festive": (0.7, 0.7), "celebrat": (0.7, 0.7), "hopeful": (0.5, 0.1), "lively": (0.5, 0.7),
    "vibrant": (0.5, 0.7), "energetic": (0.3, 0.9), "busy": (0.1, 0.7), "bustling": (0.2, 0.8),
    "exciting": (0.4, 0.8), "chaotic": (-0.2, 0.9), "intense": (-0.2, 0.8), "tense": (-0.5, 0.6),
    "urgent": (-0.2, 0.8), "ominous": (-0.7, 0.3), "eerie": (-0.6, 0.1), "mysterious": (-0.3, 0.0),
    "dark": (-0.6, 0.0), "gloomy": (-0.7, -0.3), "sad": (-0.8, -0.4), "melanchol": (-0.7, -0.4),
    "lonely": (-0.6, -0.5), "somber": (-0.7, -0.4), "nostalgic": (-0.2, -0.4),
    "calm": (0.2, -0.8), "peaceful": (0.4, -0.8), "serene": (0.4, -0.8), "quiet": (0.0, -0.7),
    "tranquil": (0.3, -0.8), "relax": (0.3, -0.6), "gentle": (0.3, -0.5), "soft": (0.2, -0.5),
    "dreamy": (0.2, -0.5), "sleepy": (0.0, -0.9), "still": (0.0, -0.7), "cozy": (0.5, -0.5),
    "romantic": (0.5, -0.3), "majestic": (0.4, 0.3), "epic": (0.2, 0.7), "cold": (-0.3, -0.2),
}
# Sound-source words → the figure they suggest to a musician.
FIGURE_WORDS: dict[str, tuple[str, ...]] = {
    "flow": ("water", "sea", "ocean", "wave", "river", "stream", "rain", "fountain", "lake",
             "drip", "surf", "shore", "brook", "splash", "puddle"),
    "chirp": ("bird", "gull", "crow", "owl", "insect", "cricket", "cicada", "frog", "parrot",
              "songbird", "chirp", "tweet", "duck", "pigeon"),
    "pulse": ("engine", "car", "traffic", "train", "machine", "motor", "clock", "factory",
              "tram", "bus", "truck", "siren", "horn", "subway", "scooter", "neon", "generator"),
    "chatter": ("crowd", "people", "voice", "market", "children", "chatter", "talk", "laugh",
                "footstep", "cafe", "vendor", "shopper", "stall", "festival", "audience"),
    "drone": ("wind", "breeze", "air", "hum", "storm", "thunder", "snow", "sand", "desert",
              "dune", "fog", "mist", "ice"),
    "ring": ("bell", "chime", "glass", "metal", "clink", "cutlery", "cup", "bottle", "steel",
             "cymbal", "bowl"),
    "crackle": ("fire", "flame", "crackl", "leaves", "leaf", "rustl", "gravel", "twig"),
}


@dataclass(frozen=True)
class StyleProfile:
    """How a style plays: tempo range, feel, dynamics and each role's habits per section."""

    tempo_bpm: tuple[float, float]
    swing: float  # 0.5 straight .. 0.67 triplet, applied to `swing_unit` offbeats
    swing_unit: float  # beats: 0.5 swings eighths, 0.25 sixteenths
    timing_ms: float  # humanisation spread
    energy: tuple[float, float]  # quietest .. loudest section
    waltz_chance: float  # how readily a calm picture turns 3/4
    sevenths: bool  # lo-fi and jazz-leaning colours
    melody_density: float  # 0 sparse .. 1 busy
    drum_family: str
    programs: dict[str, int]  # GM programs: melody, keys, guitar, bass
    # Per section kind, what keys / guitar / bass play.
    keys: dict[str, str]
    guitar: dict[str, str]
    bass: dict[str, str]
    lift_last_chorus: bool = False  # modulate up for the final chorus


STYLES: dict[Style, StyleProfile] = {
    Style.ambient: StyleProfile(
        tempo_bpm=(60, 84), swing=0.5, swing_unit=0.5, timing_ms=12, energy=(0.2, 0.7),
        waltz_chance=0.35, sevenths=True, melody_density=0.2, drum_family="pulse",
        programs={"melody": 11, "keys": 89, "guitar": 24, "bass": 35},
        keys={"intro": "pad", "verse": "pad", "chorus": "arp", "bridge": "pad", "ending": "pad"},
        guitar={"intro": "swell", "verse": "answer", "chorus": "pick", "bridge": "swell",
                "ending": "swell"},
        bass={"intro": "pedal", "verse": "root", "chorus": "root", "bridge": "pedal",
              "ending": "root"}),
    Style.lofi: StyleProfile(
        tempo_bpm=(70, 92), swing=0.6, swing_unit=0.25, timing_ms=14, energy=(0.3, 0.8),
        waltz_chance=0.0, sevenths=True, melody_density=0.45, drum_family="boombap",
        programs={"melody": 4, "keys": 4, "guitar": 26, "bass": 32},
        keys={"intro": "pad", "verse": "comp", "chorus": "comp", "bridge": "pad",
              "ending": "pad"},
        guitar={"intro": "pick", "verse": "answer", "chorus": "pick", "bridge": "answer",
                "ending": "swell"},
        bass={"intro": "root", "verse": "walk", "chorus": "walk", "bridge": "root",
              "ending": "root"}),
    Style.pop: StyleProfile(
        tempo_bpm=(92, 128), swing=0.5, swing_unit=0.5, timing_ms=7, energy=(0.35, 1.0),
        waltz_chance=0.0, sevenths=False, melody_density=0.6, drum_family="backbeat",
        programs={"melody": 0, "keys": 0, "guitar": 25, "bass": 33},
        keys={"intro": "arp", "verse": "comp", "chorus": "stabs", "bridge": "pad",
              "ending": "pad"},
        guitar={"intro": "pick", "verse": "answer", "chorus": "strum", "bridge": "pick",
                "ending": "strum"},
        bass={"intro": "root", "verse": "synco", "chorus": "pulse", "bridge": "root",
              "ending": "root"},
        lift_last_chorus=True),
    Style.folk: StyleProfile(
        tempo_bpm=(84, 118), swing=0.55, swing_unit=0.5, timing_ms=10, energy=(0.3, 0.85),
        waltz_chance=0.45, sevenths=False, melody_density=0.55, drum_family="folk",
        programs={"melody": 73, "keys": 21, "guitar": 25, "bass": 32},
        keys={"intro": "pad", "verse": "pad", "chorus": "comp", "bridge": "arp",
              "ending": "pad"},
        guitar={"intro": "pick", "verse": "pick", "chorus": "strum", "bridge": "answer",
                "ending": "pick"},
        bass={"intro": "root", "verse": "root", "chorus": "walk", "bridge": "root",
              "ending": "root"}),
    Style.cinematic: StyleProfile(
        tempo_bpm=(66, 104), swing=0.5, swing_unit=0.5, timing_ms=9, energy=(0.2, 1.0),
        waltz_chance=0.3, sevenths=False, melody_density=0.35, drum_family="cinematic",
        programs={"melody": 48, "keys": 49, "guitar": 24, "bass": 32},
        keys={"intro": "pad", "verse": "arp", "chorus": "pad", "bridge": "pad",
              "ending": "pad"},
        guitar={"intro": "swell", "verse": "pick", "chorus": "chug", "bridge": "answer",
                "ending": "swell"},
        bass={"intro": "pedal", "verse": "root", "chorus": "pulse", "bridge": "pedal",
              "ending": "root"},
        lift_last_chorus=True),
    Style.electronic: StyleProfile(
        tempo_bpm=(100, 132), swing=0.52, swing_unit=0.25, timing_ms=4, energy=(0.3, 1.0),
        waltz_chance=0.0, sevenths=True, melody_density=0.55, drum_family="four",
        programs={"melody": 80, "keys": 81, "guitar": 27, "bass": 38},
        keys={"intro": "pad", "verse": "arp", "chorus": "stabs", "bridge": "pad",
              "ending": "pad"},
        guitar={"intro": "answer", "verse": "chug", "chorus": "pick", "bridge": "answer",
                "ending": "swell"},
        bass={"intro": "pedal", "verse": "pulse", "chorus": "synco", "bridge": "pedal",
              "ending": "root"}),
}


@dataclass
class Character:
    """The composer's brief, read off the picture."""

    style: Style
    profile: StyleProfile
    tonic: int  # pitch class
    mode: str
    tempo_bpm: float  # wanted; the form fits it to whole bars
    beats_per_bar: int
    valence: float
    arousal: float
    mood_source: str
    visual: VisualFeatures
    figures: list[str]
    register: int  # semitones to shift the melody's home, -4 .. +5
    density: float  # 0 sparse .. 1 busy
    reasons: list[str] = field(default_factory=list)


def mood_from_scene(scene: Scene) -> tuple[float, float, str]:
    """(valence, arousal, source): the describer's numbers, else an average of mood words."""
    if scene.mood is not None:
        return scene.mood.valence, scene.mood.arousal, "mood"
    words = re.findall(r"[a-z]+", scene.mood_description.lower())
    hits = [value for word in words for stem, value in MOOD_WORDS.items()
            if word.startswith(stem)]
    if not hits:
        return 0.0, 0.0, "neutral"
    valence, arousal = np.mean(np.asarray(hits), axis=0)
    return float(valence), float(arousal), "words"


def scene_words(scene: Scene) -> list[str]:
    text = " ".join([scene.scene_description, scene.mood_description] +
                    [f"{s.name} {s.material} " + " ".join(v.play_method for v in s.variants)
                     for s in scene.sound_sources])
    return re.findall(r"[a-z]+", text.lower())


def figures_from_scene(scene: Scene) -> list[str]:
    """Figures the sound sources suggest, strongest first (sources count double)."""
    counts: dict[str, float] = {}
    source_words = re.findall(r"[a-z]+", " ".join(
        f"{s.name} {s.material}" for s in scene.sound_sources).lower())
    for weight, words in ((2.0, source_words), (1.0, scene_words(scene))):
        for word in words:
            for figure, stems in FIGURE_WORDS.items():
                if any(word.startswith(stem) for stem in stems):
                    counts[figure] = counts.get(figure, 0.0) + weight
    return [name for name, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def visual_or_guess(scene: Scene, valence: float) -> VisualFeatures:
    """The measured pixels, else a guess from the words (night is dark, sunny is bright)."""
    if scene.visual is not None:
        return scene.visual
    words = set(scene_words(scene))
    brightness = 0.5 + 0.15 * valence
    brightness += 0.2 * bool(words & {"sunny", "bright", "daylight", "snow", "white"})
    brightness -= 0.3 * bool(words & {"night", "dark", "darkness", "dim", "midnight"})
    warmth = 0.15 * bool(words & {"warm", "golden", "sunset", "fire", "desert", "orange"})
    warmth -= 0.15 * bool(words & {"cold", "blue", "snow", "ice", "winter", "night"})
    return VisualFeatures(brightness=float(np.clip(brightness, 0, 1)),
                          warmth=float(np.clip(warmth, -1, 1)), saturation=0.3, contrast=0.4,
                          busyness=0.3, hue_deg=0.0)


# Each style's home in picture space: (valence, arousal, brightness, warmth, saturation,
# contrast, busyness). A picture goes to the nearest, helped by what its sources suggest.
STYLE_PROTOTYPES: dict[Style, tuple[float, ...]] = {
    Style.ambient: (0.1, -0.8, 0.6, 0.0, 0.2, 0.15, 0.05),
    Style.lofi: (0.0, -0.3, 0.3, 0.15, 0.35, 0.25, 0.15),
    Style.pop: (0.7, 0.4, 0.65, 0.1, 0.6, 0.4, 0.25),
    Style.folk: (0.4, -0.2, 0.55, 0.25, 0.45, 0.3, 0.2),
    Style.cinematic: (-0.3, 0.1, 0.4, 0.0, 0.35, 0.6, 0.1),
    Style.electronic: (0.0, 0.5, 0.2, -0.2, 0.6, 0.4, 0.35),
}
# valence and arousal span -1..1, the pixel features 0..1: halve the former's differences.
FEATURE_WEIGHTS = (0.25, 0.3, 1.5, 1.5, 1.0, 1.0, 1.5)
VAST_WORDS = {"mountain", "desert", "dune", "snow", "sky", "canyon", "glacier", "storm",
              "valley", "cliff", "ocean", "horizon"}


def choose_style(valence: float, arousal: float, visual: VisualFeatures, figures: list[str],
                 words: set[str], rng: np.random.Generator) -> tuple[Style, str]:
    """The style nearest the picture; the seed decides between near-equal ones."""
    point = (valence, arousal, visual.brightness, visual.warmth, visual.saturation,
             visual.contrast, visual.busyness)
    urban = sum(f in figures for f in ("pulse", "chatter"))
    nature = sum(f in figures for f in ("chirp", "flow", "crackle"))
    bonus = {
        Style.ambient: 0.3 * ("drone" in figures[:2]) + 0.1 * ("flow" in figures),
        Style.lofi: 0.1 * urban + 0.15 * ("crackle" in figures),
        Style.pop: 0.2 * ("chatter" in figures),
        Style.folk: 0.1 * nature - 0.1 * urban,
        Style.cinematic: 0.3 * bool(words & VAST_WORDS),
        Style.electronic: 0.3 * ("pulse" in figures) + 0.1 * urban - 0.1 * nature,
    }
    scores = {style: bonus[style] - sum(
        weight * (x - p) ** 2 for weight, x, p in zip(FEATURE_WEIGHTS, point, prototype,
                                                      strict=True))
        for style, prototype in STYLE_PROTOTYPES.items()}
    jitter = {style: float(rng.uniform(0.0, 0.04)) for style in scores}
    best = max(scores, key=lambda style: scores[style] + jitter[style])
    return best, f"style {best.value}: nearest to the picture (" + ", ".join(
        f"{s.value} {scores[s]:+.2f}" for s in sorted(scores, key=lambda s: -scores[s])[:3]) + ")"


def choose_tonic(visual: VisualFeatures, words: list[str], rng: np.random.Generator) -> tuple[
        int, str]:
    """Colour → key along the circle of fifths (red C, orange G, yellow D, green A, cyan E,
    blue B, violet F#...); a grey picture's key follows its light instead."""
    if visual.saturation >= 0.12:
        fifths = int(round(visual.hue_deg / 30.0)) % 12
        why = f"key from the dominant hue {visual.hue_deg:.0f}°"
    else:
        fifths = int(round(visual.brightness * 8 - 4)) % 12  # dark → flats, light → sharps
        why = f"key from the light of a grey picture (brightness {visual.brightness:.2f})"
    # The words of the picture nudge it one fifth either way: pictures of one colour differ.
    fifths += (sum(map(ord, "".join(sorted(set(words))))) % 3) - 1
    if rng.random() < 0.2:  # the seed may move it a fifth, no further
        fifths += int(rng.choice([-1, 1]))
    return (7 * fifths) % 12, why


def choose_mode(valence: float, visual: VisualFeatures, style: Style,
                rng: np.random.Generator) -> tuple[str, str]:
    light = (0.65 * valence + 0.5 * (visual.brightness - 0.5) + 0.3 * visual.warmth
             + 0.15 * (visual.saturation - 0.3))
    light += float(rng.uniform(-0.06, 0.06))
    # Thresholds from bright to dark; a dark, hard picture reaches phrygian only in drama.
    thresholds = (0.5, 0.12, -0.02, -0.18, -0.55)
    index = sum(light < t for t in thresholds)
    mode = MODES_BY_BRIGHTNESS[index]
    if mode == "phrygian" and style not in (Style.cinematic, Style.electronic):
        mode = "minor"
    if mode == "lydian" and style in (Style.lofi, Style.folk):
        mode = "major"
    return mode, f"mode {mode}: light {light:+.2f} (valence, brightness, warmth)"


def read_character(scene: Scene, style: Style | None, rng: np.random.Generator) -> Character:
    valence, arousal, mood_source = mood_from_scene(scene)
    visual = visual_or_guess(scene, valence)
    figures = figures_from_scene(scene)
    words = scene_words(scene)
    reasons = []
    if style is None:
        style, why = choose_style(valence, arousal, visual, figures, set(words), rng)
        reasons.append(why)
    else:
        reasons.append(f"style {style.value}: asked for")
    profile = STYLES[style]
    tonic, why_key = choose_tonic(visual, words, rng)
    mode, why_mode = choose_mode(valence, visual, style, rng)
    low, high = profile.tempo_bpm
    drive = float(np.clip(0.5 + 0.4 * arousal + 0.25 * (visual.busyness - 0.3)
                          + 0.1 * ("pulse" in figures) - 0.1 * ("drone" in figures), 0, 1))
    tempo = low + drive * (high - low) + float(rng.uniform(-2.0, 2.0))
    calm_flow = arousal < 0.1 and bool({"flow", "chirp"} & set(figures[:1]))
    # A smooth, calm picture of water, wind or birds may sway in three, where the style allows.
    sway = (1 - visual.busyness) * (1 - arousal) / 2
    beats = 3 if calm_flow and profile.waltz_chance and sway > 1 - 0.6 * profile.waltz_chance \
        else 4
    register = int(np.clip(round(6 * (visual.brightness - 0.5) + 3 * ("chirp" in figures)
                                 - 2 * ("drone" in figures[:1])), -4, 5))
    density = float(np.clip(0.35 + 0.35 * arousal + 0.35 * visual.busyness
                            + 0.1 * ("chatter" in figures), 0.05, 1.0))
    reasons += [why_key, why_mode,
                f"tempo {tempo:.0f} bpm: arousal {arousal:+.2f}, busyness {visual.busyness:.2f}",
                f"meter {beats}/4" + (": calm, flowing sources" if beats == 3 else ""),
                "figures: " + (", ".join(figures) if figures else "none")]
    return Character(style=style, profile=profile, tonic=tonic, mode=mode, tempo_bpm=tempo,
                     beats_per_bar=beats, valence=valence, arousal=arousal,
                     mood_source=mood_source, visual=visual, figures=figures, register=register,
                     density=density, reasons=reasons)
