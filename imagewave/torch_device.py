"""Where and in what precision the studio engines run, from their `device`/`torch_dtype`
settings ("auto" picks CUDA when present). Imported only by engines that already need torch."""

from __future__ import annotations

import torch

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def resolve_dtype(name: str, device: torch.device, *,
                  cuda_default: torch.dtype = torch.float16) -> torch.dtype:
    """`auto` is `cuda_default` on a GPU and float32 on a CPU (half precision is slow there)."""
    if name == "auto":
        return cuda_default if device.type == "cuda" else torch.float32
    if name not in DTYPES:
        raise ValueError(f"torch_dtype must be auto or one of {sorted(DTYPES)}, got {name!r}")
    return DTYPES[name]
