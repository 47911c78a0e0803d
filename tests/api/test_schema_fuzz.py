"""Schemathesis over the whole OpenAPI schema (issue 11): every operation, with valid and
invalid data, as an agent, a manager and an integration client, against the WSGI app in the
test's database. 0 server errors and 0 answers that the schema does not describe.

Bounded and deterministic: FUZZ_EXAMPLES examples per operation, mode and caller (25 by
default: 1,050 cases, one to two minutes), derandomised (the same cases on every run). It runs
in both passes of `.ci/run` (SQLite and PostgreSQL: PostgreSQL refuses what SQLite stores) and
prints the number of cases run and of answers by class. To debug a failure, FUZZ_RAISE=1 stops
at the first one with the server's traceback.
"""

from __future__ import annotations

import contextlib
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks as openapi_checks

from contacts.services.integrations import integration_client_create
from tests.api.conftest import staff_client
from tests.factories import TicketFactory, ViewerFactory, brand

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
# What the schema promises. Not `positive_data_acceptance`: data valid by the schema may still
# be refused for what only the database knows (an unknown brand code, another's ticket).
CHECKS = [
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
]


@pytest.fixture
def wsgi_app(settings):
    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG_PROPAGATE_EXCEPTIONS = bool(os.environ.get("FUZZ_RAISE"))
    # As Django's test client: the test's transaction must outlive each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def callers(intake_env, agent, manager):
    # With a brand, a contact without one is France 2's: valid cases reach the intake itself.
    _, token = integration_client_create(
        code="fuzz",
        name="Fuzz",
        brand=brand("france2"),
        may_post_contacts=True,
        may_post_calls=True,
    )
    tokens = {
        "agent": staff_client(agent)._credentials["HTTP_AUTHORIZATION"],
        "manager": staff_client(manager)._credentials["HTTP_AUTHORIZATION"],
        "integration": f"Bearer {token}",
    }
    return {name: {"Authorization": value} for name, value in tokens.items()}


def _fuzz(operation, mode, who: str, headers: dict, failures: list, counts: dict) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        counts["cases"] += 1
        try:
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            key = f"{response.status_code // 100}xx"
            counts[key] = counts.get(key, 0) + 1
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{who} {operation.label}: {exc}")
            if os.environ.get("FUZZ_RAISE"):
                raise

    # Nothing to make invalid (take-next has no input): its positive cases ran.
    with contextlib.suppress(Unsatisfiable):
        run()


def test_schemathesis_finds_no_server_error_and_no_schema_violation(wsgi_app, callers, capsys):
    viewer = ViewerFactory()
    for level in (1, 2):
        TicketFactory(viewer=viewer, level=level)
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app)
    failures: list[str] = []
    counts = {"cases": 0}

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for caller, headers in callers.items():
                _fuzz(operation, mode, f"{caller} {mode.value}", headers, failures, counts)

    with capsys.disabled():
        answers = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k != "cases")
        print(  # noqa: T201
            f"\nschemathesis: {counts['cases']} cases ({answers}), {len(failures)} failures"
        )
    assert counts["cases"] > 0
    assert not failures, "\n\n".join(failures[:8])
