"""Studio-engine tests: tiny random-initialised models of the real architectures, saved to disk
and loaded back through the engines' production loaders, on CPU, offline."""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest

# No hub: every model these tests load was built by the tests themselves.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection that leaves the machine, so a hidden download cannot pass silently."""
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]  # type: ignore[index]
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = host == "localhost"
            if not loopback:
                raise OSError(f"test tried to reach {host}: only loopback is allowed")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture(scope="session")
def tiny_audioldm2_dir(tmp_path_factory: pytest.TempPathFactory):
    from tests.models.tiny_audioldm2 import build_tiny_audioldm2

    return build_tiny_audioldm2(tmp_path_factory.mktemp("audioldm2"))


@pytest.fixture(scope="session")
def tiny_qwen2_5_vl_dir(tmp_path_factory: pytest.TempPathFactory):
    from services.vlm import prompt
    from tests.models.tiny_qwen2_5_vl import build_tiny_qwen2_5_vl

    # the tokenizer's BPE merges are learnt from the texts the engine will send
    examples = prompt.load_few_shot_examples()
    repair = prompt.repair_turns("", prompt.SceneReplyInvalid("the JSON does not parse"))
    corpus = [prompt.SYSTEM_PROMPT, prompt.TARGET_INSTRUCTION, prompt.EXAMPLE_INSTRUCTION,
              *(e.picture_description for e in examples),
              *(prompt.scene_to_reply(e.scene) for e in examples), *(t.text for t in repair)]
    return build_tiny_qwen2_5_vl(tmp_path_factory.mktemp("qwen2_5_vl"), corpus)
