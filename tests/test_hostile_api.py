"""Hostile input against the published contract: schemathesis generates requests from
/api/v1/openapi.json; no answer may be a 5xx or fall outside the documented schema."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from eldercare import create_app
from eldercare.openapi import build
from tests import factories as f

with create_app().test_request_context():
    from flask import current_app

    SPEC = build(current_app)

schema = schemathesis.openapi.from_dict(SPEC)


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_breaks_the_api(app, case):
    admin = f.user("admin")
    response = case.call(app=app, headers=f.headers(admin))
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
