"""A battery of malformed and hostile requests against a running stack: none may get a 5xx or
take over 10 s; afterwards the service is healthy and the next valid job succeeds."""

from __future__ import annotations

import io
import json
import struct
import time
from collections.abc import Callable

import httpx
import mido
import pytest
from PIL import Image

from bench.midi_validation import dense_midi
from gateway.jobs import ACTIVE_KEY
from tests.conftest import make_photo
from tests.reliability.harness import LiveStack, TricklingReceiver

pytestmark = pytest.mark.slow

UPLOAD_LIMIT = 2_000_000


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> LiveStack:
    # 127.0.0.2 (loopback too) is this suite's trusted webhook receiver; 127.0.0.1 stays refused.
    stack = LiveStack(tmp_path_factory.mktemp("hostile"), workers=1,
                      env={"IMAGEWAVE_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT),
                           "IMAGEWAVE_WEBHOOK_ALLOW_HOSTS": "127.0.0.2"}).start()
    yield stack
    stack.stop()


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def midi_bytes(notes: int = 1, end_s: float = 1.0) -> bytes:
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    for _ in range(notes):
        track.append(mido.Message("note_on", note=60, velocity=90, time=0))
        track.append(mido.Message("note_off", note=60, velocity=0, time=1))
    # At the default 120 bpm, 960 ticks are one second.
    track.append(mido.Message("note_on", note=62, velocity=90, time=int(end_s * 960)))
    track.append(mido.Message("note_off", note=62, velocity=0, time=10))
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def midi_with(*, tempo: int | None = None, zero_length: bool = False) -> bytes:
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    if tempo is not None:
        track.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
    for _ in range(4):
        track.append(mido.Message("note_on", note=60, velocity=90, time=0 if zero_length else 10))
        track.append(mido.Message("note_off", note=60, velocity=0, time=0 if zero_length else 480))
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def smpte_midi() -> bytes:
    data = bytearray(midi_bytes())
    data[12:14] = b"\xe7\x28"  # -25 frames a second, 40 ticks a frame
    return bytes(data)


def jpeg_claiming(width: int, height: int) -> bytes:
    """A JPEG header whose frame says width x height, with no image data behind it."""
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + sof + b"\xff\xd9"


def build_attacks(photo: bytes, job_id: str) -> list[tuple[str, Callable[[httpx.Client],
                                                                         httpx.Response]]]:
    def post(files=None, data=None, headers=None, content=None):
        return lambda c: c.post("/jobs", files=files, data=data, headers=headers,
                                content=content)

    def image(payload: bytes, name: str = "photo.jpg", **extra):
        return post(files={"image": (name, payload, "image/jpeg")}, **extra)

    def with_options(options: str):
        return post(files={"image": ("p.jpg", photo, "image/jpeg")}, data={"options": options})

    def with_midi(payload: bytes):
        return post(files={"image": ("p.jpg", photo, "image/jpeg"),
                           "midi": ("song.mid", payload, "audio/midi")})

    bomb = png(Image.new("1", (30_000, 30_000)))
    sixteen_bit_giant = png(Image.new("I;16", (8_000, 7_000)))
    animated = io.BytesIO()
    Image.new("P", (4, 4)).save(animated, "GIF", save_all=True,
                                append_images=[Image.new("P", (4, 4))])
    return [
        ("no body", post()),
        ("json instead of multipart", post(content=b'{"image": "x"}',
                                           headers={"content-type": "application/json"})),
        ("broken multipart boundary", post(content=b"--zz\r\ngarbage",
                                           headers={"content-type":
                                                    "multipart/form-data; boundary=zz"})),
        ("options but no image", post(data={"options": "{}"})),
        ("image sent as a text field", post(data={"image": "not a file"})),
        ("empty image", image(b"")),
        ("random bytes", image(bytes(range(256)) * 40)),
        ("truncated jpeg", image(photo[:300])),
        ("png signature then garbage", image(b"\x89PNG\r\n\x1a\n" + b"\x00" * 500)),
        ("svg named .jpg", image(b"<svg xmlns='http://www.w3.org/2000/svg'/>")),
        ("html with script", image(b"<html><script>alert(1)</script></html>", "x.html")),
        ("pdf", image(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF")),
        ("decompression bomb png (900 MP)", image(bomb, "bomb.png")),
        ("16-bit png over the pixel cap", image(sixteen_bit_giant, "big.png")),
        ("jpeg header claiming 65535x65535", image(jpeg_claiming(65_535, 65_535))),
        ("upload over the size limit", image(b"\xff\xd8" + b"\x00" * (UPLOAD_LIMIT + 10))),
        ("path traversal file name", image(photo, "../../../../etc/passwd")),
        ("options not json", with_options("{not json")),
        ("options a json array", with_options("[1, 2, 3]")),
        ("options nested 100k deep", with_options("[" * 100_000 + "]" * 100_000)),
        ("options a 1 MB string", with_options('{"seed": "' + "9" * 1_000_000 + '"}')),
        ("options unknown field", with_options('{"rm": "-rf /"}')),
        ("options infinite number", with_options('{"audio_length_in_s": 1e999}')),
        ("options song of a billion seconds", with_options('{"audio_length_in_s": 1e9}')),
        ("options unknown engine", with_options('{"engines": {"sfx": "../../bin/sh"}}')),
        ("options webhook to a file url", with_options('{"webhook_url": "file:///etc/passwd"}')),
        ("options webhook to Redis in hex", with_options(
            '{"webhook_url": "http://0x7f000001:6379/"}')),
        ("options webhook to cloud metadata", with_options(
            '{"webhook_url": "http://169.254.169.254/latest/meta-data/"}')),
        ("options webhook to mapped loopback", with_options(
            '{"webhook_url": "http://[::ffff:127.0.0.1]/"}')),
        ("options role override not a track", with_options('{"role_overrides": {"x": "bass"}}')),
        ("midi not midi", with_midi(b"RIFF....WAVEfmt ")),
        ("midi header then garbage", with_midi(b"MThd\x00\x00\x00\x06" + b"\xff" * 64)),
        ("midi empty", with_midi(b"")),
        ("midi with too many notes", with_midi(midi_bytes(notes=60_000))),
        ("midi an hour long", with_midi(midi_bytes(end_s=3600))),
        ("midi 340k notes in 2 MB", with_midi(dense_midi(340_000))),
        ("midi with tempo 0", with_midi(midi_with(tempo=0))),
        ("midi with SMPTE division", with_midi(smpte_midi())),
        ("midi with only zero-length notes", with_midi(midi_with(zero_length=True))),
        ("jpeg cut in its scan data", image(photo[: len(photo) * 3 // 4])),
        ("options 60k role overrides", with_options(json.dumps(
            {"role_overrides": {str(i): "bass" for i in range(60_000)}}))),
        ("options role override of track -1", with_options('{"role_overrides": {"-1": "bass"}}')),
        ("bad idempotency key", image(photo, headers={"Idempotency-Key": "x" * 1000})),
        ("wrong api key", image(photo, headers={"X-API-Key": "iw_" + "A" * 40})),
        ("job path traversal", lambda c: c.get("/jobs/..%2F..%2Fetc%2Fpasswd")),
        ("artifact path traversal", lambda c: c.get(f"/jobs/{job_id}/artifacts/../../x")),
        ("artifact encoded traversal",
         lambda c: c.get(f"/jobs/{job_id}/artifacts/%2e%2e/%2e%2e/etc/passwd")),
        ("artifact absolute path", lambda c: c.get(f"/jobs/{job_id}/artifacts//etc/passwd")),
        ("artifact NUL byte", lambda c: c.get(f"/jobs/{job_id}/artifacts/mix.wav%00.txt")),
        ("the uploaded input", lambda c: c.get(f"/jobs/{job_id}/artifacts/input/image.jpg")),
        ("a 10 kB job id", lambda c: c.get("/jobs/" + "a" * 10_000)),
        ("guessed job id", lambda c: c.get("/jobs/AAAAAAAAAAAAAAAAAAAAAA")),
        ("cancel a guessed job", lambda c: c.delete("/jobs/AAAAAAAAAAAAAAAAAAAAAA")),
        ("PUT on jobs", lambda c: c.put("/jobs", content=b"x")),
        ("animated gif is fine", image(animated.getvalue(), "a.gif")),
    ]


def test_hostile_requests_get_clear_4xx_fast_and_the_service_stays_up(live, tmp_path):
    photo = make_photo(tmp_path / "photo.jpg").read_bytes()
    job_id = live.submit(photo)
    attacks = build_attacks(photo, job_id)
    assert len(attacks) >= 30

    results = {}
    with httpx.Client(base_url=live.url, timeout=10) as client:
        for name, attack in attacks:
            started = time.monotonic()
            try:
                response = attack(client)
            except httpx.TimeoutException:
                pytest.fail(f"{name}: no answer within 10 s")
            elapsed = time.monotonic() - started
            results[name] = (response.status_code, round(elapsed, 2))
            assert response.status_code < 500, (name, response.status_code, response.text[:300])
            assert elapsed < 10, (name, elapsed)
            if response.status_code >= 400 and response.status_code != 405:
                body = response.json()["error"]
                assert body["code"] and body["message"], name

    # A file name is never used for anything: a good photo named ../../etc/passwd is accepted.
    harmless = {"animated gif is fine", "path traversal file name"}
    refused = {name for name, (status, _) in results.items() if status >= 400}
    assert refused == {name for name, _ in attacks} - harmless, results
    assert results["upload over the size limit"][0] == 413
    assert results["decompression bomb png (900 MP)"][0] == 422
    assert results["midi with too many notes"][0] == 422
    assert results["wrong api key"][0] == 401

    assert httpx.get(f"{live.url}/healthz", timeout=5).status_code == 200
    # The accepted submissions above queue on the one worker first (minutes on a busy machine).
    redis = live.redis_client()
    deadline = time.monotonic() + 300
    while redis.zcard(ACTIVE_KEY):
        assert time.monotonic() < deadline, "the accepted jobs did not finish"
        time.sleep(0.5)
    job = live.wait(live.submit(photo), timeout_s=120)
    assert job["status"] == "succeeded", job


def test_trickling_webhook_receivers_do_not_delay_jobs(live, tmp_path):
    """Submit-and-cancel pairs whose webhooks trickle a byte every 5 s: the deliveries wait in
    their own queue, and a normal job still starts at once on the one job worker."""
    photo = make_photo(tmp_path / "photo.jpg").read_bytes()
    redis = live.redis_client()
    deadline = time.monotonic() + 120
    while redis.zcard(ACTIVE_KEY):  # the worker is free: earlier tests' jobs are over
        assert time.monotonic() < deadline, "earlier jobs did not finish"
        time.sleep(0.3)
    receiver = TricklingReceiver(trickle_s=5.0, host="127.0.0.2")
    try:
        options = '{"audio_length_in_s": 5, "sfx_length_in_s": 1, "webhook_url": "%s"}'
        for _ in range(3):
            job_id = live.submit(photo, options % receiver.url)
            assert httpx.delete(f"{live.url}/jobs/{job_id}", timeout=10).status_code == 200
        deadline = time.monotonic() + 20
        while receiver.connections == 0:  # a delivery is being trickled now
            assert time.monotonic() < deadline, "no webhook delivery started"
            time.sleep(0.1)
        submitted = time.monotonic()
        normal = live.submit(photo)
        live.wait_for_stage(normal, "describe", timeout_s=60)
        waited_s = time.monotonic() - submitted
        assert waited_s < 5, waited_s
        assert live.wait(normal, timeout_s=120)["status"] == "succeeded"
    finally:
        receiver.close()
