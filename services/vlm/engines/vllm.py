"""`vllm` describe engine: Qwen2.5-VL behind vLLM's OpenAI-compatible server.

The engine is an HTTP client of `POST {vllm_base_url}/chat/completions`. Structured output goes
through `response_format` with the scene's JSON schema (vLLM >= 0.12 removed `guided_json`), so
a well-behaved server only ever returns schema-valid JSON; the parse, one repair round and the
confidence filter in `services.vlm.prompt` still guard against truncated or odd replies.

Start the server with, e.g.:
    vllm serve Qwen/Qwen2.5-VL-7B-Instruct --max-model-len 8192 --limit-mm-per-prompt '{"image":1}'
"""

from __future__ import annotations

import httpx
from PIL import Image

from imagewave.contracts.engines import DescribeEngineName
from imagewave.contracts.scene import Scene
from imagewave.errors import EngineUnavailable
from services.vlm.prompt import (
    ChatTurn,
    describe_with_repair,
    fit_image,
    image_data_url,
    response_format,
)
from services.vlm.settings import VlmSettings


class VllmDescribeEngine:
    name = DescribeEngineName.vllm

    def __init__(self, *, base_url: str, model: str, api_key: str = "EMPTY",
                 timeout_s: float = 120.0, max_image_side_px: int = 768,
                 max_new_tokens: int = 1024, temperature: float = 0.2, few_shot: bool = True,
                 min_source_confidence: float = 0.3) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_image_side_px = max_image_side_px
        self.max_new_tokens = max_new_tokens
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
                   max_new_tokens=settings.max_new_tokens, temperature=settings.temperature,
                   few_shot=settings.few_shot,
                   min_source_confidence=settings.min_source_confidence)

    def describe(self, image: Image.Image) -> Scene:
        return describe_with_repair(self._complete, image, few_shot=self.few_shot,
                                    min_source_confidence=self.min_source_confidence)

    def request_body(self, turns: list[ChatTurn]) -> dict:
        """The chat-completions body for a conversation (images as base64 data URLs)."""
        return {
            "model": self.model,
            "messages": [self._message(turn) for turn in turns],
            "response_format": response_format(),
            "max_tokens": self.max_new_tokens,
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

    def _complete(self, turns: list[ChatTurn]) -> str:
        url = f"{self.base_url}/chat/completions"
        try:
            response = self._client.post(url, json=self.request_body(turns))
        except httpx.HTTPError as exc:
            message = f"vLLM server at {self.base_url} is unreachable: {exc}"
            raise EngineUnavailable(message) from exc
        if response.status_code != 200:
            raise EngineUnavailable(f"vLLM server answered {response.status_code}: "
                                    f"{response.text[:300]}")
        try:
            return response.json()["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise EngineUnavailable(f"vLLM server sent an unexpected body: "
                                    f"{response.text[:300]}") from exc
