"""The page as a newcomer meets it (issue 16), in a real headless Chromium against the session's
real `imagewave serve`: a job that does not exist, limits from the API schema, an example
picture, accessibility checked by axe-core, focus and progress for assistive technology, a
canceled and a failed job, and /docs rendering with no request to another host."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from tests.web.conftest import FAST_OPTIONS, Served
from tests.web.test_browser import CHROMIUM, CHROMIUM_FLAGS, _midi_file, _sync_playwright

pytestmark = pytest.mark.slow

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def browser_page(tmp_path):
    sync_playwright = _sync_playwright()
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: `npm ci --prefix tests/web/axe` (make test does it)")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1100, "height": 900})
        try:
            yield context.new_page()
        finally:
            context.close()


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                                                      'best-practice']});
        return r.violations.map(v => ({id: v.id, impact: v.impact,
                                       nodes: v.nodes.map(n => n.target.join(' '))}));
    }""")
    return result


def test_an_unknown_job_says_not_found_and_offers_no_cancel(served: Served, browser_page):
    page = browser_page
    page.goto(f"{served.url}/?job=doesnotexist")
    page.wait_for_selector("#error-box", state="visible", timeout=10_000)
    text = page.text_content("#error-box")
    assert "doesnotexist" in text and "No job" in text and "connection" not in text, text
    assert page.is_hidden("#cancel-button") and page.is_hidden("#progress-section")


def test_limits_from_the_schema_an_example_and_an_accessible_page(served: Served,
                                                                   browser_page):
    page = browser_page
    page.goto(served.url)
    schema = httpx.get(f"{served.url}/openapi.json").json()
    length = schema["components"]["schemas"]["JobOptions"]["properties"]["audio_length_in_s"]
    page.wait_for_function("document.querySelector('#length-input').max === '600'",
                           timeout=10_000)
    assert page.get_attribute("#length-input", "max") == f"{length['maximum']:g}" == "600"
    assert page.eval_on_selector("#length-input", "e => e.value") == f"{length['default']:g}"
    assert page.text_content("#length-output") == "30 s"

    assert axe_violations(page) == []
    zone = page.locator("#drop-zone")
    assert zone.get_attribute("role") == "button" and zone.get_attribute("tabindex") == "0"

    # An example picture, picked with the keyboard.
    page.wait_for_selector("#examples button.example", timeout=10_000)
    page.focus("#examples button.example")
    page.keyboard.press("Enter")
    page.wait_for_selector("#picked-name", state="visible", timeout=10_000)
    assert page.text_content("#picked-name") == "seaside.jpg"
    assert page.is_enabled("#submit-button")
    # The accessibility tree still has the zone, as a button named with the picked file.
    assert page.get_by_role("button", name=re.compile(r"seaside\.jpg")).count() == 1
    assert axe_violations(page) == []

    # Submit: focus goes to the progress, which has progressbars and a live status.
    page.eval_on_selector("#length-input", "el => { el.value = 5; "
                          "el.dispatchEvent(new Event('input')); }")
    page.fill("#sfx-length-input", "1")
    page.click("#submit-button")
    page.wait_for_function("document.activeElement && "
                           "document.activeElement.id === 'progress-heading'", timeout=15_000)
    assert page.locator('#stage-list [role="progressbar"]').count() == 7
    assert page.get_attribute("#job-label", "aria-live") == "polite"
    page.wait_for_selector('#mix-player canvas[data-drawn="true"]', timeout=180_000)
    # Role reasons are text on the cards, not only tooltips; engine prompts are folded away.
    page.wait_for_selector(".source-card .reason", timeout=30_000)
    assert page.locator(".source-card .reason").first.is_visible()
    assert page.locator(".sfx-card details.prompt").count() >= 1
    assert page.locator(".sfx-card details.prompt p").first.is_hidden()
    assert axe_violations(page) == []


def test_after_cancel_no_stage_runs(served: Served, browser_page, example_image: Path):
    page = browser_page
    page.goto(served.url)
    page.set_input_files("#image-input", str(example_image))
    page.fill("#sfx-length-input", "1")
    page.click("#submit-button")
    page.wait_for_selector("#cancel-button", state="visible", timeout=15_000)
    page.wait_for_selector('#stage-list [data-status="running"]', timeout=60_000)
    page.click("#cancel-button")
    page.wait_for_function("document.querySelector('#job-label').textContent"
                           ".includes('canceled')", timeout=30_000)
    statuses = page.eval_on_selector_all("#stage-list li", "els => els.map(e => "
                                         "e.dataset.status)")
    assert "running" not in statuses and "canceled" in statuses, statuses
    job_id = page.evaluate("new URLSearchParams(location.search).get('job')")
    # A fresh look at the same job (reload) agrees.
    page.reload()
    page.wait_for_function("document.querySelector('#job-label').textContent"
                           ".includes('canceled')", timeout=30_000)
    statuses = page.eval_on_selector_all("#stage-list li", "els => els.map(e => "
                                         "e.dataset.status)")
    assert "running" not in statuses, statuses
    view = httpx.get(f"{served.url}/jobs/{job_id}").json()
    assert "running" not in {s["status"] for s in view["stages"]}


def test_a_failed_job_says_it_once_and_keeps_internals_in_details(served: Served, browser_page,
                                                                  example_image: Path,
                                                                  tmp_path: Path):
    # The MIDI has 2 tracks; a role override for track 7 fails at the render stage.
    midi = _midi_file(tmp_path / "two-tracks.mid")
    with example_image.open("rb") as image, midi.open("rb") as song:
        response = httpx.post(f"{served.url}/jobs", files={"image": image, "midi": song},
                              data={"options": json.dumps(FAST_OPTIONS | {
                                  "role_overrides": {"7": "bass"}})})
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    page = browser_page
    page.goto(f"{served.url}/?job={job_id}")
    page.wait_for_selector("#error-box details", state="attached", timeout=180_000)
    headline = page.text_content("#error-box > p")
    assert headline.count("fail") == 1, headline
    assert "role_overrides" not in headline  # engine words stay in the details
    page.click("#error-box summary")
    assert "role_overrides" in page.text_content("#error-box details pre")


def test_docs_render_with_no_request_to_another_host(served: Served, browser_page):
    page = browser_page
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{served.url}/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    assert page.locator(".swagger-ui .opblock").count() >= 5
    assert page.locator(".swagger-ui .authorize").count() == 1  # the X-API-Key scheme
    hosts = {urlparse(url).hostname for url in requested if not url.startswith("data:")}
    assert hosts == {"127.0.0.1"}, requested
