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

from imagewave.contracts.scene import Scene, SoundSource, SoundVariant
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


def mood_activity(scene: Scene) -> float:
    """-1 calm .. +1 energetic: the scene's arousal, or its mood words when it has none."""
    if scene.mood is not None:
        return scene.mood.arousal
    text = scene.mood_description.lower()
    lively = len(re.findall(rf"\b(?:{_DENSE}|bustl|tension|excit|energ|hectic)", text))
    calm = len(re.findall(rf"\b(?:{_SPARSE}|peace|serene|still|tranquil|contempla|relax)", text))
    return float(np.clip(0.5 * (lively - calm), -1.0, 1.0))


def character_of(variant: SoundVariant, activity: float = 0.0) -> Character:
    """Controls from the variant's words; `activity` (the scene's mood, -1..1) scales how busy
    every source is, up to 1.4x either way: a bustling plaza's bag crinkles more often."""
    text = " ".join([variant.play_method, *variant.timbre]).lower()

    def count(words: str) -> int:
        return len(re.findall(rf"\b(?:{words})", text))

    brightness = float(np.clip(0.5 * (count(_BRIGHT) - count(_DARK)), -1.0, 1.0))
    density = float(np.clip(1.6 ** (count(_DENSE) - count(_SPARSE)) * 1.4 ** activity,
                            0.35, 3.0))
    size = float(np.clip(0.5 * (count(_LARGE) - count(_SMALL)), -1.0, 1.0))
    return Character(brightness, density, size, count(_REGULAR) > 0)


def _surface_of(text: str) -> str:
    for surface in ("gravel", "grass", "snow", "sand", "leaves"):
        if surface in text:
            return surface
    return material_of(text) or "stone"


def _animal_call(text: str) -> Recipe:
    """A call or cry: birds chirp, big animals bellow, canines bark, the rest croak."""
    if _matches(text, r"bird|feather|beak|songbird|owl|parrot|peacock|penguin|gull|stork|hen\b|"
                      r"cock\b|chick|heron|eagle|hawk|kite|crane|finch|flamingo|pelican"):
        return Recipe("animals", animals.bird_chirps, "bird calls: fast chirp sweeps")
    if _matches(text, r"howl|yap|yelp|whine|growl|dog|wolf|fox|coyote|jackal|hyena"):
        return Recipe("animals", animals.bark, "canine calls: short rough jittered barks")
    if _matches(text, r"bellow|roar|moo|low\b|deep|bray|trumpet|grunt|snort|moan|elephant|cow|"
                      r"bull\b|lion|tiger|bear\b|hippo|whale|cattle|horse|camel|gorilla|big|large"):
        return Recipe("animals", animals.low_call, "large animal: long low rough calls")
    return Recipe("animals", animals.croak, "animal calls: short rasping calls")


# Each rule: (keywords matched in the source's words, builder(text, material) -> Recipe).
Rule = tuple[str, Callable[[str, str | None], Recipe]]

_RULES: list[Rule] = [
    # Liquids
    (r"rain|drizzl|downpour|storm|shower", lambda t, m: Recipe(
        "water", partial(water.rain, intensity=1.6 if _matches(t, "storm|heavy|downpour") else
                         1.0), "rain: dense drop patter, splash hiss and low roar")),
    (r"wave|surf\b|surfing|sea\b|ocean|tide|shore|beach|breaker", lambda t, m: Recipe(
        "water", water.waves, "waves: swelling low noise breaking into foam hiss")),
    (r"drip|droplet|drop of water|leak|trickl|plop", lambda t, m: Recipe(
        "water", water.drops, "drips: splash clicks and rising Minnaert bubbles")),
    (r"pour|filling|fill\b|fills\b", lambda t, m: Recipe(
        "water", water.pour, "pouring: a bubbling stream that starts and stops")),
    (r"splash|paddl|swim|dive\b|dives|diving|jump in|slap", lambda t, m: Recipe(
        "water", water.splash, "splashes: noise bursts with a tail of bubbles")),
    (r"boil|fizz|bubbl|simmer|sizzl|carbonat|soda|espresso|coffee|brew", lambda t, m: Recipe(
        "water", water.bubbling, "bubbling: dense small bubbles over a soft roar")),
    (r"waterfall|cascade", lambda t, m: Recipe(
        "machines", partial(machines.roar, crackle=0.1),
        "waterfall: massive broadband roar")),
    (r"stream|river|brook|creek|fountain|flow\b|flowing|flows\b|faucet|tap running|gurgl|"
     r"canal|sip|slurp|glug|rushing water|water rushing", lambda t, m: _stream()),
    # Fire
    (r"fire|flame|campfire|fireplace|burn|ember|torch|candle|bonfire", lambda t, m: Recipe(
        "air", air.fire, "fire: low roar, hiss and random crackles")),
    # Animals
    (r"purr", lambda t, m: Recipe("animals", animals.purr,
                                  "purr: 25 Hz low noise bursts, inhale/exhale")),
    (r"cicada", lambda t, m: Recipe("animals", partial(animals.insects, kind="cicadas"),
                                    "cicadas: broad pulsing noisy buzz")),
    (r"bee\b|bees|wasp|fly\b|flies|mosquito|hornet|buzz\b|buzzing|buzz of",
     lambda t, m: _buzz(t)),
    (r"cricket|insect|grasshopper|katydid|bug|stridulat", lambda t, m: Recipe(
        "animals", partial(animals.insects, kind="crickets"),
        "crickets: a chorus of rough pulsed chirps")),
    (r"bird|chirp|tweet|sparrow|robin|finch|songbird|warbl|parrot|gull|seagull|pigeon|dove|"
     r"owl|feather|nest", lambda t, m: Recipe(
        "animals", animals.bird_chirps, "birds: fast chirp sweeps from a few birds in foliage")),
    (r"meow|cat\b|cats|kitten|feline", lambda t, m: Recipe(
        "animals", animals.meow, "cat: rough breathy meows gliding up")),
    (r"bark|dog|puppy|hound|woof|growl|wolf", lambda t, m: Recipe(
        "animals", animals.bark, "dog: short rough jittered barks")),
    (r"neigh|whinn|horse|pony|donkey", lambda t, m: Recipe(
        "animals", animals.neigh, "horse: falling, trilling whinnies and snorts")),
    (r"cow|moo|cattle|bull\b|ox\b|sheep|bleat|goat|elephant|lion|tiger|bear\b|"
     r"camel|donkey|pig\b|grunt", lambda t, m: Recipe(
        "animals", animals.low_call, "large animal: long low rough calls")),
    (r"frog|croak|duck|quack|crow\b|caw|goose|honk|raven|toad", lambda t, m: Recipe(
        "animals", animals.croak, "croaks: short rasping calls")),
    (r"hoof|hooves|gallop|trot", lambda t, m: Recipe(
        "animals", animals.hooves, "hooves: heavy heel-toe thuds")),
    (r"call\b|calls|cry\b|cries|screech|shriek|squawk|hoot|howl|bellow|roar|whoop|giggl|wail|"
     r"bray|snort|snuffl|grunt|yap|yelp|whine|moan|trumpet|song\b", lambda t, m: _animal_call(t)),
    # People
    (r"applau|clap|cheer|ovation", lambda t, m: Recipe(
        "crowd", crowd.applause, "applause: dense claps")),
    (r"footstep|walking|walk\b|walks\b|stroll\b|strolling|marching|jogging|running|stomp|"
     r"paws|padding|scurr|scuttl|underfoot|creep|crawl|slither|"
     r"treading|pedestrian", lambda t, m: Recipe(
        "crowd", partial(crowd.footsteps, surface=_surface_of(t)),
        f"footsteps: heel-toe hits on {_surface_of(t)}")),
    (r"crowd|people|audience|chatter|talk|voice|babble|conversation|market|cafe|café|"
     r"spectator|children|kids|tourist|shopper|murmur|laugh|officer|person|man\b|woman",
     lambda t, m: Recipe("crowd", crowd.babble,
                         "crowd: nearby voices over syllable-modulated speech noise")),
    (r"breath|sigh|exhal|inhal|snor|pant", lambda t, m: _wind(t) if _matches(
        t, r"wind\b|breeze|gust") else Recipe(
        "air", air.breath, "breathing: slow swells of band-passed noise")),
    # Machines
    (r"traffic|street|road|highway|intersection|avenue|cars passing|passing cars|cars pass",
     lambda t, m: Recipe(
        "machines", machines.traffic, "traffic: passing cars over a distant rumble")),
    (r"train|tram\b|trams|rail\b|rails|railway|locomotive|subway|metro", lambda t, m: Recipe(
        "machines", machines.train, "train: paired rail clacks on a heavy rumble")),
    (r"rocket|jet\b|airplane|aeroplane|aircraft|plane\b|thrust|launch|exhaust|turbine|"
     r"helicopter|blast|explos|thunder|shuttle|spacecraft", lambda t, m: Recipe(
        "machines", machines.roar, "roar: broadband low roar with crackle")),
    (r"engine|car\b|cars|truck|bus\b|motorbike|motorcycle|scooter|tractor|idle|idling|rev\b|revs|revving|vehicle|"
     r"boat|van\b|taxi|lorry", lambda t, m: Recipe(
        "machines", machines.roar, "roar: broadband low roar with crackle")
        if _matches(t, r"rocket|jet\b|thrust|launch|turbine") else Recipe(
        "machines", partial(machines.engine, revving=_matches(t, "rev|accelerat|speed")),
        "engine: jittered firing pulses through an exhaust, intake noise")),
    (r"vibrat|phone|buzzer|pager|alert|notification", lambda t, m: Recipe(
        "machines", machines.vibration, "vibration: bursts of a rough rattling buzz")),
    (r"clock|tick\b|ticks|ticking|timer|watch\b|metronome", lambda t, m: Recipe(
        "machines", machines.ticking, "ticking: regular small mechanical ticks")),
    (r"motor|fan\b|fans|drill|blender|vacuum|mixer|grinder|machine|whir|propeller|pump|"
     r"compressor|printer|robot|drone|mill\b|sewing", lambda t, m: Recipe(
        "machines", machines.motor, "motor: rough rotation buzz in air and brush noise")),
    (r"hum\b|hums|humming|fridge|refrigerator|transformer|neon|electric|computer|server|appliance|lamp|"
     r"light bulb|monitor|screen|television|tv\b|radio|speaker|amplifier", lambda t, m: Recipe(
        "machines", machines.hum, "hum: fan and air noise with a faint mains hum")),
    (r"keyboard|typing|click|switch|camera|mouse|button|latch|lock\b|locks|stapler|pen\b",
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
    (r"rustl", lambda t, m: _rustle_of(t)),
    (r"crinkl|crumpl|wrapper|foil|cellophane|page turn|pages turn", lambda t, m: _crinkle(t)),
    (r"swish|sweep|broom|zip", lambda t, m: _wind(t) if _matches(t, r"wind\b|breeze|gust")
     else _swish()),
    # Solid objects by action
    (r"scrap|scratch|drag\b|drags|dragg|slid|grind|scuff|saw\b|sawing|sand\b|rub\b|rubb|"
     r"skitter|brush|gritty|bow drawn|bowed|bowing|gnaw",
     lambda t, m: _unless_soft(t, Recipe("modal", partial(modal.scrape, material=m or "stone"),
                                         f"scrape: noise strokes through {m or 'stone'} "
                                         "resonances"))),
    (r"rattl|jingl|clatter|jangl|chain|keys|coins|shake|shaki|shaken|debris", lambda t, m:
        _unless_soft(t, Recipe("modal", partial(modal.impacts, material=m or "metal", rate_hz=1.2,
                                                burst_count=5, burst_spread_s=0.06,
                                                decay_scale=0.6),
                               f"rattle: bursts of small {m or 'metal'} hits"))),
    (r"bell\b|bells|chime|gong|toll\b|tolling", lambda t, m: Recipe(
        "modal", partial(modal.impacts, material="metal", rate_hz=0.7, decay_scale=1.4,
                         pitch_scale=0.6, room=0.7),
        "struck metal: inharmonic beating modes with a diffuse tail")),
    (r"knock|tap\b|taps|tapping|tapped|hit|strike|struck|bang|thud|clink|clank|bump|drop|stir|slam|"
     r"hammer|chop|clack|collid|set down|place", lambda t, m: Recipe(
        "modal", partial(modal.impacts, material=m or "wood", rate_hz=1.5),
        f"impacts: {m or 'wood'} hits with contact noise and detuned modes")),
]


_PAPER = r"paper|book|newspaper|cardboard|envelope|map\b|page|lantern|packet|bag\b|bags|wrapper"
_FABRIC = (r"fabric|cloth|cotton|clothes|clothing|suit\b|nylon|jacket|curtain|dress|glove|"
           r"blanket|sheet|towel|silk|wool|uniform|costume|canopy|sleeve|coat")
_FOLIAGE = (r"leaves|leaf|foliage|grass|bush|shrub|frond|palm|reed|branch|tree|hay|straw|plant|"
            r"flower|crop|wheat|forest|hedge|twig|bamboo")


def _stream() -> Recipe:
    return Recipe("water", water.stream, "flowing water: bubbles and turbulent noise")


def _crinkle(text: str) -> Recipe:
    kind = "plastic" if _matches(text, r"plastic|polyethylene|cellophane|bag\b|bags") else "paper"
    return Recipe("air", partial(air.crinkle, kind=kind),
                  "crinkle: bursts of sharp crackles with hiss")


def _swish() -> Recipe:
    return Recipe("air", air.swish, "swish: soft swells of band-passed noise")


def _rustle(text: str) -> Recipe:
    kind = ("grass" if _matches(text, "grass|hay|straw|wheat|crop") else
            "fronds" if _matches(text, "frond|palm") else "leaves")
    return Recipe("air", partial(air.rustle, kind=kind),
                  "rustle: granular noise grains carried by gusts")


def _buzz(text: str) -> Recipe:
    """A buzz is a cicada's, a phone's or (by default) flying insects' wings."""
    if _matches(text, "cicada"):
        return Recipe("animals", partial(animals.insects, kind="cicadas"),
                      "cicadas: broad pulsing noisy buzz")
    if _matches(text, "phone|vibrat|buzzer|pager|device"):
        return Recipe("machines", machines.vibration, "vibration: bursts of a rough rattling buzz")
    return Recipe("animals", partial(animals.insects, kind="bees"),
                  "insect wings: wandering rough buzz")


def _wind(text: str) -> Recipe:
    if _matches(text, _FOLIAGE):
        return _rustle(text)
    return Recipe("air", air.gusts if _matches(text, "gust|strong|howl") else air.wind,
                  "wind: wandering broad noise bands over a low rumble")


def _rustle_of(text: str) -> Recipe:
    """"Rustling" is leaves, paper or cloth depending on what rustles (the first one named)."""
    kinds = ((_PAPER, _crinkle), (_FABRIC, lambda _: _swish()), (_FOLIAGE, _rustle))
    things = [(m.start(), build) for words, build in kinds
              if (m := re.search(rf"\b(?:{words})", text))]
    return min(things, key=lambda pair: pair[0])[1](text) if things else _rustle(text)


def _unless_soft(text: str, hard: Recipe) -> Recipe:
    """Scraping, brushing or shaking leaves, paper or cloth rustles; anything else is `hard`.
    Soft wins when a soft thing is named before any hard material."""
    soft = re.search(rf"\b(?:{_PAPER}|{_FABRIC}|{_FOLIAGE})", text)
    hard_words = "|".join(_MATERIAL_WORDS.values())
    solid = re.search(rf"\b(?:{hard_words})", text)
    if soft and (solid is None or soft.start() < solid.start()):
        return _rustle_of(text)
    return hard


# Nouns that say what a sound is made of, or wind that only moves other things: they decide
# only when no action or specific source is named ("water splashing" is a splash).
_WEAK_RULES: list[Rule] = [
    # Wind is mostly heard through what it moves: "wind in the trees" is leaves rustling.
    (r"wind\b|winds|windy|breeze|gust|air\b|draught|draft|sky|cloud|mountain|valley|cliff|"
     r"desert|ridge", lambda t, m: _wind(t)),
    (r"water|liquid|lake|pond|puddle", lambda t, m: _stream()),
    (_PAPER, lambda t, m: _crinkle(t)),
    (_FABRIC, lambda t, m: _swish()),
    (_FOLIAGE, lambda t, m: _rustle(t)),
]


def _first_rule(text: str, rules: list[Rule]) -> Callable[[str, str | None], Recipe] | None:
    """The builder of the rule whose keyword appears earliest in `text` (ties: listed first)."""
    best: tuple[int, int] | None = None
    for order, (keywords, _) in enumerate(rules):
        found = re.search(rf"\b(?:{keywords})", text)
        if found and (best is None or (found.start(), order) < best):
            best = (found.start(), order)
    return rules[best[1]][1] if best else None


def choose_recipe(source: SoundSource, variant: SoundVariant) -> Recipe:
    """The synthesiser for one variant of one source.

    The play method says most about the sound ("engine idling" on a beach wagon is an engine),
    then the source's name, its timbre words, its material. Within the first of those texts
    that names anything, the earliest keyword wins ("tail flicking a splash at the water" is a
    splash). Weak rules (bare materials: water, paper, fabric, foliage; wind) count only when
    the same text names no action or specific source. The chosen rule's builder then reads all the
    words (to pick a surface, a kind of rustle, a material).
    """
    name, material_text = source.name.lower(), source.material.lower()
    play_method, timbre = variant.play_method.lower(), " ".join(variant.timbre).lower()
    material = material_of(material_text, name, play_method)
    everything = f"{play_method} {name} {timbre} {material_text}"
    for text in (play_method, name, timbre, material_text):
        for rules in (_RULES, _WEAK_RULES):
            build = _first_rule(text, rules)
            if build is not None:
                return build(everything, material)
    if material:
        return Recipe("modal", partial(modal.impacts, material=material, rate_hz=1.0),
                      f"impacts: knocks on {material}")
    return Recipe("air", partial(air.wind, strength=0.3), "air: a soft, still-air bed")
