"""What the vlm service's `vllm` engine needs from vLLM's server, checked against the server's
command line in compose and k8s: the served name, an image per prompt and no video, profiling
sized to the pictures the client sends, a context long enough for the longest conversation the
engine sends with the largest reply budget, and structured outputs."""

from __future__ import annotations

import json
from urllib.parse import urlparse

from PIL import Image

from services.vlm.prompt import SceneReplyInvalid, build_conversation, repair_turns
from services.vlm.settings import VlmSettings

# Qwen2.5-VL: 14 px patches merged 2 x 2, so one token per 28 x 28 px.
QWEN_VL_PIXELS_PER_TOKEN = 28 * 28
# Conservative for JSON and English prose (Qwen's tokenizer averages nearer 4 characters).
CHARS_PER_TOKEN = 3
CHAT_TEMPLATE_TOKENS_PER_TURN = 10


def flag_values(args: list[str]) -> dict[str, str]:
    """`--name value` pairs of a command line (flags without a value map to "")."""
    values: dict[str, str] = {}
    for i, arg in enumerate(args):
        if arg.startswith("--"):
            following = args[i + 1] if i + 1 < len(args) else ""
            values[arg] = "" if following.startswith("--") else following
    return values


def longest_prompt_tokens(settings: VlmSettings) -> int:
    """Tokens of the longest conversation the engine sends: few-shot turns, the picture and one
    repair round carrying a previous reply of at most 4000 characters."""
    side = settings.max_image_side_px
    turns = build_conversation(Image.new("RGB", (side, side)), few_shot=settings.few_shot)
    turns += repair_turns("x" * 10_000, SceneReplyInvalid("a long enough explanation " * 4))
    text_chars = sum(len(turn.text) for turn in turns)
    image_tokens = sum(turn.image is not None for turn in turns) * (
        side * side // QWEN_VL_PIXELS_PER_TOKEN)
    return (text_chars // CHARS_PER_TOKEN + image_tokens
            + CHAT_TEMPLATE_TOKENS_PER_TURN * len(turns))


def check_vllm_serves_vlm(model: str, args: list[str], vlm: VlmSettings,
                          vllm_port: int, vllm_api_key: str | None) -> None:
    """Assert that `vllm serve <model> <args>` is what `vlm`'s vllm engine needs."""
    flags = flag_values(args)
    served = flags.get("--served-model-name", model)
    assert served == vlm.model_id, (
        f"vLLM serves {served!r} but the vlm service asks for {vlm.model_id!r}")

    base_url = urlparse(vlm.vllm_base_url)
    assert base_url.path.rstrip("/") == "/v1", vlm.vllm_base_url
    assert base_url.hostname == "vllm" and base_url.port == vllm_port, (
        f"IMAGEWAVE_VLM_VLLM_BASE_URL {vlm.vllm_base_url} does not reach vllm:{vllm_port}")
    assert int(flags["--port"]) == vllm_port

    side = vlm.max_image_side_px
    turns = build_conversation(Image.new("RGB", (side, side)), few_shot=vlm.few_shot)
    images_per_prompt = sum(turn.image is not None for turn in turns)
    limits = json.loads(flags["--limit-mm-per-prompt"])
    image_limit = limits.get("image", 0)
    image_count = image_limit["count"] if isinstance(image_limit, dict) else image_limit
    assert image_count >= images_per_prompt, (
        f"the engine sends {images_per_prompt} image(s) per prompt, vLLM allows {limits}")
    # No video: vLLM would reserve profiling memory for it.
    video = limits.get("video")
    assert video is not None and (video.get("count") if isinstance(video, dict) else video) == 0, (
        f"--limit-mm-per-prompt must set video to 0, got {limits}")
    # Profiling sized by the image entry (vLLM >= 0.11), to the largest picture the client
    # sends: a smaller one would let a real request run out of memory, none at all reserves
    # the processor's maximum (~16k tokens). max_pixels in --mm-processor-kwargs is not a bound
    # vLLM honours in profiling (vLLM issue #27981), so it must not stand in for this.
    assert isinstance(image_limit, dict), "size the profiling image: {count, width, height}"
    assert image_limit["width"] >= side and image_limit["height"] >= side, (
        f"profiling image {image_limit} is smaller than the {side} px pictures the client sends")
    assert "--mm-processor-kwargs" not in flags or "max_pixels" not in json.loads(
        flags["--mm-processor-kwargs"]), "max_pixels there does not bound profiling (#27981)"

    needed = longest_prompt_tokens(vlm) + max(vlm.max_new_tokens, vlm.repair_max_new_tokens)
    assert int(flags["--max-model-len"]) >= needed, (
        f"--max-model-len {flags['--max-model-len']} < {needed} tokens the longest "
        f"conversation plus the largest reply budget need")

    backend = json.loads(flags["--structured-outputs-config"])["backend"]
    assert backend in {"xgrammar", "guidance"}, (
        f"structured outputs backend {backend!r} must handle JSON schemas")

    if vllm_api_key is not None:
        assert vllm_api_key == vlm.vllm_api_key, "vLLM's API key differs from the vlm service's"
