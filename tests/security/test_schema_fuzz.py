"""schemathesis against the gateway's own OpenAPI spec, over real HTTP: whatever it generates,
no 5xx. Bounded (a few examples per operation) so it stays quick."""

from __future__ import annotations

import itertools

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from gateway.app import create_app
from gateway.settings import GatewaySettings
from tests.conftest import TEST_REDIS_URL, serve_app

pytestmark = [pytest.mark.slow, pytest.mark.redis]  # a fuzzing run against a real gateway


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    gateway_settings = GatewaySettings(redis_url=TEST_REDIS_URL, queue_name="test-fuzz",
                                       data_dir=tmp_path_factory.mktemp("fuzz"))
    with serve_app(create_app(gateway_settings)) as url:
        yield schemathesis.openapi.from_url(f"{url}/openapi.json")


def test_no_request_the_spec_allows_makes_a_server_error(api_schema):
    # Hypothesis driven per operation by hand: schemathesis' pytest plugin does not load
    # under this pytest version.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/jobs", "/jobs/{job_id}"}
    for operation, mode in itertools.product(operations, GenerationMode):  # valid and invalid

        @given(case=operation.as_strategy(mode))
        @settings(max_examples=20, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def no_server_error(case):
            case.call_and_validate(checks=[not_a_server_error], timeout=10)

        try:
            no_server_error()
        except Unsatisfiable:  # nothing in the operation can be made invalid (GET /healthz)
            assert mode is GenerationMode.NEGATIVE, operation.path
