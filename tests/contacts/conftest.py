"""Fixtures of the intake tests (none is autouse: other tests here are unaffected)."""

from __future__ import annotations

from pathlib import Path

import pytest

from contacts.models import Brand, Channel, Contact, Direction, Status
from contacts.services.integrations import integration_client_create
from tests.factories import TicketFactory, ViewerFactory

EMAILS = Path(__file__).parent / "emails"
TRIAGE_CALLS: list[int] = []


def eml(name: str) -> bytes:
    return (EMAILS / name).read_bytes()


@pytest.fixture
def intake_env(settings, tmp_path):
    """Media in a temporary folder, a local-memory cache, triage recorded instead of run."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"intake-{tmp_path.name}",
        }
    }
    settings.TRIAGE_TASK = "tests.contacts.conftest.fake_triage"
    settings.TRIAGE_BATCH_TASK = ""  # each ticket's triage recorded on its own
    settings.INTAKE_API_RATE = "100000/minute"
    from django.core.cache import cache

    cache.clear()
    TRIAGE_CALLS.clear()
    # The corpus was written for addresses @france2.fr: make them France 2's own.
    Brand.objects.filter(code="france2").update(
        email_address="relations.telespectateurs@france2.fr"
    )
    Brand.objects.filter(code="france3").update(
        email_address="relations.telespectateurs@france3.fr"
    )
    from contacts.services import email_intake

    email_intake._CACHE.clear()
    # Tasks run in-process here even on the broker run of CI (the test's transaction is never
    # committed, a worker could not see its rows); test_intake_worker.py covers the worker.
    from frt_crm.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield settings
    app.conf.task_always_eager = eager


class _FakeTriage:
    """Stands for routing's triage task: records the ticket ids it is asked for."""

    @staticmethod
    def delay(ticket_id):
        TRIAGE_CALLS.append(ticket_id)


fake_triage = _FakeTriage()


@pytest.fixture
def api_client_token(db):
    client, token = integration_client_create(
        code="partner", name="Partner site", may_post_contacts=True, may_post_calls=True
    )
    return client, token


@pytest.fixture
def annie_ticket(db):
    """Ticket FTV-2026-000123 of Annie Leroux, with the outbound mail the corpus replies to."""
    viewer = ViewerFactory(first_name="Annie", last_name="Leroux", email="annie.leroux@orange.fr")
    ticket = TicketFactory(reference="FTV-2026-000123", viewer=viewer, status=Status.WAITING_VIEWER)
    Contact.objects.create(
        ticket=ticket,
        viewer=viewer,
        channel=Channel.EMAIL,
        direction=Direction.OUTBOUND,
        subject="[FTV-2026-000123] Votre demande",
        message_id="frt-crm.FTV-2026-000123.1742735100.42@relations.france2.fr",
        delivery_status="sent",
        meta={"to": "annie.leroux@orange.fr"},
    )
    return ticket


@pytest.fixture
def broker_down(settings, tmp_path):
    """Tasks go to a broker on a port where nothing listens (Redis db 5): every enqueue
    fails, as during a broker outage."""
    import socket

    from frt_crm.celery import app

    settings.MEDIA_ROOT = str(tmp_path / "media")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/5"
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
