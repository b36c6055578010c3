"""The OpenAPI document lists every admin route, and a schemathesis run against it
(every operation, valid and invalid inputs) gets no server error."""

from __future__ import annotations

import re

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.admin_api import AUTH, Shop

#: The one route under /api/ that the document does not describe: itself.
NOT_DOCUMENTED = {"/api/openapi.json"}


def test_every_admin_route_is_documented(app: Flask) -> None:
    document = app.test_client().get("/api/openapi.json").json
    documented = {
        (method.upper(), path) for path, ops in document["paths"].items() for method in ops
    }
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule in NOT_DOCUMENTED:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        served |= {(m, path) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")}
    assert served == documented
    assert len(documented) >= 27
    assert document["openapi"].startswith("3.1")


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ignored_auth,
]


@pytest.mark.slow
def test_no_input_makes_a_server_error(app: Flask, shop: Shop) -> None:
    """Every operation, 20 valid and 20 invalid requests each, derandomized so a run
    is repeatable. Answers must be documented statuses in the documented shape."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 27
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=20,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: schemathesis.Case) -> None:
                case.call_and_validate(headers=AUTH, checks=CHECKS)

            try:
                run()
            except Exception as failure:
                # Collected so one run reports every failing operation, not the first.
                failures.append(f"{operation.label} ({mode}): {failure}"[:2000])
    assert not failures, "\n\n".join(failures)
