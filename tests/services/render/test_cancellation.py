"""A render nobody waits for stops: past the caller's X-Imagewave-Timeout-S the service answers
503 work_canceled at once, and when the caller disconnects the work stops using CPU."""

from __future__ import annotations

import base64
import io
import resource
import time

import httpx
import pretty_midi
import pytest

from imagewave.cancellation import TIMEOUT_HEADER
from imagewave.contracts.audio import AudioPayload
from imagewave.contracts.stages import InstrumentResponse
from services.render.app import create_app
from tests.conftest import serve_app
from tests.services.render.conftest import SOURCE_RATE, wind


def busy_midi(seconds: float) -> dict:
    """Chords of 8 notes every 0.1 s: seconds of sampler work per minute of song."""
    midi = pretty_midi.PrettyMIDI()
    track = pretty_midi.Instrument(program=0)
    start = 0.0
    while start < seconds:
        for pitch in range(48, 80, 4):
            track.notes.append(pretty_midi.Note(velocity=90, pitch=pitch, start=start,
                                                end=start + 0.4))
        start += 0.1
    midi.instruments.append(track)
    buffer = io.BytesIO()
    midi.write(buffer)
    return {"name": "busy.mid", "data_base64": base64.b64encode(buffer.getvalue()).decode()}


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@pytest.fixture(scope="module")
def render():
    with serve_app(create_app()) as url, httpx.Client(base_url=url, timeout=120) as client:
        response = client.post("/v1/instruments", json={
            "audio": AudioPayload.from_array(wind(), SOURCE_RATE).model_dump(),
            "role": "keyboard"})
        assert response.status_code == 200, response.text
        files = [f.model_dump() for f in InstrumentResponse.model_validate_json(
            response.content).files]
        yield client, {"midi": busy_midi(240), "instruments": {"keyboard": files},
                       "role_overrides": {0: "keyboard"}}


def test_past_the_callers_deadline_the_render_stops_with_503(render):
    client, body = render
    started = time.monotonic()
    response = client.post("/v1/render", json=body, headers={TIMEOUT_HEADER: "0.5"})
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text[:300]
    assert response.json()["error"]["code"] == "work_canceled"
    assert elapsed < 10, elapsed  # the whole render takes ~28 s on this machine


def test_a_caller_that_disconnects_stops_the_render(render):
    client, body = render
    with pytest.raises(httpx.TimeoutException):
        client.post("/v1/render", json=body, timeout=1.0)  # gives up, closes the connection
    time.sleep(2.0)  # the service notices within its poll interval and the next check
    before = cpu_s()
    time.sleep(3.0)
    # The whole render takes ~9 CPU s over ~28 s here: going on, it would use ~1 s of these 3.
    assert cpu_s() - before < 0.25, "the render went on after its caller left"
