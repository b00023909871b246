"""The web page in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright)
against a real `imagewave serve`: pick a picture, watch it progress, and check the finished page
both in the DOM and in a screenshot of it."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import httpx
import numpy as np
import pretty_midi
import pytest
from PIL import Image
from redis import Redis

from gateway.auth import create_key
from tests.web.conftest import Served

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
WAVE_RGB = (0x2D, 0x6C, 0xDF)  # --wave in style.css
DONE_RGB = (0x2E, 0x9D, 0x5B)  # --ok: finished stage bars


def _sync_playwright():
    """Playwright's entry point; a missing browser fails on CI (make test installs it) and
    skips elsewhere."""
    def missing(what: str):
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"{what} is missing")

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright pip package")
    if not Path(CHROMIUM).exists():
        missing(f"{CHROMIUM} (apt-get install -y chromium)")
    return sync_playwright


def _share_of_color(region: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 40) -> float:
    distance = np.abs(region[..., :3].astype(int) - np.array(rgb)).sum(axis=-1)
    return float((distance < tolerance).mean())


def _crop(screenshot: np.ndarray, box: dict) -> np.ndarray:
    x, y = int(box["x"]), int(box["y"])
    return screenshot[y:y + int(box["height"]), x:x + int(box["width"])]


def _midi_file(path: Path) -> Path:
    """Five seconds of a bass line and a piano chord, as a user might upload."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano, bass = pretty_midi.Instrument(program=0), pretty_midi.Instrument(program=33)
    for beat in range(10):
        bass.notes.append(pretty_midi.Note(100, 36 + (beat % 2) * 7, beat * 0.5, beat * 0.5 + 0.4))
    piano.notes += [pretty_midi.Note(80, pitch, 0.0, 4.5) for pitch in (60, 64, 67)]
    midi.instruments += [piano, bass]
    midi.write(str(path))
    return path


@pytest.mark.parametrize("with_api_key", [False, True], ids=["anonymous", "api-key+midi+drop"])
def test_the_page_turns_a_dropped_picture_into_a_song(served: Served, example_image: Path,
                                                      tmp_path: Path, with_api_key: bool):
    """Anonymous: picked picture, EventSource and plain links, generated arrangement. With a
    key: a dropped picture and an uploaded MIDI, and the job belongs to the key and is hidden
    (404) from any request without it, so every request the page makes must carry it."""
    sync_playwright = _sync_playwright()
    page_errors: list[str] = []
    headers = {}
    if with_api_key:
        secret, _ = create_key(Redis.from_url(served.redis_url), "browser test")
        headers = {"X-API-Key": secret}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1100, "height": 900})
        try:
            page = browser.new_page()
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.on("response", lambda r: page_errors.append(f"{r.status} {r.url}")
                    if r.status >= 400 else None)
            page.goto(served.url)
            assert page.title().startswith("imagewave")
            if with_api_key:
                page.click(".api-key summary")
                page.fill("#api-key-input", headers["X-API-Key"])
            assert page.is_disabled("#submit-button")

            if with_api_key:  # dropped on the page, as a person would
                drop = page.evaluate_handle(
                    "b64 => { const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));"
                    " const data = new DataTransfer(); data.items.add(new File([bytes], "
                    "'seaside.jpg', {type: 'image/jpeg'})); return data; }",
                    base64.b64encode(example_image.read_bytes()).decode())
                page.dispatch_event("#drop-zone", "drop", {"dataTransfer": drop})
            else:  # picked with the file chooser
                page.set_input_files("#image-input", str(example_image))
            if with_api_key:
                page.set_input_files("#midi-input", str(_midi_file(tmp_path / "mine.mid")))
            page.wait_for_selector("#image-preview", state="visible", timeout=10_000)
            assert page.is_enabled("#submit-button") and page.is_hidden("#drop-hint")
            page.eval_on_selector("#length-input", "el => { el.value = 5; "
                                  "el.dispatchEvent(new Event('input')); }")
            assert page.text_content("#length-output") == "5 s"
            page.fill("#sfx-length-input", "1")
            if not with_api_key:  # a chosen style travels in the options
                page.select_option("#style-input", "folk")
            page.click("#submit-button")

            page.wait_for_selector('#mix-player canvas[data-drawn="true"]', timeout=180_000)
            job_id = page.evaluate("new URLSearchParams(location.search).get('job')")
            scene = httpx.get(f"{served.url}/jobs/{job_id}/artifacts/scene.json",
                              headers=headers).json()
            sources = len(scene["sound_sources"])
            page.wait_for_function(
                "n => document.querySelectorAll('#sfx-list canvas[data-drawn]').length === n "
                "&& document.querySelectorAll('#instrument-list canvas[data-drawn]').length "
                "=== 4", arg=sources, timeout=60_000)

            # The DOM: every stage done, a card per source with its roles, a player per sound.
            statuses = page.eval_on_selector_all("#stage-list li", "els => els.map(e => "
                                                 "e.dataset.status)")
            assert statuses == ["succeeded"] * 7
            assert page.locator(".source-card").count() == sources
            assert sorted(page.eval_on_selector_all(".source-card .role", "els => els.map("
                                                    "e => e.textContent)")) == [
                "bass", "drums", "guitar", "keyboard"]
            assert page.locator("#sfx-list audio").count() == sources
            assert page.locator("#instrument-list audio").count() == 4
            mix_seconds = float(page.get_attribute("#mix-player canvas", "data-seconds"))
            assert mix_seconds >= 5
            bundle_href = page.get_attribute("#bundle-link", "href")
            assert bundle_href == f"/jobs/{job_id}/bundle.zip"
            assert httpx.get(served.url + bundle_href, headers=headers).headers[
                "content-type"] == "application/zip"
            if with_api_key:  # the job is the key's: without it, it does not exist
                assert httpx.get(f"{served.url}/jobs/{job_id}").status_code == 404
            assert page.is_hidden("#error-box") and page.is_hidden("#cancel-button")
            assert ("your MIDI" if with_api_key else "BPM") in page.text_content(
                "#arrangement-summary")
            if not with_api_key:  # the generated song's sections, drawn as a timeline
                assert "folk" in page.text_content("#arrangement-summary")
                arrangement = httpx.get(f"{served.url}/jobs/{job_id}/artifacts/"
                                        "arrangement.json", headers=headers).json()
                names = page.eval_on_selector_all("#section-timeline .section-block",
                                                  "els => els.map(e => e.textContent)")
                assert names == [s["name"] for s in arrangement["sections"]] and names

            png = page.screenshot(full_page=True)
            boxes = {name: page.eval_on_selector(selector, "e => { const r = "
                     "e.getBoundingClientRect(); return {x: r.x + scrollX, y: r.y + scrollY, "
                     "width: r.width, height: r.height}; }")
                     for name, selector in (("mix", "#mix-player canvas"),
                                            ("stages", "#stage-list"),
                                            ("cards", "#source-cards"))}
        finally:
            browser.close()
    assert not page_errors, page_errors

    # The screenshot itself shows the song's waveform, seven finished stages and the cards.
    keep = Path(os.environ.get("IMAGEWAVE_SCREENSHOT_DIR", tmp_path))  # to look at it
    keep.mkdir(parents=True, exist_ok=True)
    (keep / f"web-page-{'api-key' if with_api_key else 'anonymous'}.png").write_bytes(png)
    screenshot = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert _share_of_color(_crop(screenshot, boxes["mix"]), WAVE_RGB) > 0.1
    stage_rows = _crop(screenshot, boxes["stages"])
    assert _share_of_color(stage_rows, DONE_RGB) > 0.02
    green_rows = [y for y in range(stage_rows.shape[0])
                  if _share_of_color(stage_rows[y:y + 1], DONE_RGB) > 0.2]
    assert len(np.split(green_rows, np.where(np.diff(green_rows) > 1)[0] + 1)) == 7
    cards = _crop(screenshot, boxes["cards"])
    assert (cards.mean(axis=-1) < 100).mean() > 0.005  # dark text is drawn on the cards


def test_the_page_edits_the_scene_and_remixes_the_song(served: Served, example_image: Path,
                                                       tmp_path: Path):
    """Rename a source, remove another, lengthen the song and press Remix: a new job follows,
    its parent the first one, describe reused, sounds made again from the edited cards."""
    sync_playwright = _sync_playwright()
    page_errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1100, "height": 900})
        try:
            page = browser.new_page()
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.on("response", lambda r: page_errors.append(f"{r.status} {r.url}")
                    if r.status >= 400 else None)
            page.goto(served.url)
            page.set_input_files("#image-input", str(example_image))
            page.eval_on_selector("#length-input", "el => { el.value = 5; "
                                  "el.dispatchEvent(new Event('input')); }")
            page.fill("#sfx-length-input", "1")
            page.click("#submit-button")
            page.wait_for_selector('#mix-player canvas[data-drawn="true"]', timeout=180_000)
            first = page.evaluate("new URLSearchParams(location.search).get('job')")
            assert page.is_visible("#remix-button")
            cards = page.locator(".source-card")
            before = cards.count()
            cards.nth(0).locator(".source-name").fill("church bells")
            cards.nth(0).locator(".play-method").first.fill("bells ringing from a tower")
            if before > 1:
                cards.nth(before - 1).locator(".remove-source").click()
            page.click("#add-source-button")
            added = page.locator(".source-card").last
            added.locator(".source-name").fill("foghorn")
            added.locator(".play-method").fill("a long low horn")
            page.eval_on_selector("#length-input", "el => { el.value = 10; "
                                  "el.dispatchEvent(new Event('input')); }")
            page.click("#remix-button")

            page.wait_for_function(
                "first => new URLSearchParams(location.search).get('job') !== first",
                arg=first, timeout=10_000)
            second = page.evaluate("new URLSearchParams(location.search).get('job')")
            page.wait_for_selector('#mix-player canvas[data-drawn="true"]', timeout=180_000)
            statuses = page.eval_on_selector_all("#stage-list li", "els => els.map(e => "
                                                 "e.dataset.status)")
            assert statuses == ["skipped"] + ["succeeded"] * 6
            names = page.eval_on_selector_all(".source-card .source-name",
                                              "els => els.map(e => e.value)")
        finally:
            browser.close()
    assert not page_errors, page_errors
    job = httpx.get(f"{served.url}/jobs/{second}").json()
    assert job["parent"] == first and job["options"]["audio_length_in_s"] == 10
    scene = httpx.get(f"{served.url}/jobs/{second}/artifacts/scene.json").json()
    expected = max(1, before - 1) + 1 if before > 1 else 2
    assert [s["name"] for s in scene["sound_sources"]][0] == "church bells"
    assert scene["sound_sources"][-1]["name"] == "foghorn"
    assert len(scene["sound_sources"]) == expected and names == [
        s["name"] for s in scene["sound_sources"]]
