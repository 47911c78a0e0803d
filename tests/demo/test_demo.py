"""`make run` as a demonstration of the real product: the SMTP catcher receives what the
outbox sends, the periodic runner calls the beat schedule, the caught mail page, links built
from the port served, the favicon."""

import socket
import time
from datetime import timedelta

import pytest
from celery.schedules import crontab
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from demo import mailcatcher
from demo.management.commands.run_demo import child_env, site_url
from demo.periodic import Runner
from outbox import services
from outbox.models import MessageKind, MessageState

pytestmark = pytest.mark.django_db


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def catcher(settings, tmp_path):
    port = free_port()
    controller = mailcatcher.start(tmp_path / "mail", port=port)
    settings.DEMO_MAIL_DIR = tmp_path / "mail"
    settings.DEMO_MAIL_CATCHER = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield tmp_path / "mail"
    controller.stop()


def send(subject="Votre demande FTV-2026-000042", body="Bonjour,\nvoici notre réponse."):
    with transaction.atomic():
        return services.message_enqueue(
            kind=MessageKind.REPLY, to=["viewer@example.fr"], subject=subject, body_text=body
        )


def test_an_outbox_message_goes_through_smtp_to_the_catcher(
    catcher, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = send()
    message.refresh_from_db()
    assert message.state == MessageState.SENT
    caught = mailcatcher.read_messages(catcher)
    assert len(caught) == 1
    assert caught[0].subject == "Votre demande FTV-2026-000042"
    assert caught[0].recipients == "viewer@example.fr"
    assert "voici notre réponse" in caught[0].body
    assert caught[0].date is not None


def test_without_the_catcher_the_message_waits_deferred(
    settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    with django_capture_on_commit_callbacks(execute=True):
        message = send()
    message.refresh_from_db()
    assert message.state == MessageState.DEFERRED


def test_the_mail_page_lists_what_was_sent_newest_first(
    catcher, client, manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        send(subject="Premier envoi")
    time.sleep(0.01)
    with django_capture_on_commit_callbacks(execute=True):
        send(subject="Second envoi", body="Texte du second")
    client.force_login(manager)
    page = client.get("/demo/mail/").content.decode()
    assert page.index("Second envoi") < page.index("Premier envoi")
    assert "viewer@example.fr" in page and "Texte du second" in page
    assert 'href="/demo/mail/"' in page  # in the menu


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("agent", 403),
        ("mailroom", 403),
        ("srt", 403),
        ("mediator", 403),
        ("manager", 200),
        ("admin_user", 200),
    ],
)
def test_the_mail_page_is_for_managers_and_administrators(
    catcher, client, request, persona, status
):
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/demo/mail/").status_code == status


def test_the_mail_page_does_not_exist_outside_the_demonstration(settings, client, manager):
    settings.DEMO_MAIL_CATCHER = False
    client.force_login(manager)
    assert client.get("/demo/mail/").status_code == 404
    assert 'href="/demo/mail/"' not in client.get("/").content.decode()


def test_anonymous_visitors_sign_in_first(catcher, client):
    response = client.get("/demo/mail/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_periodic_runner_calls_the_scheduled_tasks_at_their_periods():
    calls = []
    start = timezone.now()
    schedule = {
        "often": {"task": "outbox.tasks.sweep_outbox", "schedule": 60.0},
        "sometimes": {"task": "routing.tasks.sla_sweep", "schedule": timedelta(minutes=5)},
        "nightly": {
            "task": "privacy.tasks.retention_nightly",
            "schedule": crontab(minute=30, hour=2),
        },
    }
    runner = Runner(schedule, call=lambda name, args, kwargs: calls.append(name), now=start)
    called, _ = runner.run_due(start)
    assert sorted(called) == ["often", "sometimes"]  # intervals at once, the crontab at its time
    called, next_in = runner.run_due(start + timedelta(seconds=30))
    assert called == [] and 1 <= next_in <= 30
    called, _ = runner.run_due(start + timedelta(seconds=61))
    assert called == ["often"]
    called, _ = runner.run_due(start + timedelta(days=1, seconds=1))
    assert sorted(called) == ["nightly", "often", "sometimes"]
    assert calls.count("outbox.tasks.sweep_outbox") == 3


def test_the_runner_reads_the_beat_schedule_from_settings(settings):
    settings.CELERY_BEAT_SCHEDULE = {"sweep": {"task": "outbox.tasks.sweep_outbox", "schedule": 60}}
    calls = []
    Runner(call=lambda name, args, kwargs: calls.append(name)).run_due()
    assert calls == ["outbox.tasks.sweep_outbox"]


def test_run_periodic_once_really_runs_the_outbox_sweep(
    settings, catcher, django_capture_on_commit_callbacks
):
    """A deferred message due again is sent by the sweep the runner calls (the real task)."""
    settings.CELERY_BEAT_SCHEDULE = {"outbox-sweep": settings.CELERY_BEAT_SCHEDULE["outbox-sweep"]}
    with django_capture_on_commit_callbacks(execute=False):
        message = send()
    type(message).objects.filter(pk=message.pk).update(
        state=MessageState.DEFERRED, next_attempt_at=timezone.now() - timedelta(minutes=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_periodic", "--once")
    message.refresh_from_db()
    assert message.state == MessageState.SENT
    assert len(mailcatcher.read_messages(catcher)) == 1


def test_links_in_emails_use_the_address_served():
    assert site_url("127.0.0.1:8123") == "http://127.0.0.1:8123"
    assert site_url("0.0.0.0:9000") == "http://127.0.0.1:9000"
    assert child_env("127.0.0.1:8123", 2525, environ={})["SITE_URL"] == "http://127.0.0.1:8123"
    env = child_env("127.0.0.1:8123", 2525, environ={"SITE_URL": "https://crm.example.fr"})
    assert env["SITE_URL"] == "https://crm.example.fr"  # what is set wins
    assert env["EMAIL_PORT"] == "2525" and env["DEMO_MAIL_CATCHER"] == "1"


def test_the_favicon_answers(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in response.content


def test_pages_link_the_favicon(client):
    assert 'rel="icon"' in client.get("/login/").content.decode()


def test_not_found_and_server_error_pages_are_french_and_friendly(client, settings):
    settings.DEBUG = False
    page = client.get("/nulle-part/", HTTP_ACCEPT_LANGUAGE="fr")
    assert page.status_code == 404
    assert "/admin/" not in page.content.decode()  # no technical page listing the URLs


def test_demo_data_is_busy_in_the_weeks_the_dashboards_open_on():
    from contacts.models import CallRecord, Ticket

    call_command("seed_demo", viewers=60, tickets=1000, years=5, no_users=True)
    since = timezone.now() - timedelta(days=28)
    recent = Ticket.objects.filter(created_at__gte=since).count()
    # A tenth of the tickets (evenly over five years, 1000 tickets would leave about 15).
    assert 70 <= recent <= 130
    assert CallRecord.objects.filter(rang_at__gte=since).count() >= 30


def test_the_server_error_page_is_ours(rf):
    from django.utils import translation

    from frt_crm.views import server_error

    with translation.override("en"):
        response = server_error(rf.get("/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page and "favicon.svg" in page
