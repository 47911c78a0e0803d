"""The satisfaction survey: sent once after resolution to a working address, answered once
through a signed link without login; phone scores recorded by the agent."""

import pytest
from django.core import mail, signing
from django.urls import reverse

from contacts.models import Outcome
from satisfaction import services
from satisfaction.models import Survey
from tests.workspace.helpers import consent, workspace_ticket

pytestmark = pytest.mark.django_db


def resolved_ticket(consented=True, **kw):
    ticket = workspace_ticket(**kw)
    if consented:
        consent(ticket.viewer, kind="survey", granted=True)
    ticket.status = "resolved"
    ticket.outcome = Outcome.ANSWERED
    ticket.save()
    return ticket


def link_of(message) -> str:
    return next(w for w in message.body.split() if "/satisfaction/" in w)


def test_survey_is_sent_once_with_a_signed_link(django_capture_on_commit_callbacks):
    ticket = resolved_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        survey = services.survey_send_for(ticket=ticket)
        assert services.survey_send_for(ticket=ticket) is None
    assert survey.channel == "email" and survey.topic == ticket.topic
    assert len(mail.outbox) == 1
    assert ticket.reference in mail.outbox[0].subject
    assert mail.outbox[0].extra_headers["Auto-Submitted"] == "auto-generated"
    token = link_of(mail.outbox[0]).rstrip("/").rsplit("/", 1)[-1]
    assert services.survey_from_token(token=token) == survey


def test_no_survey_without_a_working_email_or_after_withdrawn_consent():
    ticket = resolved_ticket()
    ticket.viewer.emails.update(is_failing=True)
    assert services.survey_send_for(ticket=ticket) is None
    other = resolved_ticket()
    consent(other.viewer, kind="survey", granted=False)
    assert services.survey_send_for(ticket=other) is None


def test_the_link_answers_once_and_needs_no_login(client, django_capture_on_commit_callbacks):
    ticket = resolved_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        survey = services.survey_send_for(ticket=ticket)
    url = reverse("satisfaction:answer", args=[services.survey_token(survey=survey)])
    assert client.get(url).status_code == 200
    response = client.post(url, {"score": "4", "comment": "Réponse claire, merci"})
    assert response.status_code == 200
    survey.refresh_from_db()
    assert survey.score == 4 and survey.comment == "Réponse claire, merci" and survey.answered_at
    again = client.post(url, {"score": "1"})
    assert again.status_code == 409
    survey.refresh_from_db()
    assert survey.score == 4
    assert client.get(url).status_code == 409


def test_a_score_out_of_range_is_refused(client):
    survey = Survey.objects.create(ticket=resolved_ticket(), level=1, ticket_channel="email")
    url = reverse("satisfaction:answer", args=[services.survey_token(survey=survey)])
    assert client.post(url, {"score": "9"}).status_code == 400
    survey.refresh_from_db()
    assert survey.answered_at is None


def test_forged_or_expired_links_are_refused(client, monkeypatch):
    survey = Survey.objects.create(ticket=resolved_ticket(), level=1, ticket_channel="email")
    forged = signing.dumps({"s": survey.pk}, salt="another-salt")
    assert client.get(reverse("satisfaction:answer", args=[forged])).status_code == 404
    token = services.survey_token(survey=survey)
    assert client.get(reverse("satisfaction:answer", args=[token[:-2] + "xx"])).status_code == 404
    monkeypatch.setattr(services, "TOKEN_MAX_AGE", -1)
    assert client.get(reverse("satisfaction:answer", args=[token])).status_code == 404


def test_phone_score_takes_an_unanswered_email_survey(agent, django_capture_on_commit_callbacks):
    ticket = resolved_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        services.survey_send_for(ticket=ticket)
    survey = services.survey_record_phone(ticket=ticket, by=agent, score=5)
    assert survey.channel == "phone" and survey.score == 5
    with pytest.raises(services.AlreadyAnswered):
        services.survey_record_phone(ticket=ticket, by=agent, score=2)
