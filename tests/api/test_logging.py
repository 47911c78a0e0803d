"""A refused request is one log line, not a traceback (issue 11)."""

import logging

import pytest

from tests.api.conftest import staff_client

pytestmark = pytest.mark.django_db


def _request_records(caplog):
    return [r for r in caplog.records if r.name.startswith(("django.request", "django.security"))]


def test_a_403_on_a_page_is_one_line_without_traceback(client, agent, caplog):
    client.force_login(agent)
    with caplog.at_level(logging.INFO):
        response = client.get("/dashboards/")

    assert response.status_code == 403
    records = _request_records(caplog)
    assert len(records) == 1 and records[0].exc_info is None
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    ("path", "status"),
    [("/api/v1/tickets/999999/", 404), ("/api/v1/tickets/?level=9", 400)],
)
def test_an_api_refusal_is_one_line_without_traceback(agent, caplog, path, status):
    with caplog.at_level(logging.INFO):
        response = staff_client(agent).get(path)

    assert response.status_code == status
    records = _request_records(caplog)
    assert len(records) == 1 and records[0].exc_info is None
    assert "Traceback" not in caplog.text
