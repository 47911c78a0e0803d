"""Outside dependencies that are down: a broker that refuses, a database that is gone.

Enqueueing never breaks a request (the sweeps do the work later); with the database down every
page and API call answers 503 with Retry-After at once, and normal service comes back within
seconds of the database returning.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from datetime import timedelta
from unittest import mock

import psycopg
import pytest
import time_machine
from django.db import OperationalError, connection, transaction
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from contacts.models import Contact, Status, Ticket
from contacts.services.integrations import integration_client_create
from frt_crm import middleware
from frt_crm.celery import app, enqueue_on_commit
from routing.services.triage import triage_sweep_stalled
from tests.markers import requires_postgres


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the socket is: nothing listens


@pytest.fixture
def broker_down(settings, tmp_path):
    """Tasks go to a broker on a port where nothing listens (Redis db 5 of a closed port)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    url = f"redis://127.0.0.1:{closed_port()}/5"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = url
    saved = app.conf.task_always_eager, app.conf.broker_url, app.conf.broker_write_url
    app.conf.task_always_eager = False
    # Both: with a broker configured at start-up, the write URL is the one producers use.
    app.conf.broker_url = app.conf.broker_write_url = url
    app._pool = None
    app.amqp._producer_pool = None
    yield url
    app.conf.task_always_eager, app.conf.broker_url, app.conf.broker_write_url = saved
    app._pool = None
    app.amqp._producer_pool = None


@contextlib.contextmanager
def warnings_of_enqueue():
    """The warning lines enqueue_on_commit logs (read off its logger: another test may have
    reconfigured logging, which caplog depends on)."""
    from frt_crm import celery as celery_module

    lines: list[str] = []
    real = celery_module.logger.warning

    def record(message, *args, **kwargs):
        lines.append(message % args)
        real(message, *args, **kwargs)

    with mock.patch.object(celery_module.logger, "warning", side_effect=record):
        yield lines


class _Recorder:
    name = "tests.recorder"

    def __init__(self):
        self.calls = []

    def delay(self, *args):
        self.calls.append(args)


# --- enqueue never breaks a request --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_failed_enqueue_is_logged_in_one_line_and_the_other_hooks_still_run(broker_down, caplog):
    from routing.tasks import triage_ticket

    recorder = _Recorder()
    ran = []
    with warnings_of_enqueue() as lines, transaction.atomic():
        enqueue_on_commit(triage_ticket, 4242)
        enqueue_on_commit(recorder, 7)
        transaction.on_commit(lambda: ran.append("after"))

    assert recorder.calls == [(7,)] and ran == ["after"]
    [line] = lines
    assert "routing.tasks.triage_ticket(4242,)" in line and "left for the sweeps" in line
    assert "\n" not in line


FORM = {
    "request_type": "question",
    "message": "Bonjour, à quelle heure est rediffusé « Envoyé spécial » ? Merci.",
    "civility": "Mme",
    "first_name": "Jeanne",
    "last_name": "Martin",
    "email": "jeanne.martin@example.fr",
    "postcode": "29150",
    "website": "",
}
PAYLOAD = {
    "external_id": "partner-000017",
    "channel": "web",
    "brand": "france2",
    "subject": "Horaires du journal",
    "body": "Bonjour, à quelle heure est rediffusé le journal de 13 h ?",
    "sender": {"email": "paul.durand@example.fr", "first_name": "Paul", "last_name": "Durand"},
}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_with_the_broker_down_the_web_form_and_the_api_succeed_and_the_sweep_triages(
    broker_down, settings
):
    settings.INTAKE_API_RATE = "100000/minute"
    _, token = integration_client_create(code="partner", name="Partner", may_post_contacts=True)
    client = Client(raise_request_exception=False)

    with warnings_of_enqueue() as lines:
        form = client.post("/vous-et-nous/france2/", FORM, REMOTE_ADDR="192.0.2.10")
        api = client.post(
            "/api/v1/contacts/",
            json.dumps(PAYLOAD),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    assert form.status_code == 302, form.content[:300]
    assert api.status_code == 201, api.content[:300]
    tickets = Ticket.objects.filter(contacts__channel="web").distinct()
    assert tickets.count() == 2 and {t.status for t in tickets} == {Status.NEW}
    assert Contact.objects.filter(sender_address="jeanne.martin@example.fr").exists()
    assert any("left for the sweeps" in line for line in lines)

    # The broker is back (here: tasks in-process); the stalled-ticket sweep triages them.
    app.conf.task_always_eager = True
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        assert triage_sweep_stalled() == 2
    assert not Ticket.objects.filter(status=Status.NEW).exists()


def test_healthz_says_the_broker_is_degraded_and_pages_still_answer(db, broker_down, client):
    response = client.get("/healthz")

    assert response.status_code == 200  # the web still serves: keep it in the load balancer
    body = response.json()
    assert body["status"] == "degraded" and body["degraded"] == ["broker"]
    assert body["database"]["ok"] is True and body["broker"]["ok"] is False


# --- the database is down ------------------------------------------------------------------------


def test_a_locked_database_answers_503_in_french_with_retry_after(db, agent):
    client = Client(raise_request_exception=False)
    client.force_login(agent)
    with mock.patch("frt_crm.views.render", side_effect=OperationalError("database is locked")):
        response = client.get("/")

    assert response.status_code == 503 and response["Retry-After"] == "5"
    html = response.content.decode()
    assert "Service temporairement indisponible" in html


def test_an_api_call_during_an_outage_gets_json(db):
    client = Client(raise_request_exception=False)
    with mock.patch(
        "rest_framework.authentication.TokenAuthentication.authenticate",
        side_effect=OperationalError("database is locked"),
    ):
        response = client.get("/api/v1/tickets/", HTTP_AUTHORIZATION="Token x")

    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.json()["code"] == "service_unavailable"


def test_a_bug_in_a_query_is_still_a_500_not_an_outage():
    assert not middleware.is_database_outage(OperationalError("no such table: contacts_foo"))
    assert middleware.is_database_outage(OperationalError("database is locked"))


def _admin():
    params = connection.get_connection_params()
    params = {k: params[k] for k in ("host", "port", "user", "password") if k in params}
    return psycopg.connect(dbname="postgres", autocommit=True, **params)


def _database_down(name: str) -> None:
    with _admin() as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )


def _database_up(name: str) -> None:
    with _admin() as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    # The cut killed every connection of this process too (the live server's threads and the
    # pool's idle ones): the tests that follow start from a new pool, as a restarted process.
    from frt_crm.middleware import database_pool_reset

    database_pool_reset()


@pytest.mark.cuts_database
@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_database_down_answers_503_within_a_second_and_recovers_within_seconds(
    agent,
):
    name = connection.settings_dict["NAME"]
    client = Client(raise_request_exception=False)
    client.force_login(agent)
    api_headers = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=agent).key}"}
    assert client.get("/").status_code == 200
    connection.close()  # back to the pool, warm, as between two requests

    _database_down(name)
    try:
        timings = []
        for _ in range(3):
            for path, headers in (("/", {}), ("/api/v1/tickets/", api_headers)):
                started = time.monotonic()
                response = client.get(path, **headers)
                timings.append(time.monotonic() - started)
                assert response.status_code == 503, (path, response.content[:300])
                assert response["Retry-After"]
                if path.startswith("/api/"):
                    assert response.json()["code"] == "service_unavailable"
                else:
                    assert "Service temporairement indisponible" in response.content.decode()
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json()["degraded"] == ["database"]
    finally:
        _database_up(name)
    back = time.monotonic()
    while client.get("/").status_code != 200:
        assert time.monotonic() - back < 5, "not serving 5 s after the database returned"
        time.sleep(0.1)
    recovered = time.monotonic() - back
    logging.getLogger(__name__).warning(
        "time to 503: max %.2f s; back to normal after %.2f s", max(timings), recovered
    )
    assert max(timings) < 1.5
    assert client.get("/api/v1/tickets/", **api_headers).status_code == 200


# --- the embedded default: tasks after the response ----------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_without_a_broker_triage_runs_after_the_response_not_inside_it(settings, tmp_path):
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.client import RequestFactory

    from tests.contacts.conftest import TRIAGE_CALLS

    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.TRIAGE_TASK = "tests.contacts.conftest.fake_triage"
    settings.TRIAGE_BATCH_TASK = ""
    settings.INTAKE_API_RATE = "100000/minute"
    TRIAGE_CALLS.clear()
    _, token = integration_client_create(code="partner", name="Partner", may_post_contacts=True)
    request = RequestFactory().post(
        "/api/v1/contacts/",
        json.dumps(PAYLOAD),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    started = []

    response = WSGIHandler()(request.environ, lambda status, headers: started.append(status))

    assert started == ["201 Created"]  # the response is ready…
    assert TRIAGE_CALLS == []  # …and the triage has not run inside the request
    response.close()  # the server has sent it
    assert [Ticket.objects.get().pk] == TRIAGE_CALLS
