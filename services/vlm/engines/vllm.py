"""`vllm` describe engine: Qwen2.5-VL behind vLLM's OpenAI-compatible server.

The engine is an HTTP client of `POST {vllm_base_url}/chat/completions`. Structured output goes
through `response_format` with the scene's JSON schema (vLLM >= 0.12 removed `guided_json`), so
a well-behaved server only ever returns schema-valid JSON; the parse, one repair round and the
confidence filter in `services.vlm.prompt` still guard against truncated or odd replies.

Replies and errors, so that the caller retries only what can succeed:
- `finish_reason: "length"` marks a reply cut at `max_tokens`: `describe_with_repair` asks again
  with a larger budget, then fails clearly;
- 400/422 from vLLM (a prompt too long for `--max-model-len`, an image its processor refuses) is
  the input's fault: `ModelRejectedInput`, a 422 nobody retries;
- 404 (the served name differs from `model_id`) and 401 (API key) are configuration:
  `EngineUnavailable`, a 503 without Retry-After, not retried either;
- unreachable, 429 and 5xx are vLLM restarting or overloaded: `UpstreamUnavailable`, a 503 with
  Retry-After, which `ServiceClient` retries.

Start the server as docker-compose.gpu.yml does (docs/studio.md explains each flag).
"""

from __future__ import annotations

import httpx
from PIL import Image

from imagewave.contracts.engines import DescribeEngineName
from imagewave.contracts.scene import Scene
from imagewave.errors import EngineUnavailable, InvalidInput, UpstreamUnavailable
from services.vlm.prompt import (
    ChatTurn,
    Completion,
    describe_with_repair,
    fit_image,
    image_data_url,
    response_format,
)
from services.vlm.settings import VlmSettings


class ModelRejectedInput(InvalidInput):
    """vLLM refused the request as malformed for this model (HTTP 400): resending cannot help."""

    code = "model_rejected_input"


# How long a caller should wait when vLLM is unreachable or overloaded (a restart is minutes).
_UPSTREAM_RETRY_AFTER_S = 5.0


class VllmDescribeEngine:
    name = DescribeEngineName.vllm

    def __init__(self, *, base_url: str, model: str, api_key: str = "EMPTY",
                 timeout_s: float = 120.0, max_image_side_px: int = 768,
                 max_new_tokens: int = 1024, repair_max_new_tokens: int = 2048,
                 temperature: float = 0.2, few_shot: bool = True,
                 min_source_confidence: float = 0.3) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_image_side_px = max_image_side_px
        self.max_new_tokens = max_new_tokens
        self.repair_max_new_tokens = repair_max_new_tokens
        self.temperature = temperature
        self.few_shot = few_shot
        self.min_source_confidence = min_source_confidence
        # No request is made here: the server may still be starting when the app loads.
        self._client = httpx.Client(timeout=timeout_s,
                                    headers={"Authorization": f"Bearer {api_key}"})

    @classmethod
    def from_settings(cls, settings: VlmSettings) -> VllmDescribeEngine:
        return cls(base_url=settings.vllm_base_url, model=settings.model_id,
                   api_key=settings.vllm_api_key, timeout_s=settings.vllm_timeout_s,
                   max_image_side_px=settings.max_image_side_px,
                   max_new_tokens=settings.max_new_tokens,
                   repair_max_new_tokens=settings.repair_max_new_tokens,
                   temperature=settings.temperature, few_shot=settings.few_shot,
                   min_source_confidence=settings.min_source_confidence)

    def describe(self, image: Image.Image) -> Scene:
        return describe_with_repair(self._complete, image, few_shot=self.few_shot,
                                    min_source_confidence=self.min_source_confidence,
                                    max_new_tokens=self.max_new_tokens,
                                    repair_max_new_tokens=self.repair_max_new_tokens)

    def request_body(self, turns: list[ChatTurn], max_tokens: int | None = None) -> dict:
        """The chat-completions body for a conversation (images as base64 data URLs)."""
        return {
            "model": self.model,
            "messages": [self._message(turn) for turn in turns],
            "response_format": response_format(),
            "max_tokens": max_tokens or self.max_new_tokens,
            "temperature": self.temperature,
        }

    def _message(self, turn: ChatTurn) -> dict:
        if turn.image is None:
            return {"role": turn.role, "content": turn.text}
        url = image_data_url(fit_image(turn.image, self.max_image_side_px))
        return {"role": turn.role, "content": [
            {"type": "image_url", "image_url": {"url": url}},
            {"type": "text", "text": turn.text},
        ]}

    def _complete(self, turns: list[ChatTurn], max_tokens: int) -> Completion:
        url = f"{self.base_url}/chat/completions"
        try:
            response = self._client.post(url, json=self.request_body(turns, max_tokens))
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(f"vLLM server at {self.base_url} is unreachable: {exc}",
                                      retry_after_s=_UPSTREAM_RETRY_AFTER_S) from exc
        status, text = response.status_code, response.text[:300]
        if status in (400, 413, 422):
            raise ModelRejectedInput(f"vLLM refused the request ({status}): {text}")
        if status == 429 or status >= 500:
            raise UpstreamUnavailable(f"vLLM server answered {status}: {text}",
                                      retry_after_s=_UPSTREAM_RETRY_AFTER_S)
        if status != 200:
            raise EngineUnavailable(f"vLLM server answered {status} (check the served model "
                                    f"name and API key): {text}")
        try:
            choice = response.json()["choices"][0]
            content = choice["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise UpstreamUnavailable(f"vLLM server sent an unexpected body: {text}",
                                      retry_after_s=_UPSTREAM_RETRY_AFTER_S) from exc
        return Completion(content, truncated=choice.get("finish_reason") == "length")
