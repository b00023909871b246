"""Text prompts for the text-to-audio engine, one per sound source.

The seed's prompt, kept in substance: a common part (the scene and its mood), the detail (the
object, its material, how it is played, its timbre) and the constraint that the result is a
natural sound, not a musical note. Two changes: the detail comes before the context, because
AudioLDM2's CLAP encoder reads only the first 77 tokens, and the scene is cut to its first
sentence for the same reason; and a negative prompt steers away from music, speech and noise
(the seed used none).
"""

from __future__ import annotations

import re

from imagewave.contracts.scene import Scene, SoundSource

NEGATIVE_PROMPT = ("music, melody, musical instrument, singing, speech, voice, "
                   "low quality, distortion, static noise, hiss")
_MAX_CONTEXT_WORDS = 24


def _first_sentence(text: str, max_words: int = _MAX_CONTEXT_WORDS) -> str:
    sentence = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0].rstrip(".!? ")
    words = sentence.split()
    return " ".join(words[:max_words])


def source_detail(source: SoundSource) -> str:
    """'<name> made of <material>, <play method>, <timbre> sound', from the first variant."""
    variant = source.variants[0]
    detail = source.name
    if source.material:
        detail += f" made of {source.material}"
    detail += f", {variant.play_method}"
    if variant.timbre:
        detail += f", {', '.join(variant.timbre)} sound"
    return detail


def sound_prompt(scene: Scene, source_index: int) -> str:
    """The prompt for `scene.sound_sources[source_index]`."""
    if not 0 <= source_index < len(scene.sound_sources):
        raise IndexError(f"source_index {source_index} is outside the scene's "
                         f"{len(scene.sound_sources)} sources")
    detail = source_detail(scene.sound_sources[source_index])
    context = _first_sentence(scene.scene_description)
    mood = _first_sentence(scene.mood_description, 8)
    return (f"The sound of {detail}. A realistic natural sound, not a musical note. "
            f"Scene: {context}; mood: {mood}.")
