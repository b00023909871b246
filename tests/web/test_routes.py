"""The page's routes, the bundle's refusal of unfinished jobs, and examples in the OpenAPI
document — over real HTTP against the gateway app and a real Redis (no workers needed)."""

from __future__ import annotations

import httpx

from gateway.jobs import new_job_id
from imagewave.contracts.jobs import JobOptions
from tests.conftest import REPO

STATIC = REPO / "gateway" / "static"


def test_the_page_and_its_files_are_served_and_nothing_else(gateway):
    url, _ = gateway
    page = httpx.get(url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for asset, media_type in (("app.js", "text/javascript"), ("style.css", "text/css"),
                              ("favicon.svg", "image/svg+xml")):
        assert f"/static/{asset}" in page.text
        response = httpx.get(f"{url}/static/{asset}")
        assert response.status_code == 200, asset
        assert response.headers["content-type"].startswith(media_type)
    for probe in ("index.html", "..%2Fsettings.py", "%2e%2e%2fapp.py", "nope.js"):
        assert httpx.get(f"{url}/static/{probe}").status_code == 404, probe


def test_the_page_loads_nothing_from_other_sites():
    for name in ("index.html", "app.js", "style.css"):
        text = (STATIC / name).read_text()
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, name


def test_a_bundle_is_made_only_for_a_succeeded_job(gateway):
    url, jobs = gateway
    job_id = new_job_id()
    jobs.create(job_id, JobOptions(), input_image="input/image.png")
    response = httpx.get(f"{url}/jobs/{job_id}/bundle.zip")
    assert response.status_code == 409
    assert "queued" in response.json()["error"]["message"]
    assert httpx.get(f"{url}/jobs/{new_job_id()}/bundle.zip").status_code == 404


def test_every_endpoint_has_examples_in_the_openapi_document(gateway):
    url, _ = gateway
    spec = httpx.get(f"{url}/openapi.json").json()
    schemas = spec["components"]["schemas"]

    def has_example(content: dict) -> bool:
        if "example" in content or "examples" in content:
            return True
        ref = content.get("schema", {}).get("$ref", "")
        return bool(ref) and "examples" in schemas[ref.split("/")[-1]]

    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                assert "examples" in parameter or "example" in parameter or (
                    "examples" in parameter.get("schema", {})), f"{where}: {parameter['name']}"
            success = next(r for code, r in operation["responses"].items()
                           if code.startswith("2"))
            contents = success.get("content", {})
            binary = any(t.startswith(("audio/", "application/zip")) for t in contents) or (
                "artifacts" in path)
            assert binary or any(has_example(c) for c in contents.values()), where
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                ref = media["schema"]["$ref"].split("/")[-1]
                fields = schemas[ref]["properties"]
                assert "examples" in fields["options"] or "examples" in str(fields), where
