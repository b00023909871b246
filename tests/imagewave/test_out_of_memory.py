"""A request that runs out of memory is answered 422 too_large_to_process (a deterministic
failure: the caller does not retry it), and the service goes on serving."""

from __future__ import annotations

import httpx
import numpy as np
from fastapi import FastAPI

from imagewave.errors import install_error_handlers
from tests.conftest import serve_app


def test_out_of_memory_is_a_4xx_and_the_service_stays_up():
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/work")
    def work(exabytes: int) -> dict:
        buffer = np.empty(exabytes * 2**60, dtype=np.uint8)  # a real allocation that fails
        return {"bytes": buffer.nbytes}

    with serve_app(app) as url:
        response = httpx.post(f"{url}/work", params={"exabytes": 4}, timeout=10)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "too_large_to_process"
        assert httpx.post(f"{url}/work", params={"exabytes": 0}).json() == {"bytes": 0}
