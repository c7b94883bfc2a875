"""Tools an assessor would run: bandit over the code (no high findings) and schemathesis against
the JSON API's OpenAPI document with a signed-in client (no 500s, responses match the schema)."""
import json
import os
import subprocess
import sys

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error,
                                 response_schema_conformance, status_code_conformance)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_bandit_finds_no_high_severity_issue():
    bandit = os.path.join(os.path.dirname(sys.executable), "bandit")
    out = subprocess.run([bandit, "-r", "followup", "-f", "json", "-q"], cwd=ROOT, capture_output=True, text=True)
    report = json.loads(out.stdout)
    assert report["metrics"]["_totals"]["loc"] > 1000  # it really scanned the code
    high = [(r["filename"], r["line_number"], r["test_id"], r["issue_text"])
            for r in report["results"] if r["issue_severity"] == "HIGH"]
    assert not high, high


@pytest.mark.parametrize("who", ["nurse", "centre", "qa", "hospital_admin"])
def test_api_answers_generated_requests_without_500s_and_as_documented(who, world, app, login):
    """Every operation in the live OpenAPI document, called in-process (WSGI) by a signed-in
    user of the role, with schemathesis-generated inputs (positive and negative)."""
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a server error must come back as a 500 to check
    world.discharge()
    world.discharge(world.ward_b)
    client = login(app.test_client(), getattr(world, who))
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = {name: client.get_cookie(name).value}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 2
    calls = []

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call(cookies=cookie)
            calls.append(response.status_code)
            case.validate_response(response, checks=checks)
        run()
    assert len(calls) >= len(operations)
