"""Example sources, one or more per recipe, with the synthesiser each should get.

`bench/engines.py` renders them to measure speed and tonality; the tests check each one's
recipe and that every one of them comes out non-musical.
"""

from __future__ import annotations

from imagewave.contracts.scene import SoundSource

# (name, material, play method, timbre words, expected synthesiser family, word in its recipe)
EXAMPLE_SOURCES: list[tuple[str, str, str, list[str], str, str]] = [
    ("oak table", "wood", "knuckles knocking", ["dry"], "modal", "wood"),
    ("steel pipe", "metal", "struck with a hammer", ["ringing"], "modal", "metal"),
    ("wine glasses", "glass", "clinking in a toast", ["bright"], "modal", "glass"),
    ("rocks", "stone", "rocks knocking together", ["dull"], "modal", "stone"),
    ("teacup", "porcelain", "spoon clinking against the cup", ["light"], "modal", "ceramic"),
    ("crate", "plastic", "dropped on the floor", ["hollow"], "modal", "plastic"),
    ("ceramic vase", "ceramic", "tapped with a fingernail", [], "modal", "ceramic"),
    ("wooden door", "painted wood with hinges", "hinge creak", ["slow"], "modal", "creak"),
    ("stone floor", "stone", "chair scraping across it", ["gritty"], "modal", "scrape"),
    ("keys", "metal", "keys jingling", ["metallic"], "modal", "rattle"),
    ("stroller", "metal frame, plastic wheels", "wheels rolling over pavement", ["rumble"],
     "modal", "rolling"),
    ("brook", "water", "water flowing over rocks", ["babbling"], "water", "flowing"),
    ("leaking tap", "metal faucet", "dripping", ["plinky"], "water", "drip"),
    ("ocean", "sea water", "waves crashing on the beach", ["deep"], "water", "waves"),
    ("rain", "water", "rain falling on a roof", ["steady"], "water", "rain"),
    ("kettle", "metal", "water boiling", [], "water", "bubbling"),
    ("coffee", "liquid", "pouring into a cup", [], "water", "pouring"),
    ("wind", "air", "wind blowing over the hill", ["howling"], "air", "wind"),
    ("oak tree", "leaves", "leaves rustling in the breeze", ["soft"], "air", "rustle"),
    ("meadow", "grass", "grass swaying", [], "air", "rustle"),
    ("newspaper", "paper", "pages crinkling", ["crisp"], "air", "crinkle"),
    ("jacket", "nylon fabric", "fabric swishing as he moves", [], "air", "swish"),
    ("flag", "cloth", "flapping in the wind", [], "air", "flutter"),
    ("campfire", "wood", "crackling fire", [], "air", "fire"),
    ("sparrow", "feathers", "birds chirping", ["high"], "animals", "birds"),
    ("crickets", "insects", "crickets chirping at night", ["shrill"], "animals", "crickets"),
    ("cicada", "", "buzzing in the heat", [], "animals", "cicadas"),
    ("bee", "", "buzzing around flowers", [], "animals", "insect"),
    ("cat", "fur", "purring", ["warm"], "animals", "purr"),
    ("kitten", "fur", "meowing", [], "animals", "cat"),
    ("dog", "", "barking", ["loud"], "animals", "dog"),
    ("horse", "", "neighing", [], "animals", "whinnies"),
    ("cow", "", "mooing in the field", [], "animals", "large animal"),
    ("duck", "", "quacking", [], "animals", "croak"),
    ("car", "metal", "engine idling", ["low rumble"], "machines", "engine"),
    ("electric fan", "plastic", "motor whirring", ["steady"], "machines", "motor"),
    ("refrigerator", "metal", "humming", ["low"], "machines", "hum"),
    ("traffic", "", "cars passing", [], "machines", "traffic"),
    ("train", "metal", "passing on the rails", [], "machines", "train"),
    ("rocket", "metal", "launch thrust", ["roaring"], "machines", "roar"),
    ("wall clock", "wood", "ticking", [], "machines", "ticking"),
    ("smartphone", "glass and metal", "vibration alert", ["buzzing"], "machines", "vibration"),
    ("laptop keyboard", "plastic", "typing", [], "machines", "clicks"),
    ("crowd", "people", "people chatting", ["busy"], "crowd", "voices"),
    ("audience", "hands", "applause", [], "crowd", "claps"),
    ("pedestrian", "", "footsteps on pavement", ["rhythmic"], "crowd", "footsteps"),
    ("hiker", "", "walking on gravel", [], "crowd", "gravel"),
    ("cathedral bell tower", "stone with metal bells", "hourly bell chime", ["resonant"],
     "modal", "metal"),
    ("mysterious object", "", "sitting quietly", [], "air", "air"),
    # Phrasings where the first or the most generic word would mislead
    ("beach wagon", "steel body and rubber tyres", "engine idling and revving", [], "machines",
     "engine"),
    ("fish", "scaly body in water", "tail flicking a splash at the water surface", [], "water",
     "splash"),
    ("fountain", "stone basin", "water splashing into the basin", [], "water", "splash"),
    ("daisy", "soft petals", "leaves brushing together in a light breeze", [], "air", "rustle"),
    ("crocodile", "armoured scaly hide", "low rumbling bellow", [], "animals", "large animal"),
    ("balloon", "nylon canopy", "fabric canopy flapping in the wind", [], "air", "flutter"),
    ("snake", "long scaly body", "sharp hiss", [], "air", "hiss"),
    ("hummingbird", "tiny bird", "tiny chip calls", [], "animals", "bird"),
    ("wolf", "thick fur", "long howl", [], "animals", "canine"),
    ("launch vehicle", "metal body", "engine rumble shaking the ground", [], "machines", "roar"),
    ("trees in the wind", "leaves", "wind rustling the leaves overhead", [], "air", "rustle"),
    ("sea breeze", "open air over the sea", "steady wind off the water", [], "air", "wind"),
    ("lake breeze", "moving air", "wind breathing over the water", [], "air", "wind"),
    ("mountain wind", "cold air", "gusts of wind sweeping over the ridges", ["howling"], "air",
     "wind"),
    ("cicadas", "", "buzzing in the trees", [], "animals", "cicadas"),
    ("wheelbarrow", "metal tray", "wheels rolling over the grass", [], "modal", "rolling"),
]


def example_source(name: str, material: str, play_method: str, timbre: list[str],
                   *_: str) -> SoundSource:
    return SoundSource(name=name, material=material,
                       variants=[{"play_method": play_method, "timbre": timbre}])
