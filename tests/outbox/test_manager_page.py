"""The managers' outbox page: who may reach it, what it lists and says, retry of one or of a
selection (audited); and the mediation page's requests for comment with their delivery."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from outbox import services
from outbox.models import MessageKind, MessageState, OutboxMessage

pytestmark = pytest.mark.django_db

URL = "/outbox/"


def write(kind=MessageKind.SLA_ALERT, subject="Alerte", **kw):
    return services.message_enqueue(
        kind=kind, to=kw.pop("to", "chef@example.fr"), subject=subject, body_text="Texte", **kw
    )


def test_who_may_reach_the_outbox(client, personas):
    assert client.get(URL).status_code == 302
    assert "/login/" in client.get(URL)["Location"]
    expected = {
        "agent": 403,
        "mailroom": 403,
        "srt": 403,
        "mediator": 403,
        "manager": 200,
        "admin": 200,
    }
    for name, status in expected.items():
        client.force_login(personas[name])
        assert client.get(URL).status_code == status, name
        assert client.post(reverse("outbox:retry")).status_code in {status, 302}, name


def test_the_menu_shows_the_outbox_to_managers_only(client, manager, agent):
    client.force_login(manager)
    assert 'href="/outbox/"' in client.get("/queue/").content.decode()
    client.force_login(agent)
    assert 'href="/outbox/"' not in client.get("/queue/").content.decode()


def test_the_page_lists_deferred_and_failed_with_their_french_reason(
    client, manager, smtp, smtp_down_later, django_capture_on_commit_callbacks
):
    smtp.script = ["554 5.7.1 spam"]
    with django_capture_on_commit_callbacks(execute=True):
        failed = write(subject="Refusé par le serveur")
    smtp_down_later()
    with django_capture_on_commit_callbacks(execute=True):
        deferred = write(kind=MessageKind.SURVEY, subject="Enquête différée")
    OutboxMessage.objects.create(
        kind=MessageKind.REPLY,
        state=MessageState.SENT,
        recipients=["v@example.fr"],
        subject="Déjà envoyé",
        body_text="x",
        message_id="sent-1@crm.example.fr",
        sent_at=timezone.now(),
    )
    client.force_login(manager)
    html = client.get(URL).content.decode()
    assert "Refusé par le serveur" in html and "Enquête différée" in html
    assert "Déjà envoyé" not in html  # needs no attention
    assert "Le serveur de messagerie a refusé le message. (code 554)" in html
    assert "Le serveur de messagerie est injoignable." in html and "Errno" not in html
    assert f'value="{failed.pk}"' in html and f'value="{deferred.pk}"' in html

    html = client.get(URL, {"state": "all"}).content.decode()
    assert "Déjà envoyé" in html
    html = client.get(URL, {"kind": MessageKind.SURVEY}).content.decode()
    assert "Enquête différée" in html and "Refusé par le serveur" not in html
    html = client.get(URL, {"state": "failed"}).content.decode()
    assert "Refusé par le serveur" in html and "Enquête différée" not in html


@pytest.fixture
def smtp_down_later(settings):
    from tests.outbox.conftest import free_port

    def down():
        settings.EMAIL_PORT = free_port()

    return down


def test_retry_selected_sends_them_again_and_audits_each(
    client, manager, smtp, django_capture_on_commit_callbacks
):
    smtp.script = ["554 5.7.1 spam", "554 5.7.1 spam"]
    with django_capture_on_commit_callbacks(execute=True):
        first = write(subject="Un")
        second = write(subject="Deux")
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("outbox:retry"), {"message": [first.pk, second.pk], "next": "/outbox/"}
        )
    assert response.status_code == 302
    assert OutboxMessage.objects.filter(state=MessageState.SENT).count() == 2
    assert AuditEvent.objects.filter(action="outbox.retry", actor=manager).count() == 2
    assert len(smtp.accepted) == 2


def test_retry_one_leaves_the_others(client, manager, smtp, django_capture_on_commit_callbacks):
    smtp.script = ["554 5.7.1 spam", "554 5.7.1 spam"]
    with django_capture_on_commit_callbacks(execute=True):
        first = write(subject="Un")
        second = write(subject="Deux")
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("outbox:retry"), {"one": first.pk, "message": [second.pk]})
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == MessageState.SENT and second.state == MessageState.FAILED


def test_the_case_page_shows_each_request_for_comments_delivery(
    client, smtp_down, django_capture_on_commit_callbacks
):
    from accounts.models import Role, Team, TeamMembership
    from contacts.models import Topic
    from mediation.services import case_open_from_escalation
    from tests.factories import TicketFactory, UserFactory, brand

    mediator = UserFactory(username="med", role=Role.MEDIATOR, all_brands=True)
    TeamMembership.objects.create(
        team=Team.objects.get(code="mediator-programmes"), user=mediator, is_lead=True
    )
    ticket = TicketFactory(level=3, topic=Topic.EDITORIAL_PROGRAMMES, brand=brand("france2"))
    case = case_open_from_escalation(ticket=ticket, by=mediator, reason="Avis demandé.")
    client.force_login(mediator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("mediation:comment_request_new", args=[case.pk]),
            {
                "department": "Direction de l'information",
                "recipient_name": "Claire Dubois",
                "recipient_email": "claire.dubois@example.fr",
                "question": "Pourquoi ces images ?",
                "due_on": (timezone.localdate() + timedelta(days=20)).isoformat(),
            },
        )
    assert response.status_code == 302  # asking succeeds although no SMTP server listens
    rfc_mail = OutboxMessage.objects.get(kind=MessageKind.COMMENT_REQUEST)
    assert rfc_mail.state == MessageState.DEFERRED
    html = client.get(response["Location"]).content.decode()
    assert "observations enregistrée" in html
    html = client.get(reverse("mediation:case", args=[case.pk])).content.decode()
    assert "Demande d&#x27;observations" in html and "Différé" in html
    assert "Envoyée le" not in html and "Demande d&#x27;observations envoyée" not in html


def test_the_case_pages_delivery_states_cost_one_query_whatever_the_requests(
    client, django_assert_num_queries, django_capture_on_commit_callbacks
):
    from accounts.models import Role, Team, TeamMembership
    from contacts.models import Topic
    from mediation.services import case_open_from_escalation, comment_request_send
    from tests.factories import TicketFactory, UserFactory, brand

    mediator = UserFactory(username="med2", role=Role.MEDIATOR, all_brands=True)
    TeamMembership.objects.create(
        team=Team.objects.get(code="mediator-programmes"), user=mediator, is_lead=True
    )
    cases = []
    for n in (1, 4):
        ticket = TicketFactory(level=3, topic=Topic.EDITORIAL_PROGRAMMES, brand=brand("france2"))
        case = case_open_from_escalation(ticket=ticket, by=mediator, reason="Avis demandé.")
        for i in range(n):
            with django_capture_on_commit_callbacks(execute=True):
                comment_request_send(
                    case=case,
                    by=mediator,
                    department=f"Service {i}",
                    recipient_name="Claire Dubois",
                    recipient_email=f"service{i}@example.fr",
                    question="Pourquoi ?",
                )
        cases.append(case)
    client.force_login(mediator)
    url = reverse("mediation:case", args=[cases[0].pk])
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        html = client.get(url).content.decode()
    assert "Envoyé" in html
    with django_assert_num_queries(len(one.captured_queries)):
        html = client.get(reverse("mediation:case", args=[cases[1].pk])).content.decode()
    assert html.count("ob-sent") == 4
