"""A stand-in for vLLM's OpenAI-compatible server, served over real HTTP on loopback.

vLLM cannot run on this CPU machine, so the `vllm` engine's tests talk to this small FastAPI
app instead. It checks the request the way vLLM would need it (model, messages, a JSON-schema
`response_format`) and answers with scripted replies in the chat-completions shape; it records
every request body so tests can inspect what the client sent. A scripted reply is a string
(finish_reason "stop") or a `Reply`: a finish_reason such as "length" (the reply is cut to
`max_tokens` words when it is longer, as a server would), or an HTTP error status with vLLM's
error body.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse


@dataclass
class Reply:
    content: str = ""
    finish_reason: str = "stop"
    status_code: int = 200


class OpenAIStandIn:
    def __init__(self, served_model: str) -> None:
        self.served_model = served_model
        self.replies: deque[str | Reply] = deque()
        self.requests: list[dict] = []
        self.app = self._build_app()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/v1/models")
        def models() -> dict:
            return {"object": "list", "data": [{"id": self.served_model, "object": "model"}]}

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request) -> dict:
            body = await request.json()
            self.requests.append(body)
            if body.get("model") != self.served_model:
                raise HTTPException(404, f"The model `{body.get('model')}` does not exist.")
            if not isinstance(body.get("messages"), list) or not body["messages"]:
                raise HTTPException(400, "messages must be a non-empty list")
            if not self.replies:
                raise HTTPException(500, "stand-in has no scripted reply left")
            reply = self.replies.popleft()
            if isinstance(reply, str):
                reply = Reply(reply)
            if reply.status_code != 200:
                # vLLM's error body (an OpenAI-style error object)
                return JSONResponse({"object": "error", "message": reply.content,
                                     "type": "BadRequestError", "param": None,
                                     "code": reply.status_code}, status_code=reply.status_code)
            content = reply.content
            return {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": self.served_model,
                "choices": [{"index": 0, "finish_reason": reply.finish_reason,
                             "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            }

        return app

    def __enter__(self) -> OpenAIStandIn:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        config = uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("stand-in server did not start")
            time.sleep(0.02)
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=10)
