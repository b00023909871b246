"""From a sound source's words to a synthesis recipe.

A `SoundSource` names a thing, its material and how it sounds (`play_method`, `timbre` words).
`choose_recipe` reads those words in a fixed order of rules — liquids, fire, animals, people,
machines, moving air and soft materials, then solid objects by action and material — and the
first rule whose keywords match picks the synthesiser. Timbre words then shift brightness,
density, size and regularity. Anything unmatched falls back to impacts on its material, or to a
soft air bed when no material is named either: quiet, plausible, and never a note.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from imagewave.contracts.scene import SoundSource, SoundVariant
from services.t2a.engines.procedural import air, animals, crowd, machines, modal, water
from services.t2a.engines.procedural.primitives import SynthContext

Synth = Callable[[SynthContext], np.ndarray]


@dataclass(frozen=True)
class Recipe:
    family: str  # module: modal, water, air, animals, machines, crowd
    synth: Synth
    summary: str  # human-readable: what is synthesised and how


@dataclass(frozen=True)
class Character:
    """What the timbre and play-method words say about the sound, as synth controls."""

    brightness: float = 0.0
    density: float = 1.0
    size: float = 0.0
    regular: bool = False

    def describe(self) -> str:
        words = []
        if self.brightness:
            words.append(f"brightness {self.brightness:+.1f}")
        if self.density != 1.0:
            words.append(f"density x{self.density:.2f}")
        if self.size:
            words.append(f"size {self.size:+.1f}")
        if self.regular:
            words.append("regular")
        return ", ".join(words) or "neutral"


def _matches(text: str, words: str) -> bool:
    """True when any of the |-separated word stems starts a word in `text`."""
    return re.search(rf"\b(?:{words})", text) is not None


_MATERIAL_WORDS: dict[str, str] = {
    "metal": r"metal|steel|iron|brass|copper|alumin|tin\b|chrome|bell|chain|spoon|fork|knife|"
             r"cutlery|coin|keys?\b|wire|barricade|railing|pan\b|cymbal|anchor|bolt|hinge",
    "glass": r"glass|bottle|window|crystal|jar\b|lens|mirror|wine|visor",
    "ceramic": r"ceramic|porcelain|tile|clay|pottery|china|cup\b|cups|mug|saucer|plate|bowl|"
               r"vase|terracotta|pot\b",
    "stone": r"stone|rock|concrete|brick|marble|granite|pebble|cobble|pavement|asphalt|slate",
    "wood": r"wood|timber|bamboo|oak|pine|plank|board|log\b|logs|branch|shutter|door|table|"
            r"chair|floor|deck|furniture|bench|crate|barrel",
    "plastic": r"plastic|polyethylene|vinyl|acrylic|polymer|resin|toy|helmet|keyboard|"
               r"mouse|button",
    "rubber": r"rubber|tyre|tire|ball\b|boot",
}


def material_of(*texts: str) -> str | None:
    """The first material any text names (texts in priority order; earliest mention wins)."""
    for text in texts:
        found = [(m.start(), name) for name, words in _MATERIAL_WORDS.items()
                 if (m := re.search(rf"\b(?:{words})", text))]
        if found:
            return min(found)[1]
    return None


_BRIGHT = r"bright|shrill|crisp|sharp|tinny|shimmer|sparkl|high|airy|crinkl|metallic|brilliant|" \
          r"clear|glassy|piercing|hiss|sizzl|thin"
_DARK = r"dark|dull|muffled|deep|low|warm|mellow|rumbl|muted|damped|thick|heavy|boom|thud|" \
        r"hollow|soft"
_SPARSE = r"sparse|occasional|faint|single|subtle|gentle|slow|quiet|intermittent|distant|" \
          r"lone|rare|calm|hushed|delicate|light"
_DENSE = r"busy|dense|bustling|constant|rapid|fast|frantic|many|loud|continuous|heavy|" \
         r"roaring|chaotic|crowded|lively|energetic|intense"
_LARGE = r"large|big|huge|heavy|massive|giant|deep|booming|resonant|thunder"
_SMALL = r"small|tiny|little|delicate|light|thin|dainty|petite"
_REGULAR = r"rhythm|steady|regular|periodic|repetitive|hourly|ticking|metronom|pulsing|marching"


def character_of(variant: SoundVariant) -> Character:
    text = " ".join([variant.play_method, *variant.timbre]).lower()

    def count(words: str) -> int:
        return len(re.findall(rf"\b(?:{words})", text))

    brightness = float(np.clip(0.5 * (count(_BRIGHT) - count(_DARK)), -1.0, 1.0))
    density = float(np.clip(1.6 ** (count(_DENSE) - count(_SPARSE)), 0.35, 3.0))
    size = float(np.clip(0.5 * (count(_LARGE) - count(_SMALL)), -1.0, 1.0))
    return Character(brightness, density, size, count(_REGULAR) > 0)


def _surface_of(text: str) -> str:
    for surface in ("gravel", "grass", "snow", "sand", "leaves"):
        if surface in text:
            return surface
    return material_of(text) or "stone"


# Each rule: (keywords matched in the source's words, builder(text, material) -> Recipe).
Rule = tuple[str, Callable[[str, str | None], Recipe]]

_RULES: list[Rule] = [
    # Liquids
    (r"rain|drizzl|downpour|storm|shower", lambda t, m: Recipe(
        "water", partial(water.rain, intensity=1.6 if _matches(t, "storm|heavy|downpour") else
                         1.0), "rain: dense drop patter, splash hiss and low roar")),
    (r"wave|surf|sea\b|ocean|tide|shore|beach|breaker", lambda t, m: Recipe(
        "water", water.waves, "waves: swelling low noise breaking into foam hiss")),
    (r"drip|droplet|drop of water|leak|trickl", lambda t, m: Recipe(
        "water", water.drops, "drips: splash clicks and rising Minnaert bubbles")),
    (r"pour|filling|fill", lambda t, m: Recipe(
        "water", water.pour, "pouring: a bubbling stream that starts and stops")),
    (r"splash|paddl|swim|dive|jump in", lambda t, m: Recipe(
        "water", water.splash, "splashes: noise bursts with a tail of bubbles")),
    (r"boil|fizz|bubbl|simmer|sizzl|carbonat|soda|espresso|coffee|brew", lambda t, m: Recipe(
        "water", water.bubbling, "bubbling: dense small bubbles over a soft roar")),
    (r"waterfall|cascade", lambda t, m: Recipe(
        "machines", partial(machines.roar, crackle=0.1),
        "waterfall: massive broadband roar")),
    (r"stream|river|brook|creek|fountain|flow\b|flowing|flows\b|faucet|tap running|gurgl|"
     r"canal|water|liquid|lake|pond|sip|slurp", lambda t, m: Recipe(
        "water", water.stream, "flowing water: bubbles and turbulent noise")),
    # Fire
    (r"fire|flame|campfire|fireplace|burn|ember|torch|candle|bonfire", lambda t, m: Recipe(
        "air", air.fire, "fire: low roar, hiss and random crackles")),
    # Animals
    (r"purr", lambda t, m: Recipe("animals", animals.purr,
                                  "purr: 25 Hz low noise bursts, inhale/exhale")),
    (r"cicada", lambda t, m: Recipe("animals", partial(animals.insects, kind="cicadas"),
                                    "cicadas: broad pulsing noisy buzz")),
    (r"bee\b|bees|wasp|fly\b|flies|mosquito|hornet|buzzing insect", lambda t, m: Recipe(
        "animals", partial(animals.insects, kind="bees"), "insect wings: wandering rough buzz")),
    (r"cricket|insect|grasshopper|katydid|bug", lambda t, m: Recipe(
        "animals", partial(animals.insects, kind="crickets"),
        "crickets: a chorus of rough pulsed chirps")),
    (r"bird|chirp|tweet|sparrow|robin|finch|songbird|warbl|parrot|gull|seagull|pigeon|dove|"
     r"owl|feather|nest", lambda t, m: Recipe(
        "animals", animals.bird_chirps, "birds: fast chirp sweeps from a few birds in foliage")),
    (r"meow|cat\b|cats|kitten|feline", lambda t, m: Recipe(
        "animals", animals.meow, "cat: rough breathy meows gliding up")),
    (r"bark|dog|puppy|hound|woof|growl|wolf", lambda t, m: Recipe(
        "animals", animals.bark, "dog: short rough jittered barks")),
    (r"cow|moo|cattle|bull\b|ox\b|horse|neigh|whinn|sheep|bleat|goat|elephant|lion|tiger|bear\b|"
     r"camel|donkey|pig\b|grunt", lambda t, m: Recipe(
        "animals", animals.low_call, "large animal: long low rough calls")),
    (r"frog|croak|duck|quack|crow\b|caw|goose|honk|raven|toad", lambda t, m: Recipe(
        "animals", animals.croak, "croaks: short rasping calls")),
    (r"hoof|hooves|gallop|trot", lambda t, m: Recipe(
        "animals", animals.hooves, "hooves: heavy heel-toe thuds")),
    # People
    (r"applau|clap|cheer|ovation", lambda t, m: Recipe(
        "crowd", crowd.applause, "applause: dense claps")),
    (r"footstep|walking|walk\b|walks\b|stroll\b|strolling|marching|jogging|running|stomp|"
     r"treading|pedestrian", lambda t, m: Recipe(
        "crowd", partial(crowd.footsteps, surface=_surface_of(t)),
        f"footsteps: heel-toe hits on {_surface_of(t)}")),
    (r"crowd|people|audience|chatter|talk|voice|babble|conversation|market|cafe|café|"
     r"spectator|children|kids|tourist|shopper|murmur|laugh|officer|person|man\b|woman",
     lambda t, m: Recipe("crowd", crowd.babble,
                         "crowd: nearby voices over syllable-modulated speech noise")),
    (r"breath|sigh|exhal|inhal|snor", lambda t, m: Recipe(
        "air", air.breath, "breathing: slow swells of band-passed noise")),
    # Machines
    (r"traffic|street|road|highway|intersection|avenue", lambda t, m: Recipe(
        "machines", machines.traffic, "traffic: passing cars over a distant rumble")),
    (r"train|tram|rail|locomotive|subway|metro", lambda t, m: Recipe(
        "machines", machines.train, "train: paired rail clacks on a heavy rumble")),
    (r"rocket|jet\b|airplane|aeroplane|aircraft|plane\b|thrust|launch|exhaust|turbine|"
     r"helicopter|blast|explos|thunder|shuttle|spacecraft", lambda t, m: Recipe(
        "machines", machines.roar, "roar: broadband low roar with crackle")),
    (r"engine|car\b|cars|truck|bus\b|motorbike|motorcycle|scooter|tractor|idl|rev|vehicle|"
     r"boat|van\b|taxi|lorry", lambda t, m: Recipe(
        "machines", partial(machines.engine, revving=_matches(t, "rev|accelerat|speed")),
        "engine: jittered firing pulses through an exhaust, intake noise")),
    (r"vibrat|phone|buzzer|pager|alert|notification", lambda t, m: Recipe(
        "machines", machines.vibration, "vibration: bursts of a rough rattling buzz")),
    (r"clock|tick|timer|watch\b|metronome", lambda t, m: Recipe(
        "machines", machines.ticking, "ticking: regular small mechanical ticks")),
    (r"motor|fan\b|fans|drill|blender|vacuum|mixer|grinder|machine|whir|propeller|pump|"
     r"compressor|printer|robot|drone|mill\b|sewing", lambda t, m: Recipe(
        "machines", machines.motor, "motor: rough rotation buzz in air and brush noise")),
    (r"hum|fridge|refrigerator|transformer|neon|electric|computer|server|appliance|lamp|"
     r"light bulb|monitor|screen|television|tv\b|radio|speaker|amplifier", lambda t, m: Recipe(
        "machines", machines.hum, "hum: fan and air noise with a faint mains hum")),
    (r"keyboard|typing|click|switch|camera|mouse|button|latch|lock|stapler|pen\b",
     lambda t, m: Recipe("machines", partial(machines.clicks, material=m or "plastic"),
                         f"clicks: small short {m or 'plastic'} clicks")),
    (r"steam|hiss|spray|static|kettle|aerosol|leak", lambda t, m: Recipe(
        "air", air.hiss, "hiss: steady band-passed noise")),
    # Rolling first: a wheel that squeaks is still rolling
    (r"roll|wheel|cart|stroller|pram|trolley|skateboard|suitcase|wagon|bicycle|bike",
     lambda t, m: Recipe("modal", partial(modal.rolling, material=m or "plastic",
                                          surface=_surface_of(t.split(" on ")[-1])),
                         "rolling: surface rumble, small ticks and squeaks")),
    # Creaks before moving air: "a hinge creaks in the breeze" is a creak
    (r"creak|squeak|groan|hinge|swing", lambda t, m: Recipe(
        "modal", partial(modal.creak, material=m if m in ("wood", "metal", "plastic") else "wood"),
        f"creak: irregular stick-slip pulses exciting {m or 'wood'} modes")),
    # Moving air and soft materials
    (r"flag|sail|banner|flap|flutter|wing|awning|kite|tarp|tent", lambda t, m: Recipe(
        "air", air.flutter, "flutter: irregularly chopped noise with snaps")),
    (r"rustl|leaves|leaf|foliage|grass|bush|shrub|frond|palm|reed|branch|tree|hay|straw|"
     r"plant|flower|crop|wheat|forest|hedge", lambda t, m: Recipe(
        "air", partial(air.rustle, kind="grass" if _matches(t, "grass|hay|straw|wheat|crop")
                       else "fronds" if _matches(t, "frond|palm") else "leaves"),
        "rustle: granular noise grains carried by gusts")),
    (r"crinkl|crumpl|paper|wrapper|bag\b|bags|foil|page|book|newspaper|cardboard|envelope|map\b|"
     r"lantern|packet|cellophane", lambda t, m: Recipe(
        "air", partial(air.crinkle, kind="plastic" if _matches(t, "plastic|polyethylene|"
                                                            "cellophane|bag") else "paper"),
        "crinkle: bursts of sharp crackles with hiss")),
    (r"fabric|cloth|cotton|clothes|clothing|suit|nylon|jacket|curtain|dress|swish|sweep|broom|"
     r"glove|blanket|sheet|towel|silk|wool|uniform|zip|costume|tail", lambda t, m: Recipe(
        "air", air.swish, "swish: soft swells of band-passed noise")),
    # Solid objects by action
    (r"scrap|scratch|drag|slid|grind|scuff|saw\b|sawing|sand\b|rub|skitter|brush|gritty",
     lambda t, m: Recipe("modal", partial(modal.scrape, material=m or "stone"),
                         f"scrape: noise strokes through {m or 'stone'} resonances")),
    (r"rattl|jingl|clatter|jangl|chain|keys|coins|shak|debris", lambda t, m: Recipe(
        "modal", partial(modal.impacts, material=m or "metal", rate_hz=1.2, burst_count=5,
                         burst_spread_s=0.06, decay_scale=0.6),
        f"rattle: bursts of small {m or 'metal'} hits")),
    (r"bell|chime|gong|toll", lambda t, m: Recipe(
        "modal", partial(modal.impacts, material="metal", rate_hz=0.7, decay_scale=1.4,
                         pitch_scale=0.6, room=0.7),
        "struck metal: inharmonic beating modes with a diffuse tail")),
    (r"knock|tap\b|taps|tapping|hit|strike|struck|bang|thud|clink|clank|bump|drop|stir|slam|"
     r"hammer|chop|clack|collid|set down|place", lambda t, m: Recipe(
        "modal", partial(modal.impacts, material=m or "wood", rate_hz=1.5),
        f"impacts: {m or 'wood'} hits with contact noise and detuned modes")),
    # Wind last: it is often named as the cause of another sound
    (r"wind|breeze|gust|air\b|draught|draft|sky|cloud|mountain|valley|cliff|desert", lambda t, m:
        Recipe("air", air.gusts if _matches(t, "gust|strong|howl") else air.wind,
               "wind: wandering broad noise bands over a low rumble")),
]


def choose_recipe(source: SoundSource, variant: SoundVariant) -> Recipe:
    """The synthesiser for one variant of one source (see the module docstring)."""
    name, material_text = source.name.lower(), source.material.lower()
    action = " ".join([variant.play_method, *variant.timbre]).lower()
    material = material_of(material_text, name, action)
    primary = f"{name} {action}"
    for text in (primary, f"{primary} {material_text}"):
        for keywords, build in _RULES:
            if _matches(text, keywords):
                return build(text, material)
    if material:
        return Recipe("modal", partial(modal.impacts, material=material, rate_hz=1.0),
                      f"impacts: knocks on {material}")
    return Recipe("air", partial(air.wind, strength=0.3), "air: a soft, still-air bed")
