"""What the studio describe engines say to Qwen2.5-VL and how they read its answer.

Both studio engines (`vllm` over HTTP, `transformers` in-process) build the same conversation
here, ask for the same JSON schema (generated from `Scene`, the one definition of the format),
and parse, validate, repair and filter the reply with the same code.

The system prompt is designed backwards from what the later stages need: every sound source is
rendered on its own by a text-to-audio model from `name`, `material`, `play_method` and `timbre`,
then turned into an instrument, so each field must describe something audible, and the
`mapping_to_music_instrument` hint feeds the role assignment.

Few-shot examples: the seed sent two image + JSON pairs before the target image. Its pictures
are not ours to ship, so each example picture is described in words (`fewshot/<name>.txt`) and
paired with the seed's document (`fewshot/<name>.json`: the seed's JSON verbatim, plus our
optional `confidence` per source and `mood`, so the model sees those fields filled in). Text
examples also cost far fewer tokens than images.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from PIL import Image
from pydantic import ValidationError

from imagewave.contracts.scene import Scene
from imagewave.errors import ImagewaveError

log = logging.getLogger(__name__)

FEW_SHOT_NAMES = ("plaza", "veranda")

SYSTEM_PROMPT = """\
You are a sound designer. You look at one picture and write down what it would sound like, as a \
JSON document. Your document drives a pipeline: every sound source you list is rendered on its \
own by a text-to-audio model from its name, material, play method and timbre words, and the \
clips are then turned into the instruments of a short piece of music.

Write it like this:
- scene_description: one or two sentences on what the picture shows, its place and light.
- mood_description: three to six words on its mood.
- mood: valence from -1 (sad, dark) to 1 (happy, bright); arousal from -1 (calm) to 1 (energetic).
- sound_sources: three to eight things in the picture that make, or plainly imply, a sound. \
Prefer things you can see; you may add a sound the scene clearly implies (wind in a field, \
traffic behind a street) with a lower confidence.
  - name: the object, in plain words ("cathedral bell tower", not "bell").
  - material: what it is made of, because material shapes the sound.
  - variants: one to three ways it sounds. play_method is an audible action ("wheels rolling \
over stone pavement"), never a look or a colour. timbre is two to four acoustic adjectives \
("metallic", "low rumble", "airy").
  - mapping_to_music_instrument: the role the sound suits best. keyboard for sustained, tonal or \
ringing sounds; bass for low, steady or rumbling sounds; guitar for plucked, twangy or short \
pitched sounds; drums for hits, clicks, rustles and noises; null when none fits. When the picture \
allows, cover all four roles across the sources.
  - confidence: from 0 to 1, how sure you are that the source is there and sounds like that: 0.9 \
for something clearly visible, 0.5 for a sound the scene implies. Leave out anything below 0.3.
Sounds are natural and realistic, never music: describe what a field recordist would capture.
Answer with the JSON document only, no prose and no code fences."""

TARGET_INSTRUCTION = "Describe the sounds of this picture."
EXAMPLE_INSTRUCTION = "Example picture, described in words: {description}\n\n" + TARGET_INSTRUCTION


class SceneReplyInvalid(ImagewaveError):
    """The model's reply was not a valid scene document (after the repair round, if any)."""

    status_code = 502
    code = "invalid_model_reply"


@dataclass(frozen=True)
class FewShotExample:
    name: str
    picture_description: str
    scene: Scene


@dataclass
class ChatTurn:
    """One message of the conversation, independent of the engine's wire format."""

    role: str  # "system", "user" or "assistant"
    text: str
    image: Image.Image | None = None


@cache
def load_few_shot_examples() -> tuple[FewShotExample, ...]:
    folder = resources.files("services.vlm") / "fewshot"
    examples = []
    for name in FEW_SHOT_NAMES:
        document = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        description = (folder / f"{name}.txt").read_text(encoding="utf-8").strip()
        examples.append(FewShotExample(name, description, Scene.model_validate(document)))
    return tuple(examples)


@cache
def scene_json_schema() -> dict:
    """The scene format as JSON schema, straight from the pydantic model."""
    return Scene.model_json_schema()


def response_format() -> dict:
    """OpenAI-style structured output: vLLM (>= 0.12) decodes under this schema."""
    return {
        "type": "json_schema",
        "json_schema": {"name": "scene", "schema": scene_json_schema(), "strict": True},
    }


def scene_to_reply(scene: Scene) -> str:
    """A scene the way the model should write it: compact JSON, no empty optional fields."""
    return json.dumps(scene.model_dump(mode="json", exclude_none=True), ensure_ascii=False,
                      separators=(",", ":"))


# Qwen2.5-VL's resizer (`smart_resize`) refuses pictures whose sides differ more than 200 times,
# and rounds each side to 28 px: keep well inside that after rounding.
MAX_ASPECT_RATIO = 50.0
VISION_PATCH_PX = 28


def fit_image(image: Image.Image, max_side_px: int) -> Image.Image:
    """Downscale so the longer side is at most `max_side_px`, and pad an extreme strip
    (mid-grey, centred) so its sides differ at most `MAX_ASPECT_RATIO` times.

    Qwen2.5-VL spends one token per 28x28 pixels, so the cap bounds the prompt: 768 px a side is
    at most ~750 image tokens, against ~10,000 for a 12 MP photo.
    """
    if max_side_px < VISION_PATCH_PX:
        raise ValueError(f"max_side_px must be at least {VISION_PATCH_PX} (one vision patch), "
                         f"got {max_side_px}")
    width, height = image.size
    scale = max_side_px / max(width, height)
    if scale < 1.0:
        width, height = max(1, round(width * scale)), max(1, round(height * scale))
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    short_needed = math.ceil(max(width, height) / MAX_ASPECT_RATIO)
    if min(width, height) >= short_needed:
        return image
    padded_size = (width, short_needed) if width >= height else (short_needed, height)
    canvas = Image.new("RGB", padded_size, (128, 128, 128))
    canvas.paste(image.convert("RGB"), ((padded_size[0] - width) // 2,
                                        (padded_size[1] - height) // 2))
    return canvas


def image_data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def build_conversation(image: Image.Image, *, few_shot: bool = True) -> list[ChatTurn]:
    """System prompt, the two worked examples, then the target picture."""
    turns = [ChatTurn("system", SYSTEM_PROMPT)]
    if few_shot:
        for example in load_few_shot_examples():
            instruction = EXAMPLE_INSTRUCTION.format(description=example.picture_description)
            turns.append(ChatTurn("user", instruction))
            turns.append(ChatTurn("assistant", scene_to_reply(example.scene)))
    turns.append(ChatTurn("user", TARGET_INSTRUCTION, image=image))
    return turns


def repair_turns(bad_reply: str, error: SceneReplyInvalid) -> list[ChatTurn]:
    """Show the model its invalid reply and what is wrong with it, and ask once more."""
    return [
        ChatTurn("assistant", bad_reply[:4000]),
        ChatTurn("user", f"That reply is not a valid scene document: {error.message}\n"
                         "Answer again with the complete JSON document only."),
    ]


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def parse_scene(reply: str) -> Scene:
    """Read a scene from the model's reply; raise `SceneReplyInvalid` saying what is wrong."""
    text = _FENCE.sub("", reply.strip())
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise SceneReplyInvalid(f"no JSON object found in the reply (starts {reply[:80]!r})")
    try:
        document = json.loads(text[start : end + 1])
    except json.JSONDecodeError as exc:
        raise SceneReplyInvalid(f"the JSON does not parse: {exc}") from exc
    try:
        return Scene.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'document'}: {err['msg']}"
            for err in exc.errors()[:5]
        )
        raise SceneReplyInvalid(f"the JSON does not match the schema: {problems}") from exc


def keep_confident_sources(scene: Scene, min_confidence: float) -> Scene:
    """Drop sources whose stated confidence is below `min_confidence`.

    Sources without a stated confidence are kept. A scene needs one source, so if every source
    falls below the bar the most confident one stays.
    """
    kept = [source for source in scene.sound_sources
            if source.confidence is None or source.confidence >= min_confidence]
    if not kept:
        best = max(scene.sound_sources, key=lambda s: s.confidence or 0.0)
        log.info("every source is below confidence %.2f; keeping %r", min_confidence, best.name)
        kept = [best]
    dropped = len(scene.sound_sources) - len(kept)
    if dropped:
        log.info("dropped %d low-confidence sources (< %.2f)", dropped, min_confidence)
    return scene.model_copy(update={"sound_sources": kept})


@dataclass(frozen=True)
class Completion:
    """One model reply: its text, and whether generation stopped at the token budget."""

    text: str
    truncated: bool = False


def describe_with_repair(complete: Callable[[list[ChatTurn], int], Completion],
                         image: Image.Image, *, few_shot: bool, min_source_confidence: float,
                         max_new_tokens: int, repair_max_new_tokens: int) -> Scene:
    """Ask, parse, and on a bad reply ask once more; then filter.

    A reply cut at `max_new_tokens` (finish_reason `length`) cannot be repaired within the same
    budget, so it is asked again, the same conversation, with `repair_max_new_tokens`; any
    other invalid reply gets one repair round (the reply plus what is wrong with it). A second
    bad reply, or a second cut one, is a clear `SceneReplyInvalid`. At most two calls per
    picture. `complete(turns, max_tokens)` is the only part that differs between engines.
    """
    turns = build_conversation(image, few_shot=few_shot)
    first = complete(turns, max_new_tokens)
    try:
        if first.truncated:
            raise SceneReplyInvalid(f"the reply was cut at max_new_tokens {max_new_tokens}")
        scene = parse_scene(first.text)
    except SceneReplyInvalid as first_error:
        if first.truncated:
            budget = max(repair_max_new_tokens, max_new_tokens)
            if budget == max_new_tokens:
                raise SceneReplyInvalid(
                    f"the reply was cut at max_new_tokens {max_new_tokens} and "
                    f"repair_max_new_tokens allows no more") from first_error
            log.warning("scene reply cut at %d tokens; asking again with %d", max_new_tokens,
                        budget)
            second = complete(turns, budget)
        else:
            budget = max_new_tokens
            log.warning("invalid scene reply, one repair round: %s", first_error.message)
            second = complete(turns + repair_turns(first.text, first_error), budget)
        if second.truncated:
            raise SceneReplyInvalid(f"the model's reply was cut at {budget} tokens again "
                                    "(raise repair_max_new_tokens)") from first_error
        try:
            scene = parse_scene(second.text)
        except SceneReplyInvalid as second_error:
            raise SceneReplyInvalid(
                f"the model's reply was still invalid after one repair round: "
                f"{second_error.message}"
            ) from second_error
    return keep_confident_sources(scene, min_source_confidence)
